/**
 * Reading what Midjourney says about an account (SPEC §14): the `/info` embed (speed mode, fast
 * hours left, plan), the `/settings` message (remix on or off), the replies to `/prefer remix`,
 * and the answers to `/fast`, `/relax`, `/turbo` (SPEC §12.1).
 */
import type { DiscordMessage } from '../discord/types.ts';

/** Facts of an `/info` answer; a line that is missing gives a missing field. */
export interface AccountInfo {
  mode?: 'fast' | 'relax' | 'turbo';
  /** Hours, e.g. 12.34 from `12.34/15.0 hours (82.27%)`; 0 when Midjourney says none are left. */
  fastTimeRemaining?: number;
  subscription?: string;
}

function line(description: string, key: string): string | undefined {
  const re = new RegExp(`^\\s*\\*\\*${key}\\*\\*:\\s*(.+?)\\s*$`, 'im');
  return re.exec(description)?.[1];
}

/** True for the `/info` answer (an embed titled `Your info - <name>`). */
export function isInfoMessage(msg: Pick<DiscordMessage, 'embeds'>): boolean {
  return (msg.embeds ?? []).some((e) => /^your info\b/i.test(e.title?.trim() ?? ''));
}

/** The facts of an `/info` answer, or null when the message is not one. */
export function parseInfo(msg: Pick<DiscordMessage, 'embeds'>): AccountInfo | null {
  const embed = (msg.embeds ?? []).find((e) => /^your info\b/i.test(e.title?.trim() ?? ''));
  if (!embed) return null;
  const d = embed.description ?? '';
  const out: AccountInfo = {};
  const mode = line(d, 'Job Mode')?.toLowerCase();
  if (mode?.startsWith('fast')) out.mode = 'fast';
  else if (mode?.startsWith('relax')) out.mode = 'relax';
  else if (mode?.startsWith('turbo')) out.mode = 'turbo';
  const fast = line(d, 'Fast Time Remaining');
  if (fast) {
    const m = /^(\d+(?:\.\d+)?)\s*(?:\/|hours|h\b)/i.exec(fast);
    if (m) out.fastTimeRemaining = Number(m[1]);
    else if (/^(?:0|none|no)\b/i.test(fast)) out.fastTimeRemaining = 0;
  }
  const sub = line(d, 'Subscription');
  if (sub)
    out.subscription = sub.replace(/<t:(\d+)(?::\w)?>/g, (_, s: string) =>
      new Date(Number(s) * 1000).toISOString(),
    );
  return out;
}

/**
 * Remix mode as a `/settings` answer shows it: the `Remix mode` button is green (style 3) when
 * on. Null when the message carries no such button.
 */
export function remixFromSettings(msg: Pick<DiscordMessage, 'components'>): boolean | null {
  for (const row of msg.components ?? []) {
    for (const c of row.components ?? []) {
      if (/::RemixMode\b/i.test(c.custom_id ?? '') || /^remix mode$/i.test(c.label?.trim() ?? '')) {
        return c.style === 3;
      }
    }
  }
  return null;
}

/** `Remix mode turned on!` / `Remix mode turned off!` (the answers to `/prefer remix`). */
export function remixFromContent(content: string): boolean | null {
  const m = /^remix mode turned (on|off)\b/i.exec(content.trim());
  return m ? m[1]?.toLowerCase() === 'on' : null;
}

/** A speed mode as Midjourney's commands name it. */
export type SpeedMode = 'fast' | 'relax' | 'turbo';

/**
 * An answer to `/fast`, `/relax` or `/turbo` (`Done! Your jobs now do not consume fast-hours…` for
 * `/relax`): the command, read from the interaction the answer belongs to, and whether Midjourney
 * did it (`Done!`) or refused. Null when the message is no such answer.
 */
export function speedAnswer(
  msg: Pick<DiscordMessage, 'content' | 'interaction' | 'interaction_metadata'>,
): { command: SpeedMode; done: boolean } | null {
  const name = (msg.interaction_metadata?.name ?? msg.interaction?.name ?? '').toLowerCase();
  if (name !== 'fast' && name !== 'relax' && name !== 'turbo') return null;
  return { command: name, done: /^\s*done\b/i.test(msg.content ?? '') };
}
