/**
 * The key-value space the Telegram front persists into (button keys, status messages, per-user
 * job lists), so that status messages keep updating and old buttons keep working after a restart.
 * The engine's store provides it (`TaskStore.space('telegram')`); values are read back through zod.
 */
import type { z } from 'zod';
import type { Logger } from '../log.ts';

export interface KeyValue {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
}

/** Reads a value and checks its shape; a missing, unreadable or malformed value is `undefined`. */
export async function readKey<S extends z.ZodType>(
  kv: KeyValue,
  key: string,
  schema: S,
  logger: Logger,
): Promise<z.infer<S> | undefined> {
  let raw: unknown;
  try {
    raw = await kv.get(key);
  } catch (err) {
    logger.error({ key, err: (err as Error).message }, 'telegram store read failed');
    return undefined;
  }
  if (raw === undefined || raw === null) return undefined;
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** Writes a value; a failing store is logged, never thrown into a chat. */
export async function writeKey(
  kv: KeyValue,
  key: string,
  value: unknown,
  logger: Logger,
  ttlMs?: number,
): Promise<void> {
  try {
    await kv.set(key, value, ttlMs);
  } catch (err) {
    logger.error({ key, err: (err as Error).message }, 'telegram store write failed');
  }
}
