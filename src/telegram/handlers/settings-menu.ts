/**
 * `/settings` and `/language` (SPEC §15): one inline menu message that edits itself in place. The
 * callback data says what was pressed (`s:<owner>:<op>`, no store entry needed): only the owner
 * of the menu may press it, and every value is checked against the allowed lists. A change is
 * stored before the menu shows it.
 */
import type { FrontContext } from '../context.ts';
import { LANG_NAMES, LANGS, type Lang, type MessageKey, type Tr } from '../i18n/index.ts';
import type { InlineKeyboard } from '../keyboard.ts';
import { apiFailure, isNotModified } from '../sender.ts';
import {
  ASPECTS,
  addedParams,
  type Prefs,
  SPEEDS,
  type Speed,
  STYLIZE,
  type Stylize,
  VERSIONS,
  type Version,
  versionLabel,
} from '../settings.ts';
import type { TgCallbackQuery } from '../updates.ts';
import { say, toast } from './reply.ts';

export const SETTINGS_PREFIX = 's:';

/** The pages with a list to choose from, by the op their buttons carry (`v=7`, `ar=-`, …). */
type ChoiceOp = 'v' | 'ar' | 's' | 'sp' | 'l';
/** `main`, a choice page, or `L`: the stand-alone /language menu. */
type Page = 'main' | ChoiceOp | 'L';
type Button = { text: string; callback_data: string };

const STYLIZE_KEY: Record<Stylize, MessageKey> = {
  low: 'styLow',
  med: 'styMed',
  high: 'styHigh',
  veryhigh: 'styVeryHigh',
};
const SPEED_KEY: Record<Speed, MessageKey> = {
  fast: 'speedFast',
  relax: 'speedRelax',
  turbo: 'speedTurbo',
};

/** One list to choose from: the setting it sets, its allowed values, and how each is shown. */
interface Choice {
  field: 'version' | 'aspect' | 'stylize' | 'speed' | 'lang';
  /** The values a press may set; `-` (no value) is always allowed too. */
  values(speeds: readonly string[]): readonly string[];
  label(t: Tr, value: string): string;
  /** The text of the no-value button. */
  none: MessageKey;
}

/** Every choice page, so that the menu and the check of a press read the same lists. */
const CHOICES: Record<ChoiceOp, Choice> = {
  v: {
    field: 'version',
    values: () => VERSIONS,
    label: (_t, v) => versionLabel(v as Version),
    none: 'setDefault',
  },
  ar: { field: 'aspect', values: () => ASPECTS, label: (_t, a) => a, none: 'setDefault' },
  s: {
    field: 'stylize',
    values: () => STYLIZE,
    label: (t, s) => t(STYLIZE_KEY[s as Stylize]),
    none: 'setDefault',
  },
  sp: {
    field: 'speed',
    values: (speeds) => SPEEDS.filter((s) => speeds.includes(s)),
    label: (t, s) => t(SPEED_KEY[s as Speed]),
    none: 'setDefault',
  },
  l: { field: 'lang', values: () => LANGS, label: (_t, l) => LANG_NAMES[l as Lang], none: 'setAuto' },
};

function isChoiceOp(op: string): op is ChoiceOp {
  return Object.hasOwn(CHOICES, op);
}

/** Toggles on the main page, by op. */
const TOGGLES = { raw: 'raw', d: 'draft', al: 'album' } as const;

function data(owner: number, op: string): string {
  return `${SETTINGS_PREFIX}${owner}:${op}`;
}

/** The menu's text and keyboard for a page. */
export function settingsView(
  t: Tr,
  prefs: Prefs,
  owner: number,
  page: Page,
  speeds: readonly string[],
): { text: string; keyboard: InlineKeyboard } {
  const onOff = (v: boolean) => (v ? t('setOn') : t('setOff'));
  const lang: Lang = prefs.lang ?? t.lang;
  const labels = {
    v: t('setVersion', { value: prefs.version ? versionLabel(prefs.version) : t('setDefault') }),
    ar: t('setAspect', { value: prefs.aspect ?? t('setDefault') }),
    s: t('setStylize', { value: prefs.stylize ? t(STYLIZE_KEY[prefs.stylize]) : t('setDefault') }),
    raw: t('setRaw', { value: onOff(prefs.raw) }),
    sp: t('setSpeed', {
      value: prefs.speed && speeds.includes(prefs.speed) ? t(SPEED_KEY[prefs.speed]) : t('setDefault'),
    }),
    d: t('setDraft', { value: onOff(prefs.draft) }),
    l: t('setLanguage', {
      value: prefs.lang ? LANG_NAMES[prefs.lang] : `${t('setAuto')} (${LANG_NAMES[lang]})`,
    }),
    al: t('setAlbum', { value: onOff(prefs.album) }),
  };
  const params = addedParams(prefs, '', speeds) || t('setNothing');
  const head = `${t('setTitle')}\n${params}`;
  const b = (text: string, op: string): Button => ({ text, callback_data: data(owner, op) });
  if (page === 'main') {
    const rows: Button[][] = [
      [b(labels.v, 'p:v'), b(labels.ar, 'p:ar')],
      [b(labels.s, 'p:s'), b(labels.raw, 'raw')],
      speeds.length > 0 ? [b(labels.sp, 'p:sp'), b(labels.d, 'd')] : [b(labels.d, 'd')],
      [b(labels.l, 'p:l'), b(labels.al, 'al')],
    ];
    return { text: head, keyboard: { inline_keyboard: rows } };
  }
  // A choice page: "no value" first, then each value, three to a row, the current one ticked.
  const choice = CHOICES[page === 'L' ? 'l' : page];
  const current = prefs[choice.field];
  const mark = (on: boolean, text: string) => (on ? `✓ ${text}` : text);
  const buttons = [
    b(mark(current === null, t(choice.none)), `${page}=-`),
    ...choice.values(speeds).map((v) => b(mark(current === v, choice.label(t, v)), `${page}=${v}`)),
  ];
  const rows: Button[][] = [];
  for (let i = 0; i < buttons.length; i += 3) rows.push(buttons.slice(i, i + 3));
  // The stand-alone /language menu ends with a choice instead of going back.
  if (page === 'L') return { text: t('languageAsk'), keyboard: { inline_keyboard: rows } };
  return {
    text: `${head}\n\n${t('setChoose', { what: labels[page] })}`,
    keyboard: { inline_keyboard: [...rows, [b(t('setBack'), 'p:main')]] },
  };
}

