/**
 * Each user's finished results, newest first (SPEC §15 `/history`): a list of at most
 * {@link HISTORY_MAX} task ids per user in the store's `telegram` space, so that it survives
 * restarts. The tasks themselves stay in the engine's store.
 */
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { type KeyValue, readKey, writeKey } from './kv.ts';

export const HISTORY_MAX = 50;

export class History {
  /** Writes per user in order, so two results finishing together are both kept. */
  private readonly chains = new Map<number, Promise<void>>();

  constructor(
    private readonly kv: KeyValue,
    private readonly logger: Logger,
  ) {}

  /** The user's result ids, newest first. */
  async list(userId: number): Promise<string[]> {
    await this.chains.get(userId);
    return (await readKey(this.kv, `history:${userId}`, z.array(z.string()), this.logger)) ?? [];
  }

  add(userId: number, taskId: string): Promise<void> {
    const prev = this.chains.get(userId) ?? Promise.resolve();
    const next = prev.then(async () => {
      const ids = (await readKey(this.kv, `history:${userId}`, z.array(z.string()), this.logger)) ?? [];
      const updated = [taskId, ...ids.filter((id) => id !== taskId)].slice(0, HISTORY_MAX);
      await writeKey(this.kv, `history:${userId}`, updated, this.logger);
    });
    this.chains.set(userId, next);
    void next.finally(() => {
      if (this.chains.get(userId) === next) this.chains.delete(userId);
    });
    return next;
  }
}
