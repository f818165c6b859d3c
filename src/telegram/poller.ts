/**
 * Long polling in a cluster (SPEC §13): run by the holder of the bot's lease alone. It starts from
 * the offset the previous poller stored in Redis (asking with it confirms everything before it to
 * Telegram), hands each update to the front (which claims it, so an update fetched twice across a
 * hand-over is handled once) and stores the new offset after each batch.
 */
import type { Logger } from '../log.ts';
import { scrub } from '../log.ts';
import type { TelegramCluster } from './cluster.ts';
import { apiFailure } from './sender.ts';

export type ApiCall = (
  method: string,
  payload: Record<string, unknown>,
  opts?: { signal?: AbortSignal },
) => Promise<unknown>;

export interface PollerOptions {
  call: ApiCall;
  cluster: TelegramCluster;
  /** Handles one update; resolves once it is dispatched (claimed and routed). */
  handle(update: { update_id: number }): Promise<void>;
  allowedUpdates: string[];
  logger: Logger;
  token: string;
  /** getUpdates long-poll timeout in seconds (default 50, Telegram's usual). */
  timeoutS?: number;
}

export class Poller {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: PollerOptions) {}

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      this.opts.logger.error({ err: this.describe(err) }, 'telegram polling stopped');
    });
  }

  /** Ends polling once the update being handled is dispatched and its offset stored. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private describe(err: unknown): string {
    return scrub(apiFailure(err).description, [this.opts.token]);
  }

  private async run(): Promise<void> {
    const { call, cluster, logger } = this.opts;
    const signal = this.abort.signal;
    let wait = 500;
    // Polling and a webhook exclude each other at Telegram.
    while (!signal.aborted) {
      try {
        await call('deleteWebhook', { drop_pending_updates: false }, { signal });
        break;
      } catch (err) {
        if (signal.aborted) return;
        logger.warn({ err: this.describe(err) }, 'deleteWebhook failed; retrying');
        await pause(wait, signal);
        wait = Math.min(wait * 2, 30_000);
      }
    }
    let offset = await cluster.offset();
    logger.info({ offset }, 'telegram polling (this instance holds the bot lease)');
    wait = 500;
    while (!signal.aborted) {
      let updates: { update_id: number }[];
      try {
        updates = (await call(
          'getUpdates',
          { offset, timeout: this.opts.timeoutS ?? 50, allowed_updates: this.opts.allowedUpdates },
          { signal },
        )) as { update_id: number }[];
        wait = 500;
      } catch (err) {
        if (signal.aborted) return;
        const f = apiFailure(err);
        if (f.code === 401) throw err;
        // 409: an old poller's request is still open at Telegram; it is cut off as we ask again.
        logger.warn({ err: this.describe(err) }, 'getUpdates failed; retrying');
        await pause(f.retryAfterS ? f.retryAfterS * 1000 : wait, signal);
        wait = Math.min(wait * 2, 30_000);
        continue;
      }
      let next = offset;
      try {
        for (const update of updates) {
          // Not cut by a stop: an update fetched is dispatched before its offset is stored.
          await this.opts.handle(update);
          next = Math.max(next, update.update_id + 1);
        }
      } catch (err) {
        // Redis did not answer the claim: the rest of the batch comes again with the next poll.
        logger.error({ err: (err as Error).message }, 'telegram update not claimed; polling again');
        await pause(wait, signal);
        wait = Math.min(wait * 2, 30_000);
      }
      if (next === offset) continue;
      offset = next;
      await cluster.saveOffset(offset).catch((err: Error) => {
        logger.warn({ err: err.message }, 'polling offset not stored (the claims keep updates once)');
      });
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
