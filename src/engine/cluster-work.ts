/**
 * The engine's use of the cluster's shared line (SPEC §13, §6.2, §3.3). A submission on any
 * instance takes a place in the cluster-wide count (`settings.maxQueue`), is stored, and becomes
 * a BullMQ job; the instance holding an account's lease takes jobs for it while the account has a
 * free slot (counted in Redis too, so `concurrency` holds cluster-wide) and starts them.
 *
 * Who is responsible for a task follows its stored status: a `PENDING` task belongs to its job (a
 * job whose taker died comes back by BullMQ's stalled-job check), a `STARTED`/`SUBMITTED`/`RUNNING`
 * one to the lease of its account (a new holder adopts it). So a job is finished as soon as its
 * task is stored `STARTED`, and a job whose task is no longer `PENDING` is dropped, never run:
 * nothing is submitted twice.
 */
import type { Logger } from '../log.ts';
import type { Account } from './account.ts';
import type { TaskBook } from './book.ts';
import type { ClusterNode } from './cluster.ts';
import { isAwaitingModal } from './modal-tasks.ts';
import type { Scheduler, SharedLine } from './scheduler.ts';
import type { SharedQueue, TakenJob, Waiting } from './shared-queue.ts';
import type { TaskRecord, TaskStore } from './store.ts';
import { isTerminal, type Task } from './task.ts';

export interface ClusterWorkDeps {
  queue: SharedQueue;
  node: ClusterNode;
  accounts: ReadonlyMap<string, Account>;
  book: TaskBook;
  scheduler: Scheduler;
  store: TaskStore;
  logger: Logger;
  maxQueue(): number;
  fail(rec: TaskRecord, reason: string): Promise<Task>;
  /** A waiting task of this many ms fails with `queue timeout` (3 × the largest `timeoutMinutes`). */
  queueTimeoutMs(): number;
}

/** The statuses in which a task holds one of its account's slots. */
const SLOT_STATUSES = new Set(['STARTED', 'SUBMITTED', 'RUNNING']);

const waitingOf = (rec: TaskRecord): Waiting => ({
  id: rec.task.id,
  queuedAtMs: rec.meta.queuedAtMs,
  accountId: rec.meta.accountId,
});

export class ClusterWork implements SharedLine {
  /** Tasks whose leaving PENDING this instance takes out of the count (reserved, or taken here). */
  private readonly mine = new Set<string>();
  private pulling: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private queued = 0;
  private readonly pinned = new Map<string, number>();

  constructor(private readonly deps: ClusterWorkDeps) {
    deps.scheduler.attach(this);
  }

  /** Tasks waiting in the whole cluster, as of the last beat. */
  get waiting(): number {
    return this.queued;
  }

  /** Follow-ups waiting for `accountId`, as of the last beat. */
  pinnedTo(accountId: string): number {
    return this.pinned.get(accountId) ?? 0;
  }

  /** The 1-based place of each task in the cluster's line; null for one not waiting in it. */
  places(taskIds: readonly string[]): Promise<(number | null)[]> {
    return this.deps.queue.places(taskIds);
  }

  /**
   * Takes a place in the cluster's count before the task is stored.
   * @throws {EngineError} QUEUE_FULL
   */
  async reserve(rec: TaskRecord): Promise<() => void> {
    await this.deps.queue.reserve(waitingOf(rec), this.deps.maxQueue());
    this.mine.add(rec.task.id);
    return () => {
      this.mine.delete(rec.task.id);
      void this.deps.queue.left(rec.task.id).catch(() => {});
    };
  }

  /** A stored PENDING task goes in line; this instance lets it go (its taker reads the store). */
  async enqueue(rec: TaskRecord): Promise<void> {
    await this.deps.book.settled(rec.task.id);
    await this.deps.queue.add(waitingOf(rec));
    // Its taker takes it out of the count, wherever that is.
    this.mine.delete(rec.task.id);
    await this.deps.book.forget(rec);
    this.deps.node.announceWork();
    this.pull();
  }

  /** Every persisted change of a task made here: one that left PENDING leaves the count. */
  announced(task: Readonly<Task>): void {
    if (task.status === 'PENDING' || !this.mine.delete(task.id)) return;
    void this.deps.queue.left(task.id).catch(() => {});
  }

