/**
 * How a task ends (SPEC §3.2, §6.2, §6.7): a result with a file is stored first and the task is
 * `FINISHED` once it is (its stored URLs are what the `FINISHED` change shows); the account's slot
 * is given back as soon as Midjourney's final arrives, since the Discord job is over then. A
 * failure while the result is being stored is ignored (the result is there). Every final status
 * frees what the task held and drains the queue.
 */
import type { Logger } from '../log.ts';
import type { Account } from './account.ts';
import type { Change, TaskBook } from './book.ts';
import type { EngineMetrics } from './metrics.ts';
import { ResultFiler, type ResultFilerOptions } from './results-store.ts';
import type { Scheduler } from './scheduler.ts';
import type { TaskRecord } from './store.ts';
import type { Task } from './task.ts';

export interface FinisherOptions {
  book: TaskBook;
  scheduler: Scheduler;
  accounts: ReadonlyMap<string, Account>;
  logger: Logger;
  metrics: EngineMetrics | undefined;
  cdnOrigin: string;
  archive: ResultFilerOptions['archive'];
  timing?: Partial<ResultFilerOptions>;
}

/** Finishes and fails tasks; owns the result filer (the engine reads through {@link results}). */
export class Finisher {
  readonly results: ResultFiler;

  constructor(private readonly opts: FinisherOptions) {
    const { book, accounts } = opts;
    this.results = new ResultFiler({
      archive: opts.archive,
      cdnOrigin: opts.cdnOrigin,
      logger: opts.logger,
      ...(opts.metrics ? { registry: opts.metrics.registry } : {}),
      ...opts.timing,
      save: (rec) => book.annotate(rec, () => {}),
      refreshUrls: (rec, urls) => {
        const own = rec.meta.accountId ? accounts.get(rec.meta.accountId) : undefined;
        const account = own?.usable ? own : [...accounts.values()].find((a) => a.usable);
        if (!account) return Promise.reject(new Error('no usable account'));
        return account.rest.request('POST', '/attachments/refresh-urls', { json: { attachment_urls: urls } });
      },
    });
  }

  /** Midjourney delivered the result: store its file (if any), then `FINISHED`. */
  finish(rec: TaskRecord, change: Change): void {
    if (this.results.finish(rec, change, (c) => this.finishNow(rec, c))) {
      this.opts.scheduler.resultArrived(rec);
      return;
    }
    this.finishNow(rec, change);
  }

  /** `FAILED` with `reason` (unless the result is being stored); resolves with the task as persisted. */
  async fail(rec: TaskRecord, reason: string): Promise<Task> {
    const { book } = this.opts;
    if (this.results.isHolding(rec.task.id)) return (book.view(rec.task.id) ?? rec.task) as Task;
    const ok = book.mutate(rec, (t) => {
      t.status = 'FAILED';
      t.failReason = reason;
      t.finishTime = Math.floor(Date.now() / 1000);
    });
    if (ok) {
      this.opts.logger.info({ task: rec.task.id, reason }, 'task failed');
      this.settle(rec);
    }
    await book.settled(rec.task.id);
    return (book.view(rec.task.id) ?? rec.task) as Task;
  }

  private finishNow(rec: TaskRecord, change: Change): void {
    const ok = this.opts.book.mutate(rec, (t, m) => {
      change(t, m);
      t.status = 'FINISHED';
      t.progress = '100%';
      t.finishTime = Math.floor(Date.now() / 1000);
      t.failReason = null;
    });
    if (ok) this.settle(rec);
  }

  /** Frees the slot, forgets the keys, and drains the queue after every final status. */
  private settle(rec: TaskRecord): void {
    this.opts.scheduler.release(rec);
    const m = this.opts.metrics;
    if (m) {
      const labels = { action: rec.task.action, status: rec.task.status };
      m.tasks.inc(labels);
      if (rec.task.submitTime)
        m.taskDuration.observe(labels, Math.max(0, Date.now() / 1000 - rec.task.submitTime));
    }
    this.opts.book.retire(rec.task.id);
  }
}
