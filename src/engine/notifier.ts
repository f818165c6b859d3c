/**
 * `notifyUrl` callbacks (SPEC §5.4): per task strictly in order, never blocking the engine;
 * progress not yet sent is coalesced (latest wins); the final callback is retried with backoff;
 * signed with HMAC-SHA256 of the body when a secret is set.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { TaskFacts } from './api.ts';
import { type GuardOptions, postJson } from './guarded-fetch.ts';
import type { Task } from './task.ts';

export interface NotifierOptions {
  secret: string;
  allowPrivateNetworks: boolean;
  logger: Logger;
  attempts?: number;
  retryBaseMs?: number;
  timeoutMs?: number;
  onResult?: (result: 'ok' | 'failed' | 'retried') => void;
  guard?: Partial<GuardOptions>;
  /**
   * The body a task's callback carries (default: the task JSON); a front may have its own shape,
   * told by the task's facts (its origin among them).
   */
  render?: (task: Task, facts: TaskFacts | undefined) => unknown;
}

interface Lane {
  /** Bodies waiting for this task, in order; a progress update replaces a progress update. */
  queue: { task: Task; url: string; facts: TaskFacts | undefined }[];
  busy: boolean;
}

export class Notifier {
  private readonly lanes = new Map<string, Lane>();
  private readonly idle = new Set<() => void>();

  constructor(private readonly opts: NotifierOptions) {}

  /** Queues the task's current JSON for its callback URL; returns at once. */
  notify(task: Task, url: string, facts?: TaskFacts): void {
    let lane = this.lanes.get(task.id);
    if (!lane) {
      lane = { queue: [], busy: false };
      this.lanes.set(task.id, lane);
    }
    const tail = lane.queue.at(-1);
    if (tail && tail.task.status === 'RUNNING' && task.status === 'RUNNING')
      lane.queue[lane.queue.length - 1] = { task, url, facts };
    else lane.queue.push({ task, url, facts });
    if (!lane.busy) void this.run(task.id, lane);
  }

  /** Resolves when every queued callback has been delivered or given up. */
  async drain(): Promise<void> {
    while ([...this.lanes.values()].some((l) => l.busy || l.queue.length > 0)) {
      await new Promise<void>((r) => {
        this.idle.add(r);
        setTimeout(r, 50).unref();
      });
    }
  }

  private async run(id: string, lane: Lane): Promise<void> {
    lane.busy = true;
    for (let item = lane.queue.shift(); item; item = lane.queue.shift()) {
      await this.deliver(item.task, item.url, item.facts);
    }
    lane.busy = false;
    this.lanes.delete(id);
    for (const r of this.idle) r();
    this.idle.clear();
  }

  private async deliver(task: Task, url: string, facts: TaskFacts | undefined): Promise<void> {
    const body = JSON.stringify(this.opts.render ? this.opts.render(task, facts) : task);
    const headers: Record<string, string> = {};
    if (this.opts.secret) {
      headers['x-mj-signature'] =
        `sha256=${createHmac('sha256', this.opts.secret).update(body).digest('hex')}`;
    }
    const final = task.status === 'FINISHED' || task.status === 'FAILED';
    const attempts = final ? (this.opts.attempts ?? 4) : 1;
    for (let i = 1; i <= attempts; i++) {
      try {
        const status = await postJson(url, body, headers, {
          allowPrivateNetworks: this.opts.allowPrivateNetworks,
          timeoutMs: this.opts.timeoutMs ?? 10_000,
          ...this.opts.guard,
        });
        if (status >= 200 && status < 300) {
          this.opts.onResult?.('ok');
          return;
        }
        throw new Error(`HTTP ${status}`);
      } catch (err) {
        if (i === attempts) {
          this.opts.onResult?.('failed');
          this.opts.logger.warn(
            { task: task.id, status: task.status, err: (err as Error).message },
            'callback failed',
          );
          return;
        }
        this.opts.onResult?.('retried');
        await new Promise((r) => setTimeout(r, (this.opts.retryBaseMs ?? 1000) * 2 ** (i - 1)));
      }
    }
  }
}
