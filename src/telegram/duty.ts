/**
 * Who shows the jobs in a cluster (SPEC §13): the instance holding the bot's lease. It keeps every
 * job's status message and sends its final, whichever instance received the request and whichever
 * runs the task (peers' task changes reach it over pub/sub, without their origin: the registry
 * supplies it), and in polling mode it is the one poller. A new holder takes the open jobs over
 * from the store — the same status message goes on being edited — as after a restart.
 */
import type { TaskOrigin } from '../engine/api.ts';
import { isTerminal, type Task } from '../engine/task.ts';
import type { BotRole, TelegramCluster, TelegramOrigin } from './cluster.ts';
import type { FrontContext } from './context.ts';
import type { Poller } from './poller.ts';
import { ProgressTracker } from './progress.ts';

export interface DutyOptions {
  ctx: FrontContext;
  cluster: TelegramCluster;
  /** A poller for this tenure (polling mode), none with a webhook. */
  poller?: () => Poller;
  /** How long a hand-over waits for the status edits and finals being sent. */
  settleMs: number;
  /** How often the open jobs are read back from the store (default 5 s). */
  reconcileMs?: number;
}

export class BotDuty implements BotRole {
  private tracker: ProgressTracker | undefined;
  private poller: Poller | undefined;
  /** Origins of the open jobs (a peer's change of a task comes without it). */
  private readonly origins = new Map<string, TelegramOrigin>();
  /** Jobs the tracker was already given (a late read from the store must not step back). */
  private readonly shown = new Set<string>();
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling = false;

  constructor(private readonly opts: DutyOptions) {}

  /** The tracker of this tenure, if this instance holds the lease. */
  get current(): ProgressTracker | undefined {
    return this.tracker;
  }

  /** Engine `task` listener. */
  onTask(task: Task, origin: TaskOrigin | undefined): void {
    const tracker = this.tracker;
    if (!tracker) return;
    const own = origin?.kind === 'telegram' ? origin : this.origins.get(task.id);
    if (own) this.shown.add(task.id);
    tracker.onTask(task, own ?? origin);
  }

  /** A job created on this instance: registered for whichever instance holds the lease. */
  async created(taskId: string, origin: TelegramOrigin): Promise<void> {
    if (this.tracker) this.origins.set(taskId, origin);
    try {
      await this.opts.cluster.register(taskId, origin);
    } catch (err) {
      // The holder still learns of it from the task's next change only if it is ours; say so.
      this.opts.ctx.logger.error(
        { task: taskId, err: (err as Error).message },
        'telegram job not registered in Redis: its messages depend on this instance holding the bot',
      );
    }
  }

  registered(taskId: string, origin: TelegramOrigin): void {
    if (!this.tracker) return;
    this.origins.set(taskId, origin);
    void this.show(taskId, origin);
  }

  async acquired(): Promise<void> {
    const { ctx, cluster } = this.opts;
    const tracker = new ProgressTracker(ctx, (taskId) => {
      this.origins.delete(taskId);
      this.shown.delete(taskId);
      cluster.close(taskId).catch((err: Error) => {
        ctx.logger.warn({ task: taskId, err: err.message }, 'telegram job not taken off the registry');
      });
    });
    this.tracker = tracker;
    const open = await cluster.open();
    for (const [id, origin] of open) this.origins.set(id, origin);
    // Jobs the last holder was showing (their status message goes on), then any it never saw.
    await tracker.recover();
    for (const [id, origin] of open) await this.show(id, origin);
    if (this.tracker !== tracker) return;
    this.poller = this.opts.poller?.();
    this.poller?.start();
    this.reconcileTimer = setInterval(() => void this.reconcile(), this.opts.reconcileMs ?? 5000);
    this.reconcileTimer.unref();
    ctx.logger.info({ open: open.size }, 'telegram duty taken over');
  }

  /**
   * Reads the open jobs back from the store: a peer's change travels over Redis pub/sub, which
   * delivers at most once (a message published while a connection is re-established is gone),
   * so a job whose final change never arrived here gets its final from what is stored, and a
   * job registered while its announcement was lost gets its status message.
   */
  private async reconcile(): Promise<void> {
    const tracker = this.tracker;
    if (!tracker || this.reconciling) return;
    this.reconciling = true;
    try {
      const open = await this.opts.cluster.open();
      for (const [id, origin] of open) {
        if (this.tracker !== tracker) return;
        if (!this.origins.has(id)) this.origins.set(id, origin);
        if (!this.shown.has(id)) {
          await this.show(id, origin);
          continue;
        }
        const task = await this.opts.ctx.engine.get(id).catch(() => undefined);
        // Only an ended job is given again: a store read may be older than the last event seen,
        // and the tracker sends a final once however often it is told.
        if (task && isTerminal(task.status) && this.tracker === tracker) tracker.onTask(task, origin);
      }
    } catch (err) {
      this.opts.ctx.logger.warn({ err: (err as Error).message }, 'telegram open jobs not read back');
    } finally {
      this.reconciling = false;
    }
  }

  async released(lost: boolean): Promise<void> {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.reconcileTimer = undefined;
    const poller = this.poller;
    this.poller = undefined;
    await poller?.stop();
    const tracker = this.tracker;
    this.tracker = undefined;
    this.origins.clear();
    this.shown.clear();
    if (!tracker) return;
    // Handed over: what is being sent goes out before the next holder reads the store.
    if (!lost)
      await Promise.race([tracker.settle(), new Promise((r) => setTimeout(r, this.opts.settleMs).unref())]);
    tracker.stop();
  }

  /** Gives the tracker a job's current state from the store, unless its events came first. */
  private async show(taskId: string, origin: TelegramOrigin): Promise<void> {
    const tracker = this.tracker;
    if (!tracker || this.shown.has(taskId)) return;
    let task: Task | undefined;
    try {
      task = await this.opts.ctx.engine.get(taskId);
    } catch (err) {
      this.opts.ctx.logger.warn({ task: taskId, err: (err as Error).message }, 'telegram job not read');
      return;
    }
    if (!task) {
      await this.opts.cluster.close(taskId).catch(() => undefined);
      return;
    }
    if (this.tracker !== tracker || this.shown.has(taskId)) return;
    this.shown.add(taskId);
    tracker.onTask(task, origin);
  }
}
