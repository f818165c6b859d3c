/**
 * The engine's side of a cluster (SPEC §13): what happens to tasks when this instance takes an
 * account's lease (its STARTED/SUBMITTED/RUNNING tasks are adopted from the store, then the
 * gateway connects and the channel's history is read as after a restart), when it gives one up
 * (its gateway closes, its tasks are let go once their writes are done), when a waiting task
 * becomes ours, and when a peer announces a change (the fronts here see it too).
 */
import type { Logger } from '../log.ts';
import type { Account } from './account.ts';
import type { AccountHealth, Health, TaskOrigin } from './api.ts';
import type { TaskBook } from './book.ts';
import type { ClusterHooks, ClusterNode, InstanceReport } from './cluster.ts';
import { EngineError } from './errors.ts';
import type { Scheduler } from './scheduler.ts';
import type { TaskRecord, TaskStore } from './store.ts';
import { isTerminal, type Task, withDefaults } from './task.ts';

export interface ClusterSideDeps {
  node: ClusterNode;
  accounts: ReadonlyMap<string, Account>;
  book: TaskBook;
  scheduler: Scheduler;
  store: TaskStore;
  logger: Logger;
  /** Emits the engine's `task` event (for a peer's change: without origin, so fronts that act on it do not act twice). */
  emitTask(task: Task, origin: TaskOrigin | undefined): void;
  cancel(taskId: string): Promise<unknown>;
  /** This instance must stop at once (it lost a lease it was using). */
  onLeaseLost(accountId: string): void;
}

const HELD_STATUSES = new Set(['STARTED', 'SUBMITTED', 'RUNNING']);

export class ClusterSide {
  constructor(private readonly deps: ClusterSideDeps) {}

  get node(): ClusterNode {
    return this.deps.node;
  }

  /**
   * Joins the cluster. Stored tasks nobody is placed to run (left from a single-instance past,
   * or an instance that died between storing and placing one) are put up for any instance.
   */
  async start(unplacedPending: TaskRecord[]): Promise<void> {
    const { node } = this.deps;
    await node.start(this.hooks());
    for (const rec of unplacedPending) await node.offerPending(rec.task.id, rec.meta.accountId);
  }

  /** A new waiting task: true when it runs here, false when the holder of its account took it. */
  async place(rec: TaskRecord): Promise<boolean> {
    const pinned = rec.meta.accountId;
    const here = await this.deps.node.placePending(rec.task.id, pinned);
    if (!here) await this.deps.book.forget(rec);
    return here;
  }

  /**
   * Cancels a task another instance works on: asks it over the channel and waits until the store
   * shows the task final. @throws {EngineError} UPSTREAM_FAILED when no instance confirmed it.
   */
  async cancelElsewhere(rec: TaskRecord, waitMs = 15_000): Promise<Task> {
    const id = rec.task.id;
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
   * `/health` in a cluster: every account, as this instance sees it if it holds the lease, else
   * as its holder last reported; ok while any account of the cluster is ready.
   */
  health(own: Health, queuedBy: Map<string, number>): Health {
    const { node, accounts } = this.deps;
    const view = node.view();
    const held = new Set(node.held());
    const elsewhere = new Map<string, { instance: string; state: string; running: number }>();
    let queue = this.deps.scheduler.queue.length;
    for (const inst of view.instances) {
      if (inst.id === node.instanceId) continue;
      queue += inst.report.queue;
      for (const a of inst.report.accounts) elsewhere.set(a.id, { instance: inst.id, ...a });
    }
    const list: AccountHealth[] = [...accounts.values()].map((a) => {
      if (held.has(a.id)) return a.health(queuedBy.get(a.id) ?? 0);
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
      claimed: (id) => this.claimed(id),
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
    };
  }

  private report(): InstanceReport {
    const accounts = this.deps.node.held().map((id) => {
      const a = this.deps.accounts.get(id);
      return { id, state: a?.state ?? 'connecting', running: a?.running.size ?? 0 };
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
    logger.info({ account: accountId, adopted: recs.length }, 'account leased here; its tasks adopted');
    account.start();
  }

  private async handOver(accountId: string): Promise<void> {
    const { accounts, book, scheduler, node } = this.deps;
    const account = accounts.get(accountId);
    if (!account) return;
    // Waiting tasks pinned to it go to the next holder.
    for (const id of scheduler.queue.snapshot()) {
      const rec = book.records.get(id);
      if (rec?.meta.accountId !== accountId) continue;
      scheduler.queue.remove(id);
      await book.forget(rec);
      await node.disown(id, accountId);
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

  private async claimed(taskId: string): Promise<void> {
    const { book, scheduler, store, node } = this.deps;
    const mine = book.records.get(taskId);
    if (mine && !isTerminal(mine.task.status)) return;
    const rec = await store.get(taskId);
    if (rec?.task.status !== 'PENDING') {
      node.donePending(taskId);
      return;
    }
    book.adopt(rec);
    scheduler.enqueue(taskId);
    this.deps.logger.info({ task: taskId }, 'waiting task taken over');
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
    if (mine && !isTerminal(mine.task.status)) return;
    book.summaries.set(task.id, { status: task.status, submitTime: task.submitTime ?? 0 });
    this.deps.emitTask(Object.freeze(task), undefined);
  }
}