  /**
   * Cancels a task waiting in line: its job is removed (nobody can take it any more) and the task
   * fails here. False when no waiting job could be removed (an instance is starting it).
   */
  async cancelWaiting(rec: TaskRecord): Promise<Task | undefined> {
    if (rec.task.status !== 'PENDING' || isAwaitingModal(rec.task)) return undefined;
    if (!(await this.deps.queue.remove(waitingOf(rec)))) return undefined;
    return this.failHere(rec, 'cancelled');
  }

  /** Takes waiting work while held accounts have free slots (one pass at a time). */
  pull(): void {
    if (this.stopped) return;
    if (this.pulling) {
      this.again = true;
      return;
    }
    this.pulling = this.pullAll()
      .catch((err: unknown) =>
        this.deps.logger.error({ err: (err as Error).message }, 'taking queued work failed'),
      )
      .finally(() => {
        this.pulling = undefined;
        if (this.again) {
          this.again = false;
          this.pull();
        }
      });
  }

  freed(rec: TaskRecord, accountId: string): void {
    void this.deps.queue.freeSlot(accountId, rec.task.id).catch((err: Error) => {
      this.deps.logger.warn(
        { task: rec.task.id, err: err.message },
        'could not free an account slot in Redis',
      );
    });
  }

  requeue(rec: TaskRecord, account: Account): void {
    const { book, queue, scheduler, node } = this.deps;
    void (async () => {
      await book.settled(rec.task.id);
      scheduler.release(rec);
      await queue.freeSlot(account.id, rec.task.id);
      await queue.add(waitingOf(rec), true);
      await book.forget(rec);
      node.announceWork();
    })().catch((err: unknown) =>
      this.deps.logger.error(
        { task: rec.task.id, err: (err as Error).message },
        'could not put a task back in line',
      ),
    );
  }

  /**
   * Stored PENDING tasks (from before this instance, or whose instance died between storing and
   * queueing one) are put in line; one already there is not added twice.
   */
  async adoptWaiting(recs: TaskRecord[]): Promise<void> {
    for (const rec of recs) {
      if (rec.task.status === 'PENDING' && !isAwaitingModal(rec.task))
        await this.deps.queue.add(waitingOf(rec));
    }
  }

  /**
   * Sets an account's slot holders in Redis to the tasks this instance now runs or will restart
   * on it (after taking its lease): whatever the previous holder left there is replaced.
   */
  async adoptSlots(account: Account, starting: string[]): Promise<void> {
    await this.deps.queue.setSlots(account.id, [...new Set([...account.running, ...starting])]);
  }

  /**
   * The periodic look over the line (one instance per TTL): counts for `/health`, the queue
   * timeout, and tasks whose job went missing (an instance died between storing and queueing).
   */
  async sweep(): Promise<void> {
    const { queue, store } = this.deps;
    const now = Date.now();
    const grace = 2 * this.deps.node.ttlMs;
    for (const entry of await queue.waitingEntries()) {
      if (now - entry.queuedAtMs < grace) continue;
      const rec = await store.get(entry.id);
      if (rec?.task.status !== 'PENDING' || rec.meta.queuedAtMs !== entry.queuedAtMs) {
        // Started (or gone) since; an entry of a task requeued later waits under its new time.
        if (rec?.task.status !== 'PENDING') await queue.left(entry.id);
        continue;
      }
      const w = waitingOf(rec);
      if (now - entry.queuedAtMs > this.deps.queueTimeoutMs()) {
        if (await queue.remove(w)) await this.failHere(rec, 'queue timeout');
      } else if (!(await queue.hasJob(w))) {
        this.deps.logger.warn({ task: rec.task.id }, 'a waiting task had no job; queued again');
        await queue.add(w, true);
      }
    }
  }

  /** Refreshes the counts `/health` shows (every beat). */
  async count(): Promise<void> {
    const { queue, node } = this.deps;
    this.queued = await queue.waitingCount();
    for (const id of node.held()) this.pinned.set(id, await queue.pinnedCount(id));
  }

