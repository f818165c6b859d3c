/**
 * How the engine's parts are put together (SPEC §6): the book, the scheduler, the Discord side
 * (submit, dispatch, follow), the finisher, the read side and, with several instances on one
 * Redis, the cluster side. Each part reaches the others through small callbacks, bound here once,
 * so the {@link Engine} itself only speaks to the fronts.
 */
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Account } from './account.ts';
import { AccountCare } from './account-care.ts';
import type { TaskFacts, TaskOrigin } from './api.ts';
import { type Change, TaskBook } from './book.ts';
import { ClusterSide, type ClusterSideDeps } from './cluster-side.ts';
import { DiscordDispatch } from './dispatch.ts';
import { Finisher } from './finishing.ts';
import type { FollowContext } from './follow.ts';
import { TaskIndex } from './matcher.ts';
import type { EngineMetrics } from './metrics.ts';
import { TaskReads } from './reads.ts';
import type { ResultFilerOptions } from './results-store.ts';
import { Scheduler } from './scheduler.ts';
import { relaxFallback } from './speed-modes.ts';
import type { TaskRecord, TaskStore } from './store.ts';
import { CommandTable, clickCancel, ModalWaiters, type SubmitContext } from './submit.ts';
import { isTerminal, type Task } from './task.ts';

/** Fetches an input image (http(s) URL or data URI) under the SSRF policy. */
export type ImageFetcher = (url: string) => Promise<{ bytes: Buffer; contentType: string; filename: string }>;

export interface EngineOptions {
  config: Config;
  mode: 'live' | 'sandbox';
  store: TaskStore;
  logger: Logger;
  fetchImage: ImageFetcher;
  /** Returns the banned word a prompt contains, or null. */
  bannedWord: (prompt: string) => string | null;
  notifier?: { notify(task: Task, url: string, facts?: TaskFacts): void; drain(): Promise<void> };
  metrics?: EngineMetrics;
  /** Gateway reconnect backoff and timings, small in tests. */
  backoff?: { minMs: number; maxMs: number };
  /** How long a modal may take to open after its button click. */
  modalTimeoutMs?: number;
  /** Grace after Midjourney deletes a progress message before a job without result is failed. */
  deleteGraceMs?: number;
  /** How often each account asks `/info` and `/settings` (SPEC §14: 30 min); 0: never. */
  infoRefreshMs?: number;
  /** How long a seed DM may take (default 30 s). */
  seedTimeoutMs?: number;
  /**
   * Several instances on one Redis (SPEC §13): accounts run only while this instance holds their
   * lease, waiting tasks are in the shared BullMQ line; `onLeaseLost` must stop the process
   * (another instance drives the account now).
   */
  cluster?: Pick<ClusterSideDeps, 'node' | 'queue' | 'onLeaseLost'>;
  /** Where finished results are stored (SPEC §6.7); none: results keep their Discord links. */
  images?: ResultFilerOptions['archive'];
  /** Result-copy timings, small in tests. */
  imageTiming?: Pick<
    ResultFilerOptions,
    'download' | 'retryEveryMs' | 'refreshEveryMs' | 'readWaitMs' | 'onTiming'
  >;
}

/** What the parts need of the engine itself. */
export interface EngineHooks {
  /** The Discord side of a task that took a slot. */
  submit(rec: TaskRecord, account: Account): void;
  cancel(taskId: string): Promise<Task>;
  /** A finished task's seed, read through this instance's own gateway. */
  seed(taskId: string): Promise<string>;
  /** The engine's `task` event. */
  emitTask(task: Task, origin: TaskOrigin | undefined): void;
}

export interface EngineParts {
  log: Logger;
  care: AccountCare;
  book: TaskBook;
  scheduler: Scheduler;
  submitCtx: SubmitContext;
  dispatch: DiscordDispatch;
  finisher: Finisher;
  reads: TaskReads;
  cluster: ClusterSide | undefined;
}