/** Sends the menu at `page` in reply to a command. */
async function openMenu(
  ctx: FrontContext,
  t: Tr,
  chatId: number,
  userId: number,
  replyTo: number,
  page: Page,
): Promise<void> {
  const prefs = await ctx.prefs.get(userId);
  const view = settingsView(t, prefs, userId, page, ctx.speeds);
  await say(ctx, chatId, view.text, { replyTo, replyMarkup: view.keyboard });
}

/** `/settings`: the main page of the menu. */
export function openSettings(ctx: FrontContext, t: Tr, chatId: number, userId: number, replyTo: number) {
  return openMenu(ctx, t, chatId, userId, replyTo, 'main');
}

/** `/language`: the language choice on its own. */
export function openLanguageMenu(ctx: FrontContext, t: Tr, chatId: number, userId: number, replyTo: number) {
  return openMenu(ctx, t, chatId, userId, replyTo, 'L');
}

/** What a press changes, or null when its value is not one of the allowed ones. */
function change(op: string, prefs: Prefs, speeds: readonly string[]): Partial<Prefs> | null {
  const [name, raw] = op.split('=', 2) as [string, string | undefined];
  if (raw === undefined) {
    const toggle = Object.hasOwn(TOGGLES, name) ? TOGGLES[name as keyof typeof TOGGLES] : undefined;
    return toggle ? ({ [toggle]: !prefs[toggle] } as Partial<Prefs>) : null;
  }
  const page = name === 'L' ? 'l' : name;
  if (!isChoiceOp(page)) return null;
  const choice = CHOICES[page];
  const value = raw === '-' ? null : raw;
  if (value !== null && !choice.values(speeds).includes(value)) return null;
  return { [choice.field]: value } as Partial<Prefs>;
}

/** A press on a settings or language menu. */
export async function onSettingsPress(ctx: FrontContext, t: Tr, cq: TgCallbackQuery): Promise<void> {
  const m = /^s:(\d+):(.+)$/.exec(cq.data ?? '');
  const message = cq.message;
  if (!m || !message) {
    await toast(ctx, cq.id, t('expired'));
    return;
  }
  const owner = Number(m[1]);
  const op = m[2] ?? '';
  if (owner !== cq.from.id) {
    await toast(ctx, cq.id, t('notYours'));
    return;
  }
  let prefs = await ctx.prefs.get(owner);
  let page: Page = 'main';
  let lang = t;
  if (op.startsWith('p:')) {
    const wanted = op.slice(2);
    if (wanted !== 'main' && !isChoiceOp(wanted)) {
      await toast(ctx, cq.id, t('expired'));
      return;
    }
    page = wanted;
    await toast(ctx, cq.id, '');
  } else {
    const patch = change(op, prefs, ctx.speeds);
    if (!patch) {
      await toast(ctx, cq.id, t('expired'));
      return;
    }
    prefs = await ctx.prefs.update(owner, patch);
    lang = await ctx.prefs.trOf(owner, cq.from.language_code);
    await toast(ctx, cq.id, lang('setSaved'));
    if (op.startsWith('L=')) {
      await editMenu(ctx, message.chat.id, message.message_id, lang('languageSet'), undefined);
      return;
    }
  }
  const view = settingsView(lang, prefs, owner, page, ctx.speeds);
  await editMenu(ctx, message.chat.id, message.message_id, view.text, view.keyboard);
}

async function editMenu(
  ctx: FrontContext,
  chatId: number,
  messageId: number,
  text: string,
  keyboard: InlineKeyboard | undefined,
): Promise<void> {
  try {
    await ctx.sender.call(
      'editMessageText',
      { chat_id: chatId, message_id: messageId, text, ...(keyboard ? { reply_markup: keyboard } : {}) },
      { chatId, priority: 'message' },
    );
  } catch (err) {
    if (!isNotModified(err))
      ctx.logger.warn({ chat: chatId, err: apiFailure(err).description }, 'settings menu not updated');
  }
}
