/**
 * The engine's side of a cluster (SPEC §13): what happens to tasks when this instance takes an
 * account's lease (its STARTED/SUBMITTED/RUNNING tasks are adopted from the store, then the
 * gateway connects and the channel's history is read as after a restart), when it gives one up
 * (its gateway closes, its tasks are let go once their writes are done), and when a peer
 * announces a change (the fronts here see it too). Waiting tasks are the shared line's
 * ({@link ClusterWork}); the engine reaches both through this one object.
 */
import type { Logger } from '../log.ts';
import type { Account } from './account.ts';
import type { AccountHealth, Health, TaskOrigin } from './api.ts';
import type { TaskBook } from './book.ts';
import type { ClusterHooks, ClusterNode, InstanceReport } from './cluster.ts';
import { ClusterForms } from './cluster-forms.ts';
import { ClusterWork } from './cluster-work.ts';
import { EngineError, type EngineErrorCode, ERROR_STATUS } from './errors.ts';
import { isAwaitingModal } from './modal-tasks.ts';
import type { Scheduler } from './scheduler.ts';
import type { SharedQueue } from './shared-queue.ts';
import type { TaskRecord, TaskStore } from './store.ts';
import { isTerminal, type Task, withDefaults } from './task.ts';

export interface ClusterSideDeps {
  node: ClusterNode;
  queue: SharedQueue;
  maxQueue(): number;
  fail(rec: TaskRecord, reason: string): Promise<Task>;
  accounts: ReadonlyMap<string, Account>;
  book: TaskBook;
  scheduler: Scheduler;
  store: TaskStore;
  logger: Logger;
  /** Emits the engine's `task` event (for a peer's change: without origin, so fronts that act on it do not act twice). */
  emitTask(task: Task, origin: TaskOrigin | undefined): void;
  cancel(taskId: string): Promise<unknown>;
  /** A finished task's seed, read here (this instance holds its account). */
  seedHere(taskId: string): Promise<string>;
  /** How long a seed DM may take: a peer's answer is waited for a little longer. */
  seedTimeoutMs: number;
  /** This instance must stop at once (it lost a lease it was using). */
  onLeaseLost(accountId: string): void;
}

const HELD_STATUSES = new Set(['STARTED', 'SUBMITTED', 'RUNNING']);

export class ClusterSide {
  /** The shared line: reserve a place, enqueue, and what was announced. */
  readonly work: ClusterWork;
  /** Prepared forms (MODAL): whoever ends a form's wait, and its timeout when its instance died. */
  readonly forms: ClusterForms;

  constructor(private readonly deps: ClusterSideDeps) {
    this.work = new ClusterWork({
      ...deps,
      queueTimeoutMs: () => {
        let max = 0;
        for (const a of deps.accounts.values()) max = Math.max(max, a.config.timeoutMinutes);
        return 3 * max * 60_000;
      },
    });
    this.forms = new ClusterForms({ ...deps, ttlMs: deps.node.ttlMs });
  }

  /**
   * Takes what a new task needs in the cluster before it is stored: a place in the line, or for a
   * prepared form its registered deadline. Returns how to give it back should the store fail.
   * @throws {EngineError} QUEUE_FULL
   */
  admit(rec: TaskRecord, form: boolean): Promise<() => void> {
    return form ? this.forms.register(rec) : this.work.reserve(rec);
  }

  get node(): ClusterNode {
    return this.deps.node;
  }

  /**
   * Joins the cluster with every stored task listed (for reads and lists) but none worked on
   * yet: the tasks of an account are taken up with its lease, waiting ones through the line
   * (stored PENDING tasks not in it yet are put there). Returns the highest creation order seen.
   */
  async start(all: TaskRecord[]): Promise<number> {
    const { node, book, queue } = this.deps;
    let seq = 0;
    for (const rec of all) {
      seq = Math.max(seq, rec.meta.seq);
      book.summaries.set(rec.task.id, { status: rec.task.status, submitTime: rec.task.submitTime ?? 0 });
    }
    await queue.start();
    await this.work.adoptWaiting(all);
    await this.forms.adopt(all);
    await node.start(this.hooks());
    return seq;
  }

