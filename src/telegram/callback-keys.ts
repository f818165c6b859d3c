/**
 * Inline buttons carry only a short random key in `callback_data` (Telegram allows 64 bytes); the
 * key maps, in the persistent store, to the task, the Midjourney custom_id and who may press it.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { type KeyValue, readKey, writeKey } from './kv.ts';

/** What a button key stands for. */
export interface ButtonEntry {
  taskId: string;
  /** A Midjourney custom_id, or one of the bot's own {@link OWN}. */
  customId: string;
  ownerId: number;
  chatId: number;
}

/** Buttons of the bot's own that are no Midjourney button. */
export const OWN = {
  cancel: 'mjb:cancel',
  /** Imagine described prompt n (when the describe result has no PicReader button). */
  imagine: (n: number) => `mjb:imagine:${n}`,
} as const;

const entrySchema = z.object({
  taskId: z.string(),
  customId: z.string(),
  ownerId: z.number(),
  chatId: z.number(),
});

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_LENGTH = 12;
const KEY_PATTERN = /^[0-9A-Za-z]{12}$/;

/** A fresh 12-character base62 key (~71 bits). */
export function newKey(): string {
  const bytes = randomBytes(KEY_LENGTH * 2);
  let out = '';
  for (const b of bytes) {
    // 248 = 4 × 62: drop the top values so every character is equally likely.
    if (b >= 248) continue;
    out += ALPHABET[b % 62];
    if (out.length === KEY_LENGTH) return out;
  }
  return out.length === KEY_LENGTH ? out : newKey();
}

export class CallbackKeys {
  constructor(
    private readonly kv: KeyValue,
    private readonly logger: Logger,
  ) {}

  /** Stores the entry and returns the key to put in `callback_data`. */
  async create(entry: ButtonEntry): Promise<string> {
    const key = newKey();
    await writeKey(this.kv, `cb:${key}`, entry, this.logger);
    return key;
  }

  /** The entry behind a pressed button's `callback_data`, or undefined when stale or foreign. */
  async resolve(data: string | undefined): Promise<ButtonEntry | undefined> {
    if (!data || !KEY_PATTERN.test(data)) return undefined;
    return readKey(this.kv, `cb:${data}`, entrySchema, this.logger);
  }
}
