/**
 * The engine: requests become tasks, tasks wait in one queue, accounts of the pool take them, and
 * Midjourney's messages move them to a final status (SPEC §3, §6). Every change is persisted
 * before it is announced; nothing here knows of HTTP or Telegram. The parts live beside it:
 * intake (what a request must mean), the book (changes, persistence, what readers see), the
 * scheduler (queue, slots, timeouts, recovery), dispatch (Discord's events), follow (a message's
 * effect on its task) and submit (the interactions).
 */
import { EventEmitter } from 'node:events';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Action } from '../midjourney/actions.ts';
import { fixParameterDashes, isVideoPrompt, parseCustomId } from '../midjourney/index.ts';
import { Account } from './account.ts';
import type { AccountCare } from './account-care.ts';
import type {
  ActionInput,
  BlendInput,
  CommonInput,
  DescribeInput,
  EngineApi,
  EngineEvents,
  Health,
  ImagineInput,
  ShortenInput,
  TaskFacts,
  TaskOrigin,
  VideoInput,
} from './api.ts';
import type { TaskBook } from './book.ts';
import type { ClusterSide } from './cluster-side.ts';
import { dataProblem } from './data-limits.ts';
import type { DiscordDispatch } from './dispatch.ts';
import { EngineError } from './errors.ts';
import { describeRefusal, failReasonOf } from './fail-reasons.ts';
import type { Finisher } from './finishing.ts';
import { hostImages } from './hosting.ts';
import { newShortTaskId, newTaskId } from './ids.ts';
import { actionSpec, newRecord, type TaskSpec } from './intake.ts';
import { AWAITING_MODAL, followUpPrompt, isAwaitingModal } from './modal-tasks.ts';
import type { TaskReads } from './reads.ts';
import type { Scheduler } from './scheduler.ts';
import type { TaskRecord } from './store.ts';
import { clickCancel, type SubmitContext, submitTask } from './submit.ts';
import { pruneSummaries, SUMMARY_SWEEP_MS } from './summaries.ts';
import { isTerminal, type Task, type TaskStatus } from './task.ts';
import { type EngineOptions, wireEngine } from './wiring.ts';

export type { EngineOptions, ImageFetcher } from './wiring.ts';

/** The engine behind every front. */
export class Engine extends EventEmitter<EngineEvents> implements EngineApi {
  readonly accounts = new Map<string, Account>();
  private readonly book: TaskBook;
  private readonly scheduler: Scheduler;
  private readonly dispatch: DiscordDispatch;
  private readonly log: Logger;
  private seq = 0;
  private stopping = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly submitCtx: SubmitContext;
  private readonly care: AccountCare;
  private readonly cluster: ClusterSide | undefined;
  private readonly finisher: Finisher;
  private readonly reads: TaskReads;

  constructor(private readonly opts: EngineOptions) {
    super();
    const parts = wireEngine(opts, this.accounts, {
      submit: (rec, account) => this.submit(rec, account),
      cancel: (id) => this.cancel(id),
      seed: (id) => this.seed(id, true),
      emitTask: (task, origin) => this.emit('task', task, origin),
    });
    this.log = parts.log;
    this.care = parts.care;
    this.book = parts.book;
    this.scheduler = parts.scheduler;
    this.submitCtx = parts.submitCtx;
    this.dispatch = parts.dispatch;
    this.finisher = parts.finisher;
    this.reads = parts.reads;
    this.cluster = parts.cluster;
    for (const acc of opts.config.accounts.filter((a) => a.enable)) this.addAccount(acc);
  }

  get mode(): 'live' | 'sandbox' {
    return this.opts.mode;
  }

