/**
 * A user's prompt settings (SPEC §15) and what they add to a prompt: version, aspect ratio,
 * stylize, raw style, speed, draft. A parameter the prompt sets itself is never added a second
 * time; the rest are appended in a fixed order.
 */
import { z } from 'zod';
import { LANGS } from './i18n/index.ts';

export const VERSIONS = ['7', '6.1', 'niji7', '8'] as const;
export const ASPECTS = ['1:1', '2:3', '3:2', '4:5', '16:9', '9:16'] as const;
export const STYLIZE = ['low', 'med', 'high', 'veryhigh'] as const;
export const SPEEDS = ['fast', 'relax', 'turbo'] as const;
export type Version = (typeof VERSIONS)[number];
export type Speed = (typeof SPEEDS)[number];
export type Stylize = (typeof STYLIZE)[number];

export const STYLIZE_VALUE: Record<Stylize, number> = { low: 50, med: 100, high: 250, veryhigh: 750 };
const VERSION_PARAM: Record<Version, string> = {
  '7': '--v 7',
  '6.1': '--v 6.1',
  niji7: '--niji 7',
  '8': '--v 8',
};

/** What is stored per user (missing fields of older records take their defaults). */
export const prefsSchema = z.object({
  version: z.enum(VERSIONS).nullable().default(null),
  aspect: z.enum(ASPECTS).nullable().default(null),
  stylize: z.enum(STYLIZE).nullable().default(null),
  raw: z.boolean().default(false),
  speed: z.enum(SPEEDS).nullable().default(null),
  draft: z.boolean().default(false),
  lang: z.enum(LANGS).nullable().default(null),
  album: z.boolean().default(false),
  /** Telegram's `language_code` as last seen, for messages sent outside an update (alerts). */
  telegramLang: z.string().max(35).nullable().default(null),
});
export type Prefs = z.infer<typeof prefsSchema>;

export const DEFAULT_PREFS: Prefs = prefsSchema.parse({});

export function versionLabel(v: Version): string {
  return v === 'niji7' ? 'niji 7' : v;
}

/** Which settings a prompt already decides (the user's own parameters win). */
function promptSets(prompt: string) {
  const has = (re: RegExp) => re.test(prompt);
  return {
    version: has(/(^|\s)--(v|version|niji)(?=\s|$)/i),
    aspect: has(/(^|\s)--(ar|aspect)(?=\s|$)/i),
    stylize: has(/(^|\s)--(s|stylize)(?=\s|$)/i),
    style: has(/(^|\s)--(style|raw)(?=\s|$)/i),
    speed: has(/(^|\s)--(fast|relax|turbo)(?=\s|$)/i),
    draft: has(/(^|\s)--draft(?=\s|$)/i),
  };
}

/**
 * The parameters the settings add to a prompt, e.g. `--ar 16:9 --v 6.1`; a speed no longer
 * allowed by the configuration is left out.
 */
export function addedParams(prefs: Prefs, prompt: string, allowedSpeeds: readonly string[]): string {
  const sets = promptSets(prompt);
  const out: string[] = [];
  if (prefs.aspect && !sets.aspect) out.push(`--ar ${prefs.aspect}`);
  if (prefs.version && !sets.version) out.push(VERSION_PARAM[prefs.version]);
  if (prefs.stylize && !sets.stylize) out.push(`--s ${STYLIZE_VALUE[prefs.stylize]}`);
  if (prefs.raw && !sets.style) out.push('--style raw');
  if (prefs.speed && !sets.speed && allowedSpeeds.includes(prefs.speed)) out.push(`--${prefs.speed}`);
  if (prefs.draft && !sets.draft) out.push('--draft');
  return out.join(' ');
}

/** The prompt with the settings' parameters appended. */
export function withSettings(
  prefs: Prefs,
  prompt: string,
  allowedSpeeds: readonly string[],
): { prompt: string; added: string } {
  const added = addedParams(prefs, prompt, allowedSpeeds);
  return { prompt: added ? `${prompt} ${added}` : prompt, added };
}
