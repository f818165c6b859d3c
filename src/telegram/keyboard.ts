/**
 * Inline keyboards: Midjourney's button rows as Telegram buttons (same rows, same order), without
 * the buttons Telegram cannot serve (Vary (Region) needs a mask; bookmark, web links and anything
 * the bridge cannot press are left out), and the 1–4 buttons of a describe result.
 */
import type { Task } from '../engine/task.ts';
import { parseCustomId } from '../midjourney/custom-ids.ts';
import { OWN } from './callback-keys.ts';

/** One button before it gets its callback key. */
export interface KeyButton {
  text: string;
  customId: string;
}

export interface InlineKeyboard {
  inline_keyboard: { text: string; callback_data: string }[][];
}

const NUMBERS = ['1️⃣', '2️⃣', '3️⃣', '4️⃣', '5️⃣'];
/** Telegram shows at most 8 buttons in a row. */
const ROW_MAX = 8;

/** The rows of buttons for a finished task's result message. */
export function resultButtons(task: Task): KeyButton[][] {
  if (task.action === 'DESCRIBE' || task.action === 'SHORTEN') return describeButtons(task);
  const rows: KeyButton[][] = [];
  for (const row of task.buttons) {
    const out: KeyButton[] = [];
    for (const b of row) {
      const info = parseCustomId(b.custom_id);
      if (!info || info.action === 'VARIATION_REGION' || info.action === 'CANCEL_JOB') continue;
      const emoji = b.emoji?.name && !b.emoji.id ? b.emoji.name : '';
      const text = [emoji, b.label ?? ''].filter(Boolean).join(' ') || info.action;
      out.push({ text, customId: b.custom_id });
    }
    for (let i = 0; i < out.length; i += ROW_MAX) rows.push(out.slice(i, i + ROW_MAX));
  }
  return rows;
}

/**
 * 1️⃣–4️⃣ under a describe result (1️⃣–5️⃣ under a shorten result): Midjourney's PicReader
 * (PromptAnalyzer) buttons when present, else our own.
 */
function describeButtons(task: Task): KeyButton[][] {
  const own = new Map<number, string>();
  for (const row of task.buttons) {
    for (const b of row) {
      const info = parseCustomId(b.custom_id);
      const pick =
        task.action === 'SHORTEN' ? /PromptAnalyzer/.test(b.custom_id) : info?.action === 'PIC_READER';
      if (info && pick && info.index >= 1) own.set(info.index, b.custom_id);
    }
  }
  const row: KeyButton[] = [];
  const count = Math.min(task.prompts.length, NUMBERS.length);
  for (let i = 1; i <= count; i++) {
    row.push({ text: NUMBERS[i - 1] ?? String(i), customId: own.get(i) ?? OWN.imagine(i) });
  }
  return row.length > 0 ? [row] : [];
}

/** The Telegram keyboard, with each button's callback key from `keyOf`. */
export async function inlineKeyboard(
  rows: KeyButton[][],
  keyOf: (customId: string) => Promise<string>,
): Promise<InlineKeyboard | undefined> {
  if (rows.length === 0) return undefined;
  const inline_keyboard = await Promise.all(
    rows.map((row) =>
      Promise.all(row.map(async (b) => ({ text: b.text, callback_data: await keyOf(b.customId) }))),
    ),
  );
  return { inline_keyboard };
}