  /** Loads stored tasks (restart recovery, SPEC §3.3) and connects every account. */
  async start(): Promise<void> {
    const all = (await this.opts.store.all()).sort((a, b) => a.meta.seq - b.meta.seq);
    const front: string[] = [];
    // In a cluster, tasks are worked on where their account's lease is (ClusterSide.start).
    for (const rec of this.cluster ? [] : all) {
      this.seq = Math.max(this.seq, rec.meta.seq);
      if (isTerminal(rec.task.status)) {
        this.book.summaries.set(rec.task.id, {
          status: rec.task.status,
          submitTime: rec.task.submitTime ?? 0,
        });
        continue;
      }
      this.book.adopt(rec);
      this.scheduler.recover(rec, front);
    }
    this.scheduler.putFirst(front);
    if (!this.cluster) for (const account of this.accounts.values()) account.start();
    this.updateAccountGauge();
    this.scheduler.start();
    this.sweepTimer = setInterval(
      () => pruneSummaries(this.book.summaries, this.opts.config.store.expiredDates),
      SUMMARY_SWEEP_MS,
    );
    this.sweepTimer.unref();
    if (this.cluster) this.seq = await this.cluster.start(all);
  }

  /** Stops taking work, lets stored state settle, closes every socket. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.care.stop();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.cluster?.quiesce();
    this.scheduler.stop();
    // Copies in flight are cut short; their tasks finish with the Discord link.
    await this.finisher.results.stop();
    await this.book.flush();
    await Promise.allSettled([...this.accounts.values()].map((a) => a.stop()));
    await this.opts.notifier?.drain();
    // Last: the leases go once nothing more will be written, so the next holder reads it all.
    await this.cluster?.leave();
  }

  // ---------------------------------------------------------------- intake

  async imagine(input: ImagineInput): Promise<Task> {
    const prompt = fixParameterDashes(input.prompt);
    this.checkPrompt(prompt);
    // `--video` makes it a video job (SPEC §14); it is still sent as `/imagine`.
    return this.create(isVideoPrompt(prompt) ? 'VIDEO' : 'IMAGINE', input, {
      prompt,
      images: input.images ?? [],
      params: {},
      bot: input.bot ?? 'midjourney',
    });
  }

  async shorten(input: ShortenInput): Promise<Task> {
    const prompt = fixParameterDashes(input.prompt);
    this.checkPrompt(prompt);
    return this.create('SHORTEN', input, { prompt, images: [], params: {}, bot: input.bot ?? 'midjourney' });
  }

  async video(input: VideoInput): Promise<Task> {
    const prompt = fixParameterDashes(input.prompt);
    this.checkPrompt(prompt);
    const params: Record<string, unknown> = { motion: input.motion };
    if (input.loop && !input.endImage) params.loop = true;
    if (input.batchSize) params.batchSize = input.batchSize;
    const images = input.endImage ? [input.image, input.endImage] : [input.image];
    return this.create('VIDEO', input, { prompt, images, params });
  }

  /** `here`: read through this instance's gateway even in a cluster (a peer holding none asked). */
  async seed(taskId: string, here = false): Promise<string> {
    const rec = await this.reads.record(taskId);
    if (!rec) throw new EngineError('NOT_FOUND', `task ${taskId} not found`);
    if (rec.task.seed) return rec.task.seed;
    if (rec.task.status !== 'FINISHED' || !rec.task.messageId) {
      throw new EngineError(
        'CONFLICT',
        `task ${taskId} is ${rec.task.status} and has no result to read a seed from`,
      );
    }
    // The DM comes to the gateway of the account's lease holder (SPEC §13): that instance reads it.
    const elsewhere = this.cluster && !here && !this.cluster.node.holds(rec.task.discordId ?? '');
    if (elsewhere) return this.cluster.seedElsewhere(rec);
    const account = rec.task.discordId ? this.accounts.get(rec.task.discordId) : undefined;
    if (!account || account.state === 'disabled') {
      throw new EngineError(
        'NO_ACCOUNT',
        `account ${rec.task.discordId ?? '?'} of task ${taskId} is not available`,
      );
    }
    return this.care.seedOf(rec, account, (r, seed) =>
      this.book.annotate(r, (t) => {
        t.seed = seed;
      }),
    );
  }

  async describe(input: DescribeInput): Promise<Task> {
    return this.create('DESCRIBE', input, { prompt: '', images: [input.image], params: {} });
  }

