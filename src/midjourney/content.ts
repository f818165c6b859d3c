/**
 * Reading the text of a Midjourney job message (reference §4.4, Appendix A):
 * `**<prompt>** - <label> <@user> (<progress|state>) (<mode>)`, plus the older
 * `Upscaling image #2 with **<prompt>** - …` forms, and comparing a user's prompt with the echo.
 */

/** Where a job stands, as its message says. */
export type JobStatus = 'waiting' | 'running' | 'paused' | 'stopped' | 'done';

/** What produced the message, from its label (`Image #2`, `Variations (Strong) by`, …). */
export type JobKind = 'imagine' | 'upscale' | 'variation' | 'remix' | 'zoom' | 'pan';

/** Every field is null when the content does not say it (or is not a job message at all). */
export interface ParsedContent {
  /** The prompt as Midjourney echoes it (links rewritten to `<https://s.mj.run/…>`). */
  prompt: string | null;
  /** The user the job belongs to (the mention). */
  userId: string | null;
  /** `(31%)` → 31. */
  progress: number | null;
  /** Speed mode as written: `fast`, `relaxed`, `turbo`, `fast, stealth`, … */
  mode: string | null;
  status: JobStatus | null;
  /** `Image #2` / `image #2` → 2. */
  imageIndex: number | null;
  /** Imagine, reroll and blend all read as `imagine`; unknown labels as null. */
  kind: JobKind | null;
  /** The words before the mention without the trailing `by`: `Upscaled (Subtle)`, `Image #1`. */
  label: string | null;
}

const EMPTY: ParsedContent = {
  prompt: null,
  userId: null,
  progress: null,
  mode: null,
  status: null,
  imageIndex: null,
  kind: null,
  label: null,
};

const HEAD =
  /^(?:(?<old>Upscaling image #\d+|Making variations for image #\d+) with (?:prompt )?)?\*\*(?<prompt>.+)\*\* - (?<rest>.*)$/;
const MENTION = /^(?:(?<label>.*?)\s*)<@!?(?<user>\d+)>(?<tail>.*)$/;
// 2024+: the bot puts this note (plain or as a markdown link to the job) between mention and mode.
const OPEN_ON_WEBSITE = /\[?\(Open on website for full quality\)\]?(?:\([^)]*\))?/gi;
const PARENS = /\(([^()]*)\)/g;

function kindOf(label: string | null): JobKind | null {
  if (!label) return 'imagine';
  if (/^image #\d+$/i.test(label) || /^upscal/i.test(label)) return 'upscale';
  if (/^(?:variations|making variations)\b/i.test(label)) return 'variation';
  if (/^remix\b/i.test(label)) return 'remix';
  if (/^zoom\b/i.test(label)) return 'zoom';
  if (/^pan\b/i.test(label)) return 'pan';
  return null;
}

/** Parses the first line of a Midjourney job message; anything else gives all nulls. */
export function parseContent(content: string): ParsedContent {
  const firstLine = content.split('\n', 1)[0]?.trim() ?? '';
  const head = HEAD.exec(firstLine);
  if (!head?.groups) return { ...EMPTY };
  const { old, prompt = null, rest = '' } = head.groups;

  const mention = MENTION.exec(rest);
  const userId = mention?.groups?.user ?? null;
  const before = mention?.groups?.label?.replace(/\s+by$/i, '').trim() || null;
  const label = old ?? before;
  const tail = (mention ? (mention.groups?.tail ?? '') : rest).replace(OPEN_ON_WEBSITE, ' ');

  let progress: number | null = null;
  let mode: string | null = null;
  const states = new Set<string>();
  for (const [, inner = ''] of tail.matchAll(PARENS)) {
    const text = inner.trim();
    const pct = /^(\d{1,3})%$/.exec(text);
    if (pct) progress = Number(pct[1]);
    else if (/^(?:waiting to start|paused|stopped)$/i.test(text)) states.add(text.toLowerCase());
    else if (text && mode === null) mode = text;
  }

  let status: JobStatus = 'done';
  if (states.has('stopped')) status = 'stopped';
  else if (states.has('paused')) status = 'paused';
  else if (states.has('waiting to start')) status = 'waiting';
  else if (progress !== null) status = 'running';

  const index = label ? /#(\d+)/.exec(label) : null;
  return {
    prompt,
    userId,
    progress,
    mode,
    status,
    imageIndex: index ? Number(index[1]) : null,
    kind: kindOf(label),
    label,
  };
}

/**
 * A prompt reduced to what survives Midjourney's echo, so a user's prompt and the bot's copy of
 * it compare equal: image links (`<https://s.mj.run/…>`, `<url>`, bare URLs) and the trailing
 * `--parameters` (which Midjourney rewrites and extends) are dropped, whitespace is collapsed
 * and case ignored. Two prompts that differ only in parameters therefore look the same; the
 * caller must only trust a match that is unique.
 */
export function normalizePromptForMatch(prompt: string): string {
  return prompt
    .replace(/<[a-z][a-z0-9+.-]*:\/\/[^>\s]*>/gi, ' ')
    .replace(/\bhttps?:\/\/\S+/gi, ' ')
    .replace(/(?:^|\s)(?:--|\u2014)[a-z][\s\S]*$/i, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}
