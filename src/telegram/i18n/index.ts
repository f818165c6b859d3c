/**
 * The bot's languages (SPEC §15): one i18next instance over the catalogues in this folder. A
 * user's language is their `/settings` choice, else the first two letters of Telegram's
 * `language_code` when a catalogue exists for it, else English.
 */
import i18next from 'i18next';
import { type Catalogue, en, type MessageKey } from './en.ts';
import { ko } from './ko.ts';
import { ru } from './ru.ts';
import { zh } from './zh.ts';

export type { MessageKey } from './en.ts';

/** The catalogue languages, by two-letter code. */
export const LANGS = ['en', 'zh', 'ko', 'ru'] as const;
export type Lang = (typeof LANGS)[number];

export const CATALOGUES: Record<Lang, Catalogue> = { en, zh, ko, ru };

/** Each language's name in itself, for the language menu. */
export const LANG_NAMES: Record<Lang, string> = { en: 'English', zh: '中文', ko: '한국어', ru: 'Русский' };

export type Vars = Record<string, string | number>;
/** A translator bound to one language. */
export type Tr = ((key: MessageKey, vars?: Vars) => string) & { lang: Lang };

const i18n = i18next.createInstance();
void i18n.init({
  initAsync: false,
  resources: Object.fromEntries(LANGS.map((l) => [l, { translation: CATALOGUES[l] }])),
  lng: 'en',
  fallbackLng: 'en',
  // Flat keys; texts are plain (no HTML), and prompts may hold anything.
  keySeparator: false,
  nsSeparator: false,
  interpolation: { escapeValue: false },
  returnNull: false,
});

export function isLang(value: unknown): value is Lang {
  return typeof value === 'string' && (LANGS as readonly string[]).includes(value);
}

/** `zh-hans` → zh, `zh-TW` → zh, `pt-br` → undefined (no catalogue). */
export function langFromCode(code: string | undefined | null): Lang | undefined {
  const two = (code ?? '').slice(0, 2).toLowerCase();
  return isLang(two) ? two : undefined;
}

const cache = new Map<Lang, Tr>();

/** The translator of a language. */
export function tr(lang: Lang): Tr {
  const known = cache.get(lang);
  if (known) return known;
  const fixed = i18n.getFixedT(lang);
  const t = ((key: MessageKey, vars?: Vars) => String(fixed(key, vars ?? {}))) as Tr;
  t.lang = lang;
  cache.set(lang, t);
  return t;
}

/** The placeholders of a catalogue text: `{{max}} of {{count}}` → ['count', 'max']. */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map((m) => m[1] ?? ''))].sort();
}