  /** Stops taking work; a job being taken right now is let finish its start. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.pulling?.catch(() => {});
  }

  // ------------------------------------------------------------------ taking work

  private async pullAll(): Promise<void> {
    const { node, accounts } = this.deps;
    /** Accounts whose Redis slots are all held though this instance counts one free. */
    const refused = new Set<string>();
    for (let progress = true; progress && !this.stopped; ) {
      progress = false;
      const ready = node
        .working()
        .map((id) => accounts.get(id))
        .filter(
          (a): a is Account => !!a && !refused.has(a.id) && a.usable && a.freeSlots > this.localWaiting(a.id),
        )
        // SPEC §6.2: the account with the most free slots first, ties to the least recently used.
        .sort((a, b) => b.freeSlots - a.freeSlots || a.lastUsedAt - b.lastUsedAt);
      for (const account of ready) {
        if (this.stopped) return;
        const got = await this.takeFor(account);
        if (got === 'refused') {
          refused.add(account.id);
          if (await this.reconcileSlots(account)) refused.delete(account.id);
        }
        if (got !== 'none') progress = true;
      }
    }
  }

  /** Tasks of the local queue (adopted STARTED ones) that will take a slot of the account. */
  private localWaiting(accountId: string): number {
    let n = 0;
    for (const id of this.deps.scheduler.queue.snapshot()) {
      if (this.deps.book.records.get(id)?.meta.accountId === accountId) n++;
    }
    return n;
  }

  /**
   * Frees the slots Redis counts for tasks that no longer hold one (an instance died between a
   * task's end and freeing its slot); true when one was freed.
   */
  private async reconcileSlots(account: Account): Promise<boolean> {
    const { queue, store, scheduler } = this.deps;
    let freed = false;
    for (const id of await queue.slotHolders(account.id)) {
      if (account.running.has(id) || scheduler.queue.position(id) !== null) continue;
      const rec = await store.get(id);
      if (rec && SLOT_STATUSES.has(rec.task.status) && rec.meta.accountId === account.id) continue;
      await queue.freeSlot(account.id, id);
      freed = true;
    }
    return freed;
  }

  /** Takes one job for the account and starts its task (or drops it, or gives it back). */
  private async takeFor(account: Account): Promise<'none' | 'taken' | 'refused'> {
    const { queue } = this.deps;
    const job = await queue.take(account.id);
    if (!job) return 'none';
    try {
      return await this.startTaken(job, account);
    } catch (err) {
      this.deps.logger.error(
        { task: job.taskId, err: (err as Error).message },
        'could not start a queued task',
      );
      await queue.putBack(job.taskId);
      return 'refused';
    }
  }

  private async startTaken(job: TakenJob, account: Account): Promise<'taken' | 'refused'> {
    const { queue, store, book, scheduler, logger } = this.deps;
    const id = job.taskId;
    const rec = await store.get(id);
    if (rec?.task.status !== 'PENDING' || rec.meta.queuedAtMs !== job.queuedAtMs) {
      // Started already (its taker died after storing STARTED), finished, or a stale wait.
      logger.info({ task: id, status: rec?.task.status }, 'a queued job whose task no longer waits: dropped');
      await queue.finish(id);
      if (rec?.task.status !== 'PENDING') await queue.left(id);
      return 'taken';
    }
    const pinnedElsewhere = rec.meta.accountId !== null && rec.meta.accountId !== account.id;
    if (
      pinnedElsewhere ||
      !account.usable ||
      account.freeSlots <= 0 ||
      !(await queue.takeSlot(account.id, id, account.config.concurrency))
    ) {
      await queue.putBack(id);
      return 'refused';
    }
    const live = book.records.get(id);
    if (live && !isTerminal(live.task.status)) {
      // Cancelled or changed here meanwhile: this copy is the one to follow.
      await queue.freeSlot(account.id, id);
      await queue.finish(id);
      return 'taken';
    }
    if (!(await queue.confirm(id))) {
      // Held too long (this instance stalled): the job may be another instance's now, and so
      // may the slot counted under this task's id (a leftover is freed by reconcileSlots).
      return 'taken';
    }
    if (!this.deps.node.working().includes(account.id) || !account.usable) {
      // The account is being handed over (or went down) while this job was being taken: started
      // here now, its Midjourney messages would reach the next holder's gateway, not ours.
      await queue.freeSlot(account.id, id);
      await queue.putBack(id);
      return 'refused';
    }
    book.adopt(rec);
    this.mine.add(id);
    scheduler.startOn(rec, account);
    // Once STARTED is stored the task is the account's; the job has done its part (the next
    // job is taken meanwhile).
    void book.settled(id).then(() => queue.finish(id));
    return 'taken';
  }

  /** Fails a waiting task nobody runs, from this instance (persisted and announced here). */
  private async failHere(rec: TaskRecord, reason: string): Promise<Task> {
    this.deps.book.adopt(rec);
    this.mine.add(rec.task.id);
    return this.deps.fail(rec, reason);
  }
}
