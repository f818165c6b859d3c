/**
 * Prepared forms (MODAL, SPEC §12.2) in a cluster (§13). A prepared task waits outside the line
 * until its form comes or its account's `timeoutMinutes` pass; any instance may receive the form
 * or a cancel, and the instance that prepared it may die meanwhile. So each waiting form is
 * registered in Redis with its deadline, and whatever ends the wait — the release, a cancel, the
 * timeout — first takes it out of that set: the removal succeeds for one instance only, and only
 * that one acts. The preparing instance times the form out at its deadline; if it is gone, the
 * periodic sweep (one instance per TTL) does, one TTL later.
 */
import type { Logger } from '../log.ts';
import type { Account } from './account.ts';
import type { TaskBook } from './book.ts';
import { formDeadline, isAwaitingModal, parkedTimeoutReason } from './modal-tasks.ts';
import type { SharedQueue } from './shared-queue.ts';
import type { TaskRecord, TaskStore } from './store.ts';
import type { Task } from './task.ts';

export interface ClusterFormsDeps {
  queue: SharedQueue;
  store: TaskStore;
  book: TaskBook;
  accounts: ReadonlyMap<string, Account>;
  logger: Logger;
  fail(rec: TaskRecord, reason: string): Promise<Task>;
  /** The lease TTL: the sweep leaves a form's timeout to its preparing instance this long. */
  ttlMs: number;
}

export class ClusterForms {
  /** Timeouts of the forms prepared here. */
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: ClusterFormsDeps) {}

  /** Registers a form's deadline before its task is stored (so no stored form goes unregistered). */
  async register(rec: TaskRecord): Promise<() => void> {
    const id = rec.task.id;
    await this.deps.queue.parkForm(id, this.deadline(rec).at);
    return () => void this.deps.queue.claimForm(id).catch(() => {});
  }

  /** The stored form waits here: this instance times it out at its deadline. */
  park(rec: TaskRecord): void {
    const { at, minutes } = this.deadline(rec);
    const timer = setTimeout(() => void this.timeOut(rec, minutes), Math.max(0, at - Date.now()));
    timer.unref();
    this.timers.set(rec.task.id, timer);
  }

  /** A release elsewhere took the form: its timer here stops. */
  unpark(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
  }

  /** Ends the form's wait for the caller (a release): false when something else ended it first. */
  async claim(id: string): Promise<boolean> {
    this.unpark(id);
    return this.deps.queue.claimForm(id);
  }

  /** Cancels a waiting form from this instance; undefined when its wait was already ended. */
  async cancel(rec: TaskRecord): Promise<Task | undefined> {
    if (!isAwaitingModal(rec.task) || !(await this.claim(rec.task.id))) return undefined;
    this.deps.book.adopt(rec);
    return this.deps.fail(rec, 'cancelled');
  }

  /** Stored forms (from before this instance joined) are registered; registered ones keep theirs. */
  async adopt(all: TaskRecord[]): Promise<void> {
    for (const rec of all) {
      if (isAwaitingModal(rec.task)) await this.deps.queue.parkForm(rec.task.id, this.deadline(rec).at);
    }
  }

  /** Forms past their deadline by one TTL (their instance is gone) fail from here. */
  async sweep(): Promise<void> {
    const { queue, store, book } = this.deps;
    for (const id of await queue.formsDue(Date.now() - this.deps.ttlMs)) {
      const rec = await store.get(id);
      if (!rec || !isAwaitingModal(rec.task)) {
        // Released, cancelled or failed since (or never stored): nothing waits any more.
        await queue.claimForm(id);
        continue;
      }
      if (!(await queue.claimForm(id))) continue;
      this.deps.logger.info({ task: id }, 'a form prepared on an instance that is gone timed out');
      book.adopt(rec);
      await this.deps.fail(rec, parkedTimeoutReason(this.deadline(rec).minutes));
    }
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async timeOut(rec: TaskRecord, minutes: number): Promise<void> {
    this.timers.delete(rec.task.id);
    try {
      if (await this.deps.queue.claimForm(rec.task.id))
        await this.deps.fail(rec, parkedTimeoutReason(minutes));
    } catch (err) {
      // Left registered: the sweep fails it.
      this.deps.logger.warn({ task: rec.task.id, err: (err as Error).message }, 'could not time a form out');
    }
  }

  private deadline(rec: TaskRecord): { at: number; minutes: number } {
    return formDeadline(rec, this.deps.accounts);
  }
}
