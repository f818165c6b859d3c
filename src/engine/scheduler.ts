/**
 * Scheduling (SPEC §6.2, §3.3): the one queue, the choice of account, the slot a started task
 * holds, its timeout, the queue timeout, `Queue full` requeues, and putting stored tasks back in
 * their place after a restart. Submission itself is handed to a callback.
 */
import type { Logger } from '../log.ts';
import { isFollowUp } from '../midjourney/actions.ts';
import type { Account } from './account.ts';
import type { TaskBook } from './book.ts';
import { EngineError } from './errors.ts';
import type { TaskIndex } from './matcher.ts';
import type { EngineMetrics } from './metrics.ts';
import { formDeadline, isAwaitingModal, parkedTimeoutReason } from './modal-tasks.ts';
import { TaskQueue } from './queue.ts';
import type { TaskRecord } from './store.ts';
import { isTerminal, type Task } from './task.ts';

export interface SchedulerDeps {
  accounts: ReadonlyMap<string, Account>;
  book: TaskBook;
  index: TaskIndex;
  logger: Logger;
  metrics: EngineMetrics | undefined;
  maxQueue: () => number;
  /** Runs the Discord side of a task that just took a slot (it is STARTED and persisted in order). */
  submit(rec: TaskRecord, account: Account): void;
  fail(rec: TaskRecord, reason: string): Promise<Task>;
}

/**
 * A waiting line shared with other instances (SPEC §13, cluster-work.ts): waiting tasks live
 * there instead of in this process's queue, which then holds only what this instance must start
 * itself (the STARTED tasks of an account it just took over).
 */
export interface SharedLine {
  /** Slots may be free: take waiting work. */
  pull(): void;
  /** A task gave its slot of `accountId` back (final, or requeued). */
  freed(rec: TaskRecord, accountId: string): void;
  /** After `Queue full`: the task, persisted PENDING again, goes back to the head of the line. */
  requeue(rec: TaskRecord, account: Account): void;
}

export class Scheduler {
  readonly queue = new TaskQueue();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Places taken by submissions still being written (SPEC §6.2: maxQueue holds under concurrency). */
  private reserved = 0;
  private drainScheduled = false;
  private queueTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private line: SharedLine | undefined;

  constructor(private readonly deps: SchedulerDeps) {}

  /** From now on waiting tasks are the shared line's (cluster mode). */
  attach(line: SharedLine): void {
    this.line = line;
  }

  start(): void {
    this.deps.metrics?.queueLength.set(this.queue.length);
    this.queueTimer = setInterval(() => this.expireQueued(), 1000);
    this.queueTimer.unref();
  }

