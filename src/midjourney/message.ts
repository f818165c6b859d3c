/**
 * Facts read off a whole Midjourney message: its job hash, the buttons a task exposes, the four
 * prompts of a describe result, and preview vs final attachments (reference §4.3–§4.6).
 */
import type { DiscordAttachment, DiscordMessage } from '../discord/types.ts';

const UUID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;
const WHOLE_UUID = new RegExp(`^${UUID.source}$`);
const CANCEL_PREFIX = 'MJ::CancelJob::ByJobid::';

function customIds(message: Pick<DiscordMessage, 'components'>): string[] {
  const out: string[] = [];
  for (const row of message.components ?? []) {
    for (const c of row.components ?? []) if (c.custom_id) out.push(c.custom_id);
  }
  return out;
}

/**
 * The Midjourney job id (a UUID) a message is about, or null. Looked for in this order: the
 * Cancel Job button, the 5th `::` field (else any UUID) of a button custom_id, an attachment's
 * file name (`<hash>_grid_0.webp`, `<user>_<slug>_<hash>.png`) or URL.
 */
export function extractJobHash(message: Pick<DiscordMessage, 'components' | 'attachments'>): string | null {
  const ids = customIds(message);
  for (const id of ids) {
    if (!id.startsWith(CANCEL_PREFIX)) continue;
    const hash = id.slice(CANCEL_PREFIX.length);
    if (WHOLE_UUID.test(hash)) return hash;
  }
  for (const id of ids) {
    const fifth = id.split('::')[4];
    if (fifth && WHOLE_UUID.test(fifth)) return fifth;
  }
  for (const id of ids) {
    const m = UUID.exec(id);
    if (m) return m[0];
  }
  for (const att of message.attachments ?? []) {
    const m = UUID.exec(att.filename) ?? UUID.exec(att.url);
    if (m) return m[0];
  }
  return null;
}

/** A button as a task shows it (SPEC §3.1). */
export interface ResultButton {
  type: number;
  style?: number;
  label?: string;
  emoji?: { name?: string; id?: string | null };
  custom_id: string;
}

function pickEmoji(e: { name?: string; id?: string | null }): { name?: string; id?: string | null } {
  return { ...(e.name !== undefined ? { name: e.name } : {}), ...(e.id !== undefined ? { id: e.id } : {}) };
}

/**
 * The message's button rows as a task exposes them: link buttons and the bookmark (which the
 * bridge cannot act on) are left out, each button keeps only `type`, `style`, `label`, `emoji`
 * and `custom_id`, and rows left empty are dropped.
 */
export function resultButtons(message: Pick<DiscordMessage, 'components'>): ResultButton[][] {
  const rows: ResultButton[][] = [];
  for (const row of message.components ?? []) {
    const buttons: ResultButton[] = [];
    for (const c of row.components ?? []) {
      if (c.type !== 2 || !c.custom_id || c.style === 5 || c.url) continue;
      if (c.custom_id.startsWith('MJ::BOOKMARK::')) continue;
      buttons.push({
        type: c.type,
        ...(c.style !== undefined ? { style: c.style } : {}),
        ...(c.label !== undefined ? { label: c.label } : {}),
        ...(c.emoji ? { emoji: pickEmoji(c.emoji) } : {}),
        custom_id: c.custom_id,
      });
    }
    if (buttons.length > 0) rows.push(buttons);
  }
  return rows;
}

const KEYCAP = /[0-9]\uFE0F?\u20E3/u;

/**
 * The prompts of a describe result: `1️⃣ <p1>\n\n2️⃣ <p2>…` split on the keycap emojis
 * (anything before the first one is not a prompt), or on blank lines when there are none.
 */
export function parseDescribePrompts(description: string): string[] {
  const text = description.replace(/\r\n/g, '\n');
  const parts = KEYCAP.test(text)
    ? text.split(new RegExp(`(?:^|\\s)${KEYCAP.source}`, 'u')).slice(1)
    : text.split(/\n\s*\n/);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** True for a progress preview (`<hash>_grid_0.webp`, any webp), false for a final image. */
export function isPreviewAttachment(att: Pick<DiscordAttachment, 'filename' | 'content_type'>): boolean {
  return /\.webp$/i.test(att.filename) || att.content_type === 'image/webp';
}

/** True for a video result (`<hash>_0.mp4`, `.webm`, or any `video/*` attachment). */
export function isVideoAttachment(att: Pick<DiscordAttachment, 'filename' | 'content_type'>): boolean {
  return /\.(?:mp4|webm|mov)$/i.test(att.filename) || /^video\//i.test(att.content_type ?? '');
}