  /**
   * Leaves the cluster (SIGTERM), in two steps around the engine's own stop: first no more work
   * is taken and submissions under way are let finish (a task left STARTED would be sent again by
   * the next holder); `leave` then frees the leases once nothing more will be written.
   */
  async quiesce(waitMs = 10_000): Promise<void> {
    await this.work.stop();
    // Forms prepared here time out from a peer's sweep from now on.
    this.forms.stop();
    const by = Date.now() + waitMs;
    const { accounts, book } = this.deps;
    const starting = () =>
      [...accounts.values()].some((a) =>
        [...a.running].some((id) => book.records.get(id)?.task.status === 'STARTED'),
      );
    while (starting() && Date.now() < by) await new Promise((r) => setTimeout(r, 50));
  }

  /** A change persisted here: the peers hear of it, and the line's count follows it. */
  announced(task: Readonly<Task>): void {
    this.deps.node.publishTask(JSON.stringify(task));
    this.work.announced(task);
  }

  async leave(): Promise<void> {
    await this.deps.node.stop();
    await this.deps.queue.stop();
  }

  /**
   * Cancels a task another instance works on: asks it over the channel and waits until the store
   * shows the task final. @throws {EngineError} UPSTREAM_FAILED when no instance confirmed it.
   */
  async cancelElsewhere(rec: TaskRecord, waitMs = 15_000): Promise<Task> {
    const id = rec.task.id;
    if (isAwaitingModal(rec.task)) {
      // A form is cancelled by whichever instance ends its wait first, wherever it was prepared.
      const cancelled = await this.forms.cancel(rec);
      if (cancelled) return cancelled;
      throw new EngineError('CONFLICT', `task ${id} is no longer waiting for its form`);
    }
    const waiting = await this.work.cancelWaiting(rec);
    if (waiting) return waiting;
    this.deps.node.requestCancel(id);
    const by = Date.now() + waitMs;
    while (Date.now() < by) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await this.deps.store.get(id);
      if (now && isTerminal(now.task.status)) return now.task;
    }
    throw new EngineError(
      'UPSTREAM_FAILED',
      `task ${id} runs on another instance, which did not confirm the cancel`,
    );
  }

  /**
   * The seed of a finished task whose account another instance holds: only that instance's
   * gateway receives Midjourney's DM, so it reads the seed and stores it on the task.
   * @throws {EngineError} the holder's error, or UPSTREAM_FAILED when no holder answered
   */
  async seedElsewhere(rec: TaskRecord): Promise<string> {
    const id = rec.task.id;
    const account = rec.task.discordId ?? '';
    const answer = await this.deps.node.askSeed(id, account, this.deps.seedTimeoutMs + 5000);
    if (!answer) {
      throw new EngineError(
        'UPSTREAM_FAILED',
        `no instance holding account ${account} answered for the seed of task ${id}`,
      );
    }
    if ('seed' in answer) return answer.seed;
    const code = answer.error.code as EngineErrorCode;
    throw new EngineError(code in ERROR_STATUS ? code : 'UPSTREAM_FAILED', answer.error.message);
  }

  /**
   * `/health` in a cluster: every account, as this instance sees it if it holds the lease, else
   * as its holder last reported; ok while any account of the cluster is ready.
   */
  health(own: Health, queuedBy: Map<string, number>): Health {
    const { node, accounts } = this.deps;
    const view = node.view();
    const held = new Set(node.held());
    const elsewhere = new Map<string, { instance: string; state: string; running: number }>();
    const queue = this.work.waiting;
    for (const inst of view.instances) {
      if (inst.id === node.instanceId) continue;
      for (const a of inst.report.accounts) elsewhere.set(a.id, { instance: inst.id, ...a });
    }
    const list: AccountHealth[] = [...accounts.values()].map((a) => {
      if (held.has(a.id)) return a.health((queuedBy.get(a.id) ?? 0) + this.work.pinnedTo(a.id));
      const e = elsewhere.get(a.id);
      return {
        id: a.id,
        state: (e?.state as AccountHealth['state'] | undefined) ?? 'connecting',
        reason: e ? `leased by instance ${e.instance}` : 'not leased by any instance yet',
        running: e?.running ?? 0,
        queued: 0,
      };
    });
    const ok = list.some((a) => a.state === 'ready');
    return {
      ...own,
      status: ok ? 'ok' : 'degraded',
      queue,
      accounts: list,
      instance: { id: node.instanceId, accounts: [...held] },
      cluster: { instances: Math.max(1, view.instances.length), queue },
    };
  }

  private hooks(): ClusterHooks {
    return {
      acquired: (id) => this.acquired(id),
      handOver: (id) => this.handOver(id),
      lost: (id) => this.deps.onLeaseLost(id),
      work: () => this.work.pull(),
      beat: async (sweepTurn) => {
        await this.work.count();
        if (!sweepTurn) return;
        await this.work.sweep();
        await this.forms.sweep();
      },
      remote: (json) => this.remote(json),
      cancel: (id) => {
        const rec = this.deps.book.records.get(id);
        if (rec && !isTerminal(rec.task.status)) {
          this.deps
            .cancel(id)
            .catch((err: unknown) =>
              this.deps.logger.warn(
                { task: id, err: (err as Error).message },
                'cancel asked by a peer failed',
              ),
            );
        }
      },
      report: () => this.report(),
      seed: (id) => this.deps.seedHere(id),
      seeded: (id) => {
        // The copy cached here lacks the seed: the next read takes the stored one.
        const rec = this.deps.book.records.get(id);
        if (rec && isTerminal(rec.task.status)) void this.deps.book.forget(rec);
      },
    };
  }

  private report(): InstanceReport {
    const accounts = this.deps.node.held().map((id) => {
      const a = this.deps.accounts.get(id);
      // A task whose result is being stored is still running to readers, and its account is
      // not idle: handed over now, its FINISHED would be written by nobody.
      return {
        id,
        state: a?.state ?? 'connecting',
        running: (a?.running.size ?? 0) + (a?.finishing.size ?? 0),
      };
    });
    return { accounts, queue: this.deps.scheduler.queue.length };
  }

  private async acquired(accountId: string): Promise<void> {
    const { accounts, book, scheduler, store, logger } = this.deps;
    const account = accounts.get(accountId);
    if (!account) return;
    const recs = (await store.all())
      .filter((r) => r.meta.accountId === accountId && HELD_STATUSES.has(r.task.status))
      .sort((a, b) => a.meta.seq - b.meta.seq);
    const front: string[] = [];
    for (const rec of recs) {
      const mine = book.records.get(rec.task.id);
      if (mine && !isTerminal(mine.task.status)) continue;
      book.adopt(rec);
      scheduler.recover(rec, front);
    }
    scheduler.putFirst(front);
    await this.work.adoptSlots(account, front);
    logger.info({ account: accountId, adopted: recs.length }, 'account leased here; its tasks adopted');
    account.start();
  }

  private async handOver(accountId: string): Promise<void> {
    const { accounts, book, scheduler } = this.deps;
    const account = accounts.get(accountId);
    if (!account) return;
    // STARTED tasks still to be sent from here are the next holder's to send.
    for (const id of scheduler.queue.snapshot()) {
      const rec = book.records.get(id);
      if (rec?.meta.accountId !== accountId) continue;
      scheduler.queue.remove(id);
      await book.forget(rec);
    }
    // Results being stored too: written from here no more, the next holder recovers them.
    const running = [...account.running, ...account.finishing]
      .map((id) => book.records.get(id))
      .filter((r): r is TaskRecord => !!r);
    // Their timers stop and nothing more is written from here; the next holder picks them up.
    for (const rec of running) scheduler.release(rec);
    await Promise.all(running.map((rec) => book.forget(rec)));
    await account.standBy('leased by another instance');
  }

  private remote(json: string): void {
    let task: Task;
    try {
      task = withDefaults(JSON.parse(json) as Task);
    } catch {
      return;
    }
    const { book } = this.deps;
    // A task this instance works on is announced by this instance alone.
    const mine = book.records.get(task.id);
    if (mine && isAwaitingModal(mine.task) && !isAwaitingModal(task)) {
      // Prepared here, its form came to another instance: it waits in the line now, not here.
      this.forms.unpark(task.id);
      void book.forget(mine);
    } else if (mine && !isTerminal(mine.task.status)) return;
    book.summaries.set(task.id, { status: task.status, submitTime: task.submitTime ?? 0 });
    this.deps.emitTask(Object.freeze(task), undefined);
  }
}