  stop(): void {
    this.stopping = true;
    if (this.queueTimer) clearInterval(this.queueTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /**
   * Takes a place in the queue synchronously, before any await of the caller, so submissions
   * that arrive together cannot all pass the check. Returns the function that gives it back.
   * @throws {EngineError} QUEUE_FULL
   */
  reserve(): () => void {
    if (this.queue.length + this.reserved >= this.deps.maxQueue()) {
      throw new EngineError('QUEUE_FULL', 'queue is full');
    }
    this.reserved++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.reserved--;
    };
  }

  enqueue(id: string): void {
    this.queue.push(id);
    this.deps.metrics?.queueLength.set(this.queue.length);
    this.scheduleDrain();
  }

  /** Puts a stored task back after a restart; STARTED ones go to `front` (resubmitted first). */
  recover(rec: TaskRecord, front: string[]): void {
    const { task, meta } = rec;
    if (isAwaitingModal(task)) {
      this.park(rec);
      return;
    }
    if (task.status === 'PENDING') {
      this.queue.push(task.id);
      return;
    }
    const account = meta.accountId ? this.deps.accounts.get(meta.accountId) : undefined;
    if (task.status === 'STARTED') {
      // The submission was cut off before Discord accepted it: do it again, first in line.
      if (!isFollowUp(task.action) && !account) meta.accountId = null;
      front.push(task.id);
      return;
    }
    if (!account) {
      void this.deps.fail(rec, `account ${meta.accountId ?? '?'} unavailable: not configured any more`);
      return;
    }
    account.running.add(task.id);
    const { index } = this.deps;
    index.join(account.id, task.id);
    if (meta.nonce) index.addNonce(meta.nonce, task.id);
    if (meta.interactionId) index.addInteraction(meta.interactionId, task.id);
    if (meta.progressMessageId) index.addMessage(meta.progressMessageId, task.id);
    if (meta.cancelMessageId) index.addMessage(meta.cancelMessageId, task.id);
    if (task.messageHash) index.addHash(task.messageHash, task.id);
    this.armTimeout(rec, account);
  }

  /**
   * A prepared task waits for its form outside the queue and holds no slot; it fails when its
   * account's `timeoutMinutes` pass (counted from when it was made) without {@link unpark}.
   */
  park(rec: TaskRecord): void {
    const { at, minutes } = formDeadline(rec, this.deps.accounts);
    const left = Math.max(0, at - Date.now());
    const timer = setTimeout(() => void this.deps.fail(rec, parkedTimeoutReason(minutes)), left);
    timer.unref();
    this.timers.set(rec.task.id, timer);
  }

  /** The form came: the parked task's timer stops (it is then enqueued like any task). */
  unpark(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
  }

  /** Ends recovery: the STARTED tasks first, in their order. */
  putFirst(ids: string[]): void {
    for (const id of [...ids].reverse()) this.queue.unshift(id);
    this.deps.metrics?.queueLength.set(this.queue.length);
  }

  scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drainScheduled = false;
      this.drain();
      if (!this.stopping) this.line?.pull();
    });
  }

  /** Tasks waiting per account they are pinned to (for health). */
  queuedByAccount(): Map<string, number> {
    const by = new Map<string, number>();
    for (const id of this.queue.snapshot()) {
      const acc = this.deps.book.records.get(id)?.meta.accountId;
      if (acc) by.set(acc, (by.get(acc) ?? 0) + 1);
    }
    return by;
  }

  /**
   * Midjourney's final arrived and the task waits only for its result to be stored (SPEC §6.7):
   * the Discord job is over, so its slot goes back now and the next waiting job can start while
   * the file is copied. Its timer and keys stay until {@link release}.
   */
  resultArrived(rec: TaskRecord): void {
    const id = rec.task.id;
    const account = rec.meta.accountId ? this.deps.accounts.get(rec.meta.accountId) : undefined;
    if (!account?.running.delete(id)) return;
    account.finishing.add(id);
    this.line?.freed(rec, account.id);
    this.scheduleDrain();
  }

  /** Gives back what a terminal task held: its slot, its timer, its place, its keys. */
  release(rec: TaskRecord): void {
    const id = rec.task.id;
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
    this.queue.remove(id);
    const account = rec.meta.accountId ? this.deps.accounts.get(rec.meta.accountId) : undefined;
    account?.running.delete(id);
    account?.finishing.delete(id);
    if (account) this.line?.freed(rec, account.id);
    this.deps.index.forget(rec);
    this.deps.metrics?.queueLength.set(this.queue.length);
    this.scheduleDrain();
  }

  /** After `Queue full`: the account rests a minute, the task goes back to the head of the queue. */
  requeue(rec: TaskRecord, account: Account): void {
    account.busyUntil = Date.now() + 60_000;
    account.running.delete(rec.task.id);
    this.deps.book.mutate(rec, (t, m) => {
      t.status = 'PENDING';
      t.progress = null;
      m.nonce = null;
      m.interactionId = null;
      m.queuedAtMs = Date.now();
      if (!isFollowUp(t.action)) {
        m.accountId = null;
        t.discordId = null;
      }
    });
    if (this.line) {
      this.line.requeue(rec, account);
      return;
    }
    this.queue.unshift(rec.task.id);
    setTimeout(() => this.scheduleDrain(), 60_000).unref();
    this.scheduleDrain();
  }

  /** Starts every queued task that can run now, in order, skipping those that cannot. */
  private drain(): void {
    if (this.stopping) return;
    const usable = () => {
      for (const a of this.deps.accounts.values()) if (a.usable && a.freeSlots > 0) return true;
      return false;
    };
    if (!usable()) return;
    for (const id of this.queue.snapshot()) {
      const rec = this.deps.book.records.get(id);
      if (!rec || isTerminal(rec.task.status)) {
        this.queue.remove(id);
        continue;
      }
      const account = this.pick(rec);
      if (!account) continue;
      this.queue.remove(id);
      this.begin(rec, account);
      if (!usable()) break;
    }
    this.deps.metrics?.queueLength.set(this.queue.length);
  }

  /** A pinned task's own account, else the ready one with most free slots, least recently used. */
  private pick(rec: TaskRecord): Account | undefined {
    if (rec.meta.accountId) {
      const a = this.deps.accounts.get(rec.meta.accountId);
      return a?.usable && a.freeSlots > 0 ? a : undefined;
    }
    let best: Account | undefined;
    for (const a of this.deps.accounts.values()) {
      if (!a.usable || a.freeSlots <= 0) continue;
      if (
        !best ||
        a.freeSlots > best.freeSlots ||
        (a.freeSlots === best.freeSlots && a.lastUsedAt < best.lastUsedAt)
      ) {
        best = a;
      }
    }
    return best;
  }

  /** Starts a task the shared line handed to this instance for `account` (it holds the slot). */
  startOn(rec: TaskRecord, account: Account): void {
    this.begin(rec, account);
  }

  private begin(rec: TaskRecord, account: Account): void {
    account.running.add(rec.task.id);
    account.lastUsedAt = Date.now();
    this.deps.index.join(account.id, rec.task.id);
    this.deps.book.mutate(rec, (t, m) => {
      t.status = 'STARTED';
      t.startTime = Math.floor(Date.now() / 1000);
      t.discordId = account.id;
      m.accountId = account.id;
      m.startedAtMs = Date.now();
    });
    this.armTimeout(rec, account);
    this.deps.submit(rec, account);
  }

  private armTimeout(rec: TaskRecord, account: Account): void {
    const minutes = account.config.timeoutMinutes;
    const started = rec.meta.startedAtMs ?? Date.now();
    const left = Math.max(0, started + minutes * 60_000 - Date.now());
    const timer = setTimeout(() => {
      void this.deps.fail(rec, `timeout after ${formatMinutes(minutes)}`);
    }, left);
    timer.unref();
    const old = this.timers.get(rec.task.id);
    if (old) clearTimeout(old);
    this.timers.set(rec.task.id, timer);
  }

  private expireQueued(): void {
    let maxMinutes = 0;
    for (const a of this.deps.accounts.values()) maxMinutes = Math.max(maxMinutes, a.config.timeoutMinutes);
    if (maxMinutes === 0) return;
    const limit = 3 * maxMinutes * 60_000;
    const now = Date.now();
    for (const id of this.queue.snapshot()) {
      const rec = this.deps.book.records.get(id);
      if (rec && now - rec.meta.queuedAtMs > limit) {
        this.queue.remove(id);
        void this.deps.fail(rec, 'queue timeout');
      }
    }
  }
}

function formatMinutes(m: number): string {
  return `${Number(m.toFixed(2))} minute${m === 1 ? '' : 's'}`;
}