  async blend(input: BlendInput): Promise<Task> {
    return this.create('BLEND', input, {
      prompt: '',
      images: input.images,
      params: input.dimensions ? { dimensions: input.dimensions } : {},
      dimensions: input.dimensions,
    });
  }

  async action(input: ActionInput): Promise<Task> {
    const parent = await this.reads.record(input.taskId);
    if (!parent) throw new EngineError('NOT_FOUND', `task ${input.taskId} not found`);
    if (parseCustomId(input.customId)?.action === 'CANCEL_JOB') {
      if (isTerminal(parent.task.status)) {
        throw new EngineError('CONFLICT', `task ${parent.task.id} is already ${parent.task.status}`);
      }
      return this.cancel(parent.task.id);
    }
    const { action, spec } = actionSpec(parent, input, (p) => this.checkPrompt(p));
    return this.create(action, input, spec);
  }

  /**
   * A follow-up whose form the caller fills later (MODAL, SPEC §12.2): the task is stored but
   * waits outside the queue, holding no slot, until {@link release}, or fails after its account's
   * `timeoutMinutes`. The button is checked now; the prompt and mask at release.
   */
  async prepare(input: Omit<ActionInput, 'prompt' | 'mask'>): Promise<Task> {
    const parent = await this.reads.record(input.taskId);
    if (!parent) throw new EngineError('NOT_FOUND', `task ${input.taskId} not found`);
    const { action, spec } = actionSpec(parent, input, (p) => this.checkPrompt(p), true);
    return this.create(action, input, spec);
  }

  /** Gives a prepared task its form's prompt (and mask) and queues it. */
  async release(taskId: string, form: { prompt?: string; mask?: string }): Promise<Task> {
    const rec = await this.reads.record(taskId);
    if (!rec) throw new EngineError('NOT_FOUND', `task ${taskId} not found`);
    if (!isAwaitingModal(rec.task))
      throw new EngineError('CONFLICT', `task ${taskId} is not waiting for a form`);
    const parent = await this.reads.record(String(rec.task.params.parentId ?? ''));
    const info = parseCustomId(String(rec.task.params.customId ?? ''));
    if (!info || !parent) throw new EngineError('NOT_FOUND', `the parent of task ${taskId} is gone`);
    const prompt = followUpPrompt(info, form, parent.task);
    if (prompt) this.checkPrompt(prompt);
    const giveBack = this.scheduler.reserve();
    if (this.cluster && !(await this.cluster.forms.claim(taskId))) {
      giveBack();
      throw new EngineError('CONFLICT', `task ${taskId} is no longer waiting for its form`);
    }
    this.scheduler.unpark(taskId);
    this.book.mutate(rec, (t, m) => {
      const { [AWAITING_MODAL]: _waiting, ...params } = t.params;
      t.params = params;
      if (prompt) t.prompt = prompt;
      if (form.mask) m.mask = form.mask;
      m.queuedAtMs = Date.now();
    });
    giveBack();
    if (this.cluster) await this.cluster.work.enqueue(rec);
    else this.scheduler.enqueue(taskId);
    await this.book.settled(taskId);
    return (this.book.view(taskId) ?? rec.task) as Task;
  }

  /** Hosts images on Discord without a job; returns their CDN URLs (`upload-discord-images`). */
  hostImages(images: string[]): Promise<string[]> {
    return hostImages(this.submitCtx, this.accounts.values(), this.opts.config.proxy.cdn, images);
  }