/** Builds the engine's parts around `accounts` (filled by the engine once they exist). */
export function wireEngine(
  opts: EngineOptions,
  accounts: Map<string, Account>,
  hooks: EngineHooks,
): EngineParts {
  const log = opts.logger.child({ room: 'engine' });
  const commands = new CommandTable(opts.config.midjourney.commands);
  const index = new TaskIndex();
  const care = new AccountCare({
    commands,
    logger: log,
    infoRefreshMs: opts.infoRefreshMs ?? 30 * 60_000,
    // The sandbox's clock runs `speed` times faster; its blocks do too.
    blockScale: opts.mode === 'sandbox' ? opts.config.sandbox.speed : 1,
    seedTimeoutMs: opts.seedTimeoutMs ?? 30_000,
  });
  const announce = (task: Readonly<Task>, notifyUrl: string | null, facts: TaskFacts): void => {
    cluster?.announced(task);
    hooks.emitTask(task as Task, facts.origin);
    if (notifyUrl && task.status !== 'PENDING' && task.status !== 'STARTED') {
      opts.notifier?.notify(task as Task, notifyUrl, facts);
    }
  };
  // The callbacks below name parts built further down: they are only called once all exist.
  const book: TaskBook = new TaskBook({
    store: opts.store,
    logger: log,
    announce,
    queuePosition: (id): number | null => scheduler.queue.position(id),
  });
  const fail = (rec: TaskRecord, reason: string): Promise<Task> => finisher.fail(rec, reason);
  const scheduler: Scheduler = new Scheduler({
    accounts,
    book,
    index,
    logger: log,
    metrics: opts.metrics,
    maxQueue: () => opts.config.settings.maxQueue,
    submit: hooks.submit,
    fail,
  });
  const finisher = new Finisher({
    book,
    scheduler,
    accounts,
    logger: log,
    metrics: opts.metrics,
    cdnOrigin: opts.config.proxy.cdn,
    archive: opts.images,
    ...(opts.imageTiming ? { timing: opts.imageTiming } : {}),
  });
  const liveRecord = (id: string): TaskRecord | undefined => {
    const rec = book.records.get(id);
    return rec && !isTerminal(rec.task.status) ? rec : undefined;
  };
  const mutate = (rec: TaskRecord, change: Change) => book.mutate(rec, change);
  const submitCtx: SubmitContext = {
    proxy: opts.config.proxy,
    commands,
    index,
    fetchImage: opts.fetchImage,
    logger: log,
    modals: new ModalWaiters(opts.modalTimeoutMs ?? 60_000),
    speeds: care.speeds,
    mutate,
    parentOf: (rec) => {
      const parentId = rec.task.params.parentId;
      return typeof parentId === 'string' ? book.records.get(parentId) : undefined;
    },
  };
  const followCtx: FollowContext = {
    cdnOrigin: opts.config.proxy.cdn,
    mutate,
    finish: (rec, change) => finisher.finish(rec, change),
    fail,
    requeue: (rec, account) => scheduler.requeue(rec, account),
    disableAccount: (account, reason) => account.disable(reason),
    clickCancel: (rec, account) => clickCancel(submitCtx, rec, account),
    relaxFallback: (rec, account) =>
      relaxFallback(care.speeds, rec, account, {
        fail: (r, reason) => void fail(r, reason),
        requeue: (r, a) => scheduler.requeue(r, a),
        drain: () => scheduler.scheduleDrain(),
      }),
    index,
    logger: log,
    deleteGraceMs: opts.deleteGraceMs ?? 3000,
    isLive: (id) => liveRecord(id) !== undefined,
  };
  const dispatch = new DiscordDispatch({
    book,
    index,
    scheduler,
    follow: followCtx,
    modals: submitCtx.modals,
    care,
    logger: log,
    metrics: opts.metrics,
    liveRecord,
    fail,
  });
  const cluster = opts.cluster
    ? new ClusterSide({
        ...opts.cluster,
        ...{ accounts, book, scheduler, store: opts.store },
        logger: log,
        maxQueue: () => opts.config.settings.maxQueue,
        fail,
        emitTask: hooks.emitTask,
        cancel: hooks.cancel,
        seedHere: (id) => hooks.seed(id),
        seedTimeoutMs: opts.seedTimeoutMs ?? 30_000,
      })
    : undefined;
  const reads = new TaskReads({
    book,
    store: opts.store,
    onRead: (rec) => finisher.results.onRead(rec),
    ...(cluster ? { cluster: cluster.work } : {}),
  });
  return { log, care, book, scheduler, submitCtx, dispatch, finisher, reads, cluster };
}
