/**
 * Midjourney's notices — error and warning embeds, and the few plain-text refusals — and what
 * each means for the task and the account (SPEC §6.1, §6.6, reference §4.5).
 */
import type { DiscordEmbed, DiscordMessage } from '../discord/types.ts';

/**
 * - `fail`: the task fails with `reason`;
 * - `wait`: the job is queued on Midjourney's side and will run;
 * - `requeue`: Midjourney is full; the task goes back to our queue;
 * - `account`: the account cannot work (the task fails, the account is disabled with `title`);
 * - `warn`: something to log; the task goes on;
 * - `moderation`: `Pending mod message`: the task fails, its `Acknowledge` button is pressed;
 * - `block`: a timed block (`blocked from accessing Midjourney for N minutes`): the task fails,
 *   the account pauses for `blockMs`;
 * - `credits`: fast hours are gone (`Credits exhausted`): relax mode may take over (SPEC §14).
 */
export type NoticeKind =
  | 'fail'
  | 'wait'
  | 'requeue'
  | 'account'
  | 'warn'
  | 'moderation'
  | 'block'
  | 'credits';

export interface Notice {
  kind: NoticeKind;
  /** The embed title (or the first line of a plain-text notice), as Midjourney wrote it. */
  title: string;
  /** One readable line: the task's failReason (SPEC §6.8). */
  reason: string;
  /** For `block`: how long the block lasts. */
  blockMs?: number;
}

const UNIT_MS: Record<string, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

/** The length of a timed block the text announces, or null (a permanent block says no time). */
export function blockDurationMs(text: string): number | null {
  const m =
    /blocked from (?:accessing|using) Midjourney for (\d+(?:\.\d+)?)\s*(minute|hour|day|week)s?\b/i.exec(
      text.replace(/\*\*|__|`/g, ''),
    );
  if (!m) return null;
  const unit = UNIT_MS[(m[2] ?? '').toLowerCase()];
  return unit ? Math.round(Number(m[1]) * unit) : null;
}

/** Colors of error embeds: classic red and the newer Discord red. */
export const ERROR_COLORS: readonly number[] = [16711680, 15548997];

/** Colors of warning embeds (ERT/TAI and NZK/WMP). */
export const WARNING_COLORS: readonly number[] = [16776960, 16239475];

const MAX_REASON = 300;

function key(title: string): string {
  return title
    .trim()
    .replace(/[.!\s]+$/, '')
    .toLowerCase();
}

/** Titles that mean the account cannot work until a human acts (SPEC §6.1). */
const ACCOUNT_TITLES = [
  'blocked',
  'subscription required',
  'subscription paused',
  'plan cancelled',
  'action required to continue',
  'please complete the task',
  'tos not accepted',
];

/** Titles that end the task; prefixes where Midjourney varies the wording. */
const FAIL_TITLES = [
  'slow down',
  'job action restricted',
  'action needed to continue',
  'invalid parameter',
  'invalid prompt',
  'invalid link',
  'invalid request',
  'empty prompt',
  'duplicate images detected',
  'could not complete',
  'sorry! could not complete the job',
  'sorry, something went wrong',
];
const FAIL_PREFIXES = ['banned prompt', 'banned image prompt', 'request cancelled due to'];

/** Embeds that carry a job's result rather than a notice. */
function isContentEmbed(embed: DiscordEmbed): boolean {
  const title = key(embed.title ?? '');
  if (title.startsWith('your info') || title.startsWith('shortened prompt')) return true;
  return !embed.title && /[0-9]\uFE0F?\u20E3/u.test(embed.description ?? '');
}

/** Markdown and line breaks out: one line. */
function oneLine(text: string): string {
  return text
    .replace(/\*\*|__|`/g, '')
    .replace(/^-#\s+/gm, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A failReason cut to a readable length. */
function cap(reason: string): string {
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1).trimEnd()}…` : reason;
}

/** The first paragraph: the sentence that says what happened, before rules and links. */
function firstParagraph(text: string): string {
  return (
    text
      .replace(/\r\n/g, '\n')
      .trim()
      .split(/\n\s*\n/, 1)[0] ?? ''
  );
}

function kindForTitle(title: string, color: number | undefined): NoticeKind | null {
  const k = key(title);
  if (k === 'job queued') return 'wait';
  if (k === 'queue full') return 'requeue';
  if (k === 'pending mod message') return 'moderation';
  if (k === 'credits exhausted') return 'credits';
  if (ACCOUNT_TITLES.includes(k)) return 'account';
  if (FAIL_TITLES.includes(k) || FAIL_PREFIXES.some((p) => k.startsWith(p))) return 'fail';
  if (color !== undefined && ERROR_COLORS.includes(color)) return 'fail';
  if (title || (color !== undefined && WARNING_COLORS.includes(color))) return 'warn';
  return null;
}

function fromEmbed(embed: DiscordEmbed): Notice | null {
  if (isContentEmbed(embed)) return null;
  const title = (embed.title ?? '').trim();
  const desc = oneLine(firstParagraph(embed.description ?? ''));
  // The captcha may come as an embed whose title is not one of the listed ones.
  const captcha = /verify you'?re human/i.test(embed.description ?? '');
  const blockMs = blockDurationMs(`${title} ${embed.description ?? ''}`);
  const kind = captcha ? 'account' : blockMs !== null ? 'block' : kindForTitle(title, embed.color);
  if (!kind) return null;
  const shown = title || (captcha ? 'Action required to continue' : blockMs !== null ? 'Blocked' : '');
  const reason = shown ? (desc ? `[${shown}] ${desc}` : `[${shown}]`) : desc;
  return { kind, title: shown, reason: cap(reason), ...(blockMs !== null ? { blockMs } : {}) };
}

function fromContent(content: string): Notice | null {
  const lines = content
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const first = lines[0] ?? '';
  const blockMs = blockDurationMs(lines.join(' '));
  if (blockMs !== null)
    return { kind: 'block', title: 'Blocked', reason: cap(oneLine(lines.join(' '))), blockMs };
  if (/^failed to process your command/i.test(first)) {
    return { kind: 'fail', title: 'Failed to process your command', reason: cap(oneLine(lines.join(' '))) };
  }
  if (/^invalid parameter\b/i.test(first)) {
    const rest = oneLine(lines.slice(1).join(' '));
    const title = oneLine(first);
    return { kind: 'fail', title, reason: cap(rest ? `[${title}] ${rest}` : `[${title}]`) };
  }
  return null;
}

/**
 * What a Midjourney message means as a notice, or null for an ordinary job message (progress,
 * result, describe/info embeds). Embeds are read first, then the plain-text refusals.
 */
export function classifyNotice(message: Pick<DiscordMessage, 'embeds' | 'content'>): Notice | null {
  for (const embed of message.embeds ?? []) {
    const notice = fromEmbed(embed);
    if (notice) return notice;
  }
  return fromContent(message.content ?? '');
}

/**
 * The account reason for an iframe modal Midjourney opened (INTERACTION_IFRAME_MODAL_CREATE):
 * the captcha (`Action required to continue`) disables the account; the inpaint editor and any
 * other iframe give null.
 */
export function accountReasonForIframeTitle(title: string): string | null {
  const k = key(title);
  if (k === 'action required to continue' || k === 'please complete the task' || k.includes('captcha')) {
    return title.trim();
  }
  return null;
}