  async cancel(taskId: string): Promise<Task> {
    const rec = await this.reads.record(taskId);
    if (!rec) throw new EngineError('NOT_FOUND', `task ${taskId} not found`);
    if (isTerminal(rec.task.status)) {
      throw new EngineError('CONFLICT', `task ${taskId} is already ${rec.task.status}`);
    }
    // A form's wait is ended by whichever instance comes first (ClusterForms), held here or not.
    if (this.cluster && (this.book.records.get(taskId) !== rec || isAwaitingModal(rec.task)))
      return this.cluster.cancelElsewhere(rec);
    if (rec.task.status === 'PENDING') {
      this.scheduler.queue.remove(taskId);
      return this.fail(rec, 'cancelled');
    }
    this.book.mutate(rec, (_t, m) => {
      m.cancelRequested = true;
    });
    const account = rec.meta.accountId ? this.accounts.get(rec.meta.accountId) : undefined;
    if (account && rec.task.messageHash && (rec.meta.cancelMessageId || rec.meta.progressMessageId)) {
      try {
        await clickCancel(this.submitCtx, rec, account);
      } catch (err) {
        // The job still runs (and costs): it stays tracked, and the caller hears Discord's reason.
        this.book.mutate(rec, (_t, m) => {
          m.cancelRequested = false;
        });
        const why = describeRefusal(err);
        this.log.warn({ task: taskId, err: why }, 'Discord refused the cancel click');
        throw new EngineError('UPSTREAM_FAILED', `Discord refused to cancel the job: ${why}`);
      }
    }
    return this.fail(rec, 'cancelled');
  }

  get(taskId: string): Promise<Task | undefined> {
    return this.reads.get(taskId);
  }

  /** The task as `/task/fetch` serves it, already JSON (the persisted snapshot, not re-serialised). */
  getJson(taskId: string): Promise<string | undefined> {
    return this.reads.getJson(taskId);
  }

  getJsonMany(ids: readonly string[]): Promise<(string | undefined)[]> {
    return this.reads.getJsonMany(ids);
  }

  facts(taskId: string): Promise<TaskFacts | undefined> {
    return this.reads.facts(taskId);
  }

  list(filter: { status?: TaskStatus; limit: number }): Promise<Task[]> {
    return this.reads.list(filter);
  }

  health(): Health {
    const queuedBy = this.scheduler.queuedByAccount();
    const accounts = [...this.accounts.values()].map((a) => a.health(queuedBy.get(a.id) ?? 0));
    const ok = accounts.some((a) => a.state === 'ready');
    const own: Health = {
      status: ok ? 'ok' : 'degraded',
      mode: this.opts.mode,
      accounts,
      queue: this.scheduler.queue.length,
      images: this.finisher.results.health(),
    };
    return this.cluster ? this.cluster.health(own, queuedBy) : own;
  }

  /** The origin a task was created with (for the fronts). */
  originOf(taskId: string): TaskOrigin | undefined {
    return this.book.records.get(taskId)?.meta.origin;
  }

  // ---------------------------------------------------------------- lifecycle

  private addAccount(acc: Config['accounts'][number]): void {
    const { opts } = this;
    const account = new Account({
      config: acc,
      proxy: opts.config.proxy,
      interactionIntervalMs: opts.config.settings.interactionIntervalMs,
      logger: this.log.child({ account: acc.channel_id }),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      onRestResponse: (info) =>
        opts.metrics?.restCalls.inc({ method: info.method, status: String(info.status) }),
    });
    this.accounts.set(account.id, account);
    account.on('dispatch', (t, d) => this.dispatch.onDispatch(account, t, d));
    account.on('state', (state, reason) => this.onAccountState(account, state, reason));
    let identified = false;
    account.gateway.on('ready', () => {
      if (identified) opts.metrics?.gatewayReconnects.inc({ kind: 'identify' });
      identified = true;
    });
    account.gateway.on('resumed', () => opts.metrics?.gatewayReconnects.inc({ kind: 'resume' }));
  }

  private checkPrompt(prompt: string): void {
    const word = this.opts.bannedWord(prompt);
    if (word)
      throw new EngineError('BANNED_WORD', `prompt contains the banned word "${word}"`, {
        'ban-words': word,
      });
  }

  private async create(action: Action, input: CommonInput, spec: TaskSpec): Promise<Task> {
    if (this.stopping) throw new EngineError('NO_ACCOUNT', 'the service is shutting down');
    // A front that forgot to bound `data` must not store a value that cannot be copied back.
    const dataIssue = dataProblem(input.data);
    if (dataIssue) throw new EngineError('INVALID_INPUT', dataIssue);
    const accounts = [...this.accounts.values()];
    if (accounts.length === 0 || accounts.every((a) => a.state === 'disabled')) {
      throw new EngineError('NO_ACCOUNT', 'no Midjourney account available');
    }
    // A prepared task (MODAL) takes no queue place until its release.
    const giveBack = spec.park ? () => {} : this.scheduler.reserve();
    const now = Date.now();
    const rec = newRecord(
      input.shortId ? newShortTaskId(now) : newTaskId(now),
      action,
      input,
      spec,
      ++this.seq,
      this.opts.config.settings.notifyUrl,
      now,
    );
    const id = rec.task.id;
    let back = giveBack;
    try {
      // In a cluster the place is counted for every instance (SPEC §13), before it is stored.
      if (this.cluster) back = await this.cluster.admit(rec, !!spec.park).finally(giveBack);
      await this.book.insert(rec);
    } catch (err) {
      back();
      if (err instanceof EngineError) throw err;
      throw new EngineError('STORE_FAILED', `could not store the task: ${(err as Error).message}`);
    }
    this.log.info({ task: id, action, status: 'PENDING' }, 'task created');
    const pinned = spec.pinnedTo ? this.accounts.get(spec.pinnedTo) : undefined;
    if (spec.pinnedTo && (!pinned || pinned.state === 'disabled' || pinned.state === 'paused')) {
      giveBack();
      return this.fail(rec, `account ${spec.pinnedTo} unavailable: ${pinned?.reason ?? 'not configured'}`);
    }
    giveBack();
    if (spec.park) (this.cluster?.forms ?? this.scheduler).park(rec);
    else if (!this.cluster) this.scheduler.enqueue(id);
    let view = this.book.view(id) as Task;
    if (this.cluster && !spec.park) {
      // Its place was taken with the reservation; asked before the job exists, so no taker's
      // announcement can overtake this first one.
      const [place] = await this.cluster.work.places([id]);
      view = Object.freeze({ ...view, queuePosition: place ?? null });
      // In line for the whole cluster: the instance that takes it announces it from then on.
      await this.cluster.work.enqueue(rec);
    }
    this.emit('task', view, rec.meta.origin);
    return view;
  }

  /** The Discord side of a task that took a slot; SUBMITTED once Discord accepted it. */
  private submit(rec: TaskRecord, account: Account): void {
    submitTask(this.submitCtx, rec, account).then(
      () => {
        this.book.mutate(rec, (t, m) => {
          if (t.status === 'STARTED') t.status = 'SUBMITTED';
          // Uploaded: no later step or restart needs the bytes, and every later write of the
          // record (one per progress step) would carry megabytes of base64 along.
          m.inputImages = [];
          delete m.mask;
        });
      },
      (err: unknown) => {
        const reason = failReasonOf(err);
        if (reason.disable) account.disable(reason.disable);
        void this.fail(rec, reason.text);
      },
    );
  }

  // ---------------------------------------------------------------- transitions

  private fail(rec: TaskRecord, reason: string): Promise<Task> {
    return this.finisher.fail(rec, reason);
  }

  private onAccountState(account: Account, state: Account['state'], reason: string | null): void {
    this.log.info({ account: account.id, state, reason }, 'account state');
    this.updateAccountGauge();
    this.emit('account', account.health(0));
    if (state === 'ready') {
      this.care.onReady(account);
      this.scheduler.scheduleDrain();
    }
    if (state === 'disabled') this.dispatch.onAccountDisabled(account, reason);
    if (state === 'paused') this.dispatch.onAccountDisabled(account, reason, true);
  }

  private updateAccountGauge(): void {
    const g = this.opts.metrics?.accounts;
    if (!g) return;
    for (const s of ['connecting', 'ready', 'reconnecting', 'paused', 'disabled']) {
      g.set({ state: s }, [...this.accounts.values()].filter((a) => a.state === s).length);
    }
  }
}
