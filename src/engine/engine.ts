/**
 * The engine: requests become tasks, tasks wait in one queue, accounts of the pool take them, and
 * Midjourney's messages move them to a final status (SPEC §3, §6). Every change is persisted
 * before it is announced; nothing here knows of HTTP or Telegram.
 */
import { EventEmitter } from 'node:events';
import type { Config } from '../config.ts';
import type { DiscordMessage } from '../discord/types.ts';
import { messageDeleteSchema, messageSchema } from '../discord/types.ts';
import type { Logger } from '../log.ts';
import type { Action } from '../midjourney/actions.ts';
import { isFollowUp } from '../midjourney/actions.ts';
import { isMidjourneyAuthor, parseCustomId } from '../midjourney/index.ts';
import { Account } from './account.ts';
import type {
  ActionInput,
  BlendInput,
  CommonInput,
  DescribeInput,
  EngineApi,
  EngineEvents,
  Health,
  ImagineInput,
  TaskOrigin,
} from './api.ts';
import { EngineError } from './errors.ts';
import { applyMessage, type FollowContext } from './follow.ts';
import { hostImages } from './hosting.ts';
import { newShortTaskId, newTaskId } from './ids.ts';
import { TaskIndex } from './matcher.ts';
import type { EngineMetrics } from './metrics.ts';
import { AWAITING_MODAL, followUpPrompt, isAwaitingModal, parkedTimeoutReason } from './modal-tasks.ts';
import { TaskQueue } from './queue.ts';
import type { TaskRecord, TaskStore } from './store.ts';
import { CommandTable, clickCancel, ModalWaiters, type SubmitContext, submitTask } from './submit.ts';
import { blankTask, isTerminal, type Task, type TaskStatus } from './task.ts';

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
  notifier?: { notify(task: Task, url: string, origin?: TaskOrigin): void; drain(): Promise<void> };
  metrics?: EngineMetrics;
  /** Gateway reconnect backoff and timings, small in tests. */
  backoff?: { minMs: number; maxMs: number };
  /** How long a modal may take to open after its button click. */
  modalTimeoutMs?: number;
  /** Grace after Midjourney deletes a progress message before a job without result is failed. */
  deleteGraceMs?: number;
}

const MAX_CACHED_TERMINAL = 2000;

/** The engine behind both fronts. */
export class Engine extends EventEmitter<EngineEvents> implements EngineApi {
  readonly accounts = new Map<string, Account>();
  private readonly records = new Map<string, TaskRecord>();
  private readonly summaries = new Map<string, { status: TaskStatus; submitTime: number }>();
  private readonly terminalOrder: string[] = [];
  private readonly queue = new TaskQueue();
  private readonly index = new TaskIndex();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly commands: CommandTable;
  private readonly log: Logger;
  private seq = 0;
  private queueTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private drainScheduled = false;
  private readonly submitCtx: SubmitContext;
  private readonly followCtx: FollowContext;

  constructor(private readonly opts: EngineOptions) {
    super();
    this.log = opts.logger.child({ room: 'engine' });
    this.commands = new CommandTable(opts.config.midjourney.commands);
    for (const acc of opts.config.accounts.filter((a) => a.enable)) {
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
      account.on('dispatch', (t, d) => this.onDispatch(account, t, d));
      account.on('state', (state, reason) => this.onAccountState(account, state, reason));
      let identified = false;
      account.gateway.on('ready', () => {
        if (identified) opts.metrics?.gatewayReconnects.inc({ kind: 'identify' });
        identified = true;
      });
      account.gateway.on('resumed', () => opts.metrics?.gatewayReconnects.inc({ kind: 'resume' }));
    }
    this.submitCtx = {
      proxy: opts.config.proxy,
      commands: this.commands,
      index: this.index,
      fetchImage: opts.fetchImage,
      logger: this.log,
      modals: new ModalWaiters(opts.modalTimeoutMs ?? 60_000),
      mutate: (rec, change) => this.mutate(rec, change),
      parentOf: (rec) => this.parentOf(rec),
    };
    this.followCtx = {
      cdnOrigin: opts.config.proxy.cdn,
      mutate: (rec, change) => this.mutate(rec, change),
      finish: (rec, change) => this.finish(rec, change),
      fail: (rec, reason) => this.fail(rec, reason),
      requeue: (rec, account) => this.requeue(rec, account),
      disableAccount: (account, reason) => account.disable(reason),
      clickCancel: (rec, account) => clickCancel(this.submitCtx, rec, account),
      index: this.index,
      logger: this.log,
      deleteGraceMs: opts.deleteGraceMs ?? 3000,
      isLive: (id) => this.liveRecord(id) !== undefined,
    };
  }

  get mode(): 'live' | 'sandbox' {
    return this.opts.mode;
  }

  /** Loads stored tasks (restart recovery, SPEC §3.3) and connects every account. */
  async start(): Promise<void> {
    const all = (await this.opts.store.all()).sort((a, b) => a.meta.seq - b.meta.seq);
    const front: string[] = [];
    for (const rec of all) {
      this.seq = Math.max(this.seq, rec.meta.seq);
      this.summaries.set(rec.task.id, { status: rec.task.status, submitTime: rec.task.submitTime ?? 0 });
      if (isTerminal(rec.task.status)) continue;
      this.records.set(rec.task.id, rec);
      this.recover(rec, front);
    }
    for (const id of front.reverse()) this.queue.unshift(id);
    this.opts.metrics?.queueLength.set(this.queue.length);
    for (const account of this.accounts.values()) account.start();
    this.updateAccountGauge();
    this.queueTimer = setInterval(() => this.expireQueued(), 1000);
    this.queueTimer.unref();
  }

  /** Stops taking work, lets stored state settle, closes every socket. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.queueTimer) clearInterval(this.queueTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.chains.values()]);
    await Promise.allSettled([...this.accounts.values()].map((a) => a.stop()));
    await this.opts.notifier?.drain();
  }

  // ---------------------------------------------------------------- intake

  async imagine(input: ImagineInput): Promise<Task> {
    this.checkPrompt(input.prompt);
    return this.create('IMAGINE', input, {
      prompt: input.prompt,
      images: input.images ?? [],
      params: {},
    });
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
    return this.followUp(input, false);
  }

  /**
   * A follow-up whose form the caller fills later (MODAL, SPEC §12.2): the task is created and
   * stored but waits outside the queue until {@link release}, or fails after its account's
   * `timeoutMinutes`. The button is checked now; the prompt and mask at release.
   */
  async prepare(input: Omit<ActionInput, 'prompt' | 'mask'>): Promise<Task> {
    return this.followUp(input, true);
  }

  /** Gives a prepared task its form's prompt (and mask) and queues it. */
  async release(taskId: string, form: { prompt?: string; mask?: string }): Promise<Task> {
    const rec = await this.getRecord(taskId);
    if (!rec) throw new EngineError('NOT_FOUND', `task ${taskId} not found`);
    if (!isAwaitingModal(rec.task))
      throw new EngineError('CONFLICT', `task ${taskId} is not waiting for a form`);
    const info = parseCustomId(String(rec.task.params.customId ?? ''));
    const parent = this.parentOf(rec) ?? (await this.getRecord(String(rec.task.params.parentId ?? '')));
    if (!info || !parent) throw new EngineError('NOT_FOUND', `the parent of task ${taskId} is gone`);
    const prompt = followUpPrompt(info, form, parent.task);
    if (prompt) this.checkPrompt(prompt);
    if (this.queue.length >= this.opts.config.settings.maxQueue) {
      throw new EngineError('QUEUE_FULL', 'queue is full');
    }
    const timer = this.timers.get(taskId);
    if (timer) clearTimeout(timer);
    this.timers.delete(taskId);
    this.mutate(rec, (t, m) => {
      delete t.params[AWAITING_MODAL];
      if (prompt) t.prompt = prompt;
      if (form.mask) m.mask = form.mask;
      m.queuedAtMs = Date.now();
    });
    this.queue.push(taskId);
    this.opts.metrics?.queueLength.set(this.queue.length);
    await this.chains.get(taskId);
    const view = this.view(rec);
    this.scheduleDrain();
    return view;
  }

  private async followUp(input: ActionInput, park: boolean): Promise<Task> {
    const parent = await this.getRecord(input.taskId);
    if (!parent) throw new EngineError('NOT_FOUND', `task ${input.taskId} not found`);
    const info = parseCustomId(input.customId);
    if (!info)
      throw new EngineError(
        'INVALID_INPUT',
        `customId ${input.customId} is not a Midjourney button we can press`,
      );
    const onTask = parent.task.buttons.some((row) => row.some((b) => b.custom_id === input.customId));
    if (info.action === 'CANCEL_JOB') {
      if (isTerminal(parent.task.status)) {
        throw new EngineError('CONFLICT', `task ${parent.task.id} is already ${parent.task.status}`);
      }
      return this.cancel(parent.task.id);
    }
    if (parent.task.status !== 'FINISHED') {
      throw new EngineError('CONFLICT', `task ${parent.task.id} is ${parent.task.status}, not FINISHED`);
    }
    if (!onTask)
      throw new EngineError('INVALID_INPUT', `customId is not one of task ${parent.task.id}'s buttons`);
    const prompt = park ? '' : followUpPrompt(info, input, parent.task);
    if (prompt) this.checkPrompt(prompt);
    const params: Record<string, unknown> = {
      customId: input.customId,
      parentId: parent.task.id,
      index: info.index,
      ...(park ? { [AWAITING_MODAL]: true } : {}),
    };
    return this.create(info.action, input, {
      prompt: prompt || parent.task.prompt,
      images: [],
      params,
      pinnedTo: parent.task.discordId,
      parent,
      mask: input.mask,
      park,
    });
  }

  async cancel(taskId: string): Promise<Task> {
    const rec = await this.getRecord(taskId);
    if (!rec) throw new EngineError('NOT_FOUND', `task ${taskId} not found`);
    if (isTerminal(rec.task.status)) {
      throw new EngineError('CONFLICT', `task ${taskId} is already ${rec.task.status}`);
    }
    if (rec.task.status === 'PENDING') {
      this.queue.remove(taskId);
      return this.fail(rec, 'cancelled');
    }
    this.mutate(rec, (_t, m) => {
      m.cancelRequested = true;
    });
    const account = rec.meta.accountId ? this.accounts.get(rec.meta.accountId) : undefined;
    if (account && rec.task.messageHash && rec.meta.progressMessageId) {
      try {
        await clickCancel(this.submitCtx, rec, account);
      } catch (err) {
        this.log.warn({ task: taskId, err: (err as Error).message }, 'cancel click failed');
      }
    }
    return this.fail(rec, 'cancelled');
  }

  /** Hosts images on Discord without a job; returns their CDN URLs (`upload-discord-images`). */
  hostImages(images: string[]): Promise<string[]> {
    return hostImages(this.submitCtx, this.accounts.values(), this.opts.config.proxy.cdn, images);
  }

  async get(taskId: string): Promise<Task | undefined> {
    const rec = await this.getRecord(taskId);
    return rec ? this.view(rec) : undefined;
  }

  async list(filter: { status?: TaskStatus; limit: number }): Promise<Task[]> {
    const ids = [...this.summaries.entries()]
      .filter(([, s]) => !filter.status || s.status === filter.status)
      .sort((a, b) => b[1].submitTime - a[1].submitTime || (a[0] < b[0] ? 1 : -1))
      .slice(0, filter.limit)
      .map(([id]) => id);
    const out: Task[] = [];
    for (const id of ids) {
      const rec = await this.getRecord(id);
      if (rec) out.push(this.view(rec));
    }
    return out;
  }

  health(): Health {
    const queuedBy = new Map<string, number>();
    for (const id of this.queue.snapshot()) {
      const acc = this.records.get(id)?.meta.accountId;
      if (acc) queuedBy.set(acc, (queuedBy.get(acc) ?? 0) + 1);
    }
    const accounts = [...this.accounts.values()].map((a) => a.health(queuedBy.get(a.id) ?? 0));
    const ok = accounts.some((a) => a.state === 'ready');
    return { status: ok ? 'ok' : 'degraded', mode: this.opts.mode, accounts, queue: this.queue.length };
  }

  // ---------------------------------------------------------------- lifecycle

  private checkPrompt(prompt: string): void {
    const word = this.opts.bannedWord(prompt);
    if (word)
      throw new EngineError('BANNED_WORD', `prompt contains the banned word "${word}"`, {
        'ban-words': word,
      });
  }

  private async create(
    action: Action,
    input: CommonInput,
    spec: {
      prompt: string;
      images: string[];
      params: Record<string, unknown>;
      pinnedTo?: string | null;
      parent?: TaskRecord;
      mask?: string | undefined;
      dimensions?: string | undefined;
      /** Prepared, not queued: waits for {@link release} (MODAL). */
      park?: boolean;
    },
  ): Promise<Task> {
    if (this.stopping) throw new EngineError('NO_ACCOUNT', 'the service is shutting down');
    const accounts = [...this.accounts.values()];
    if (accounts.length === 0 || accounts.every((a) => a.state === 'disabled')) {
      throw new EngineError('NO_ACCOUNT', 'no Midjourney account available');
    }
    if (!spec.park && this.queue.length >= this.opts.config.settings.maxQueue) {
      throw new EngineError('QUEUE_FULL', 'queue is full');
    }
    const now = Date.now();
    const id = input.shortId ? newShortTaskId(now) : newTaskId(now);
    const task: Task = {
      ...blankTask(id, action),
      submitTime: Math.floor(now / 1000),
      prompt: spec.prompt,
      params: spec.params,
      images: spec.images.map(describeImageInput),
      discordId: spec.pinnedTo ?? null,
      data: input.data === undefined ? null : input.data,
    };
    const rec: TaskRecord = {
      task,
      meta: {
        seq: ++this.seq,
        accountId: spec.pinnedTo ?? null,
        nonce: null,
        interactionId: null,
        progressMessageId: null,
        progressFlags: 0,
        messageFlags: 0,
        parentMessageId: spec.parent?.task.messageId ?? null,
        parentHash: spec.parent?.task.messageHash ?? null,
        cancelRequested: false,
        notifyUrl: input.notifyUrl || this.opts.config.settings.notifyUrl || null,
        ...(input.origin ? { origin: input.origin } : {}),
        queuedAtMs: now,
        startedAtMs: null,
        inputImages: spec.images,
        ...(spec.mask ? { mask: spec.mask } : {}),
        ...(spec.dimensions ? { dimensions: spec.dimensions } : {}),
      },
    };
    if (spec.parent) rec.meta.messageFlags = spec.parent.meta.messageFlags;
    try {
      await this.opts.store.save(rec);
    } catch (err) {
      throw new EngineError('STORE_FAILED', `could not store the task: ${(err as Error).message}`);
    }
    this.records.set(id, rec);
    this.summaries.set(id, { status: 'PENDING', submitTime: task.submitTime ?? 0 });
    if (spec.park) this.armParked(rec);
    else this.queue.push(id);
    this.opts.metrics?.queueLength.set(this.queue.length);
    this.log.info({ task: id, action, status: 'PENDING' }, 'task created');
    const pinned = spec.pinnedTo ? this.accounts.get(spec.pinnedTo) : undefined;
    if (spec.pinnedTo && (!pinned || pinned.state === 'disabled')) {
      this.queue.remove(id);
      return this.fail(rec, `account ${spec.pinnedTo} unavailable: ${pinned?.reason ?? 'not configured'}`);
    }
    const view = this.view(rec);
    this.emit('task', view, rec.meta.origin);
    this.scheduleDrain();
    return view;
  }

  private recover(rec: TaskRecord, front: string[]): void {
    const { task, meta } = rec;
    if (isAwaitingModal(task)) {
      this.armParked(rec);
      return;
    }
    if (task.status === 'PENDING') {
      this.queue.push(task.id);
      return;
    }
    const account = meta.accountId ? this.accounts.get(meta.accountId) : undefined;
    if (task.status === 'STARTED') {
      // The submission was cut off: do it again, first in line.
      if (!isFollowUp(task.action) && !account) meta.accountId = null;
      front.push(task.id);
      return;
    }
    if (!account) {
      void this.fail(rec, `account ${meta.accountId ?? '?'} unavailable: not configured any more`);
      return;
    }
    account.running.add(task.id);
    this.index.join(account.id, task.id);
    if (meta.nonce) this.index.addNonce(meta.nonce, task.id);
    if (meta.interactionId) this.index.addInteraction(meta.interactionId, task.id);
    if (meta.progressMessageId) this.index.addMessage(meta.progressMessageId, task.id);
    if (task.messageHash) this.index.addHash(task.messageHash, task.id);
    this.armTimeout(rec, account);
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /** Starts every queued task that can run now, in order, skipping those that cannot. */
  private drain(): void {
    if (this.stopping) return;
    const usable = () => [...this.accounts.values()].filter((a) => a.usable && a.freeSlots > 0);
    if (usable().length === 0) return;
    for (const id of this.queue.snapshot()) {
      const rec = this.records.get(id);
      if (!rec || isTerminal(rec.task.status)) {
        this.queue.remove(id);
        continue;
      }
      const account = this.pick(rec);
      if (!account) continue;
      this.queue.remove(id);
      this.begin(rec, account);
      if (usable().length === 0) break;
    }
    this.opts.metrics?.queueLength.set(this.queue.length);
  }

  private pick(rec: TaskRecord): Account | undefined {
    if (rec.meta.accountId) {
      const a = this.accounts.get(rec.meta.accountId);
      return a?.usable && a.freeSlots > 0 ? a : undefined;
    }
    let best: Account | undefined;
    for (const a of this.accounts.values()) {
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

  private begin(rec: TaskRecord, account: Account): void {
    account.running.add(rec.task.id);
    account.lastUsedAt = Date.now();
    this.index.join(account.id, rec.task.id);
    this.mutate(rec, (t, m) => {
      t.status = 'STARTED';
      t.startTime = Math.floor(Date.now() / 1000);
      t.discordId = account.id;
      m.accountId = account.id;
      m.startedAtMs = Date.now();
    });
    this.armTimeout(rec, account);
    submitTask(this.submitCtx, rec, account).then(
      (result) => {
        if (result === 'submitted') {
          this.mutate(rec, (t, m) => {
            if (t.status === 'STARTED') t.status = 'SUBMITTED';
            // Uploaded: no later step or restart needs the bytes, and every later write of the
            // record (one per progress step) would carry megabytes of base64 along.
            m.inputImages = [];
            delete m.mask;
          });
        }
      },
      (err: unknown) => {
        const reason = failReasonOf(err);
        if (reason.disable) account.disable(reason.disable);
        void this.fail(rec, reason.text);
      },
    );
  }

  private armTimeout(rec: TaskRecord, account: Account): void {
    const minutes = account.config.timeoutMinutes;
    const started = rec.meta.startedAtMs ?? Date.now();
    const left = Math.max(0, started + minutes * 60_000 - Date.now());
    const timer = setTimeout(() => {
      void this.fail(rec, `timeout after ${formatMinutes(minutes)}`);
    }, left);
    timer.unref();
    const old = this.timers.get(rec.task.id);
    if (old) clearTimeout(old);
    this.timers.set(rec.task.id, timer);
  }

  /** A parked task fails when its account's `timeoutMinutes` pass without a release. */
  private armParked(rec: TaskRecord): void {
    const account = rec.meta.accountId ? this.accounts.get(rec.meta.accountId) : undefined;
    const minutes = account?.config.timeoutMinutes ?? 10;
    const left = Math.max(0, rec.meta.queuedAtMs + minutes * 60_000 - Date.now());
    const timer = setTimeout(() => void this.fail(rec, parkedTimeoutReason(minutes)), left);
    timer.unref();
    this.timers.set(rec.task.id, timer);
  }

  private expireQueued(): void {
    const maxMinutes = Math.max(0, ...[...this.accounts.values()].map((a) => a.config.timeoutMinutes));
    if (maxMinutes === 0) return;
    const limit = 3 * maxMinutes * 60_000;
    const now = Date.now();
    for (const id of this.queue.snapshot()) {
      const rec = this.records.get(id);
      if (rec && now - rec.meta.queuedAtMs > limit) {
        this.queue.remove(id);
        void this.fail(rec, 'queue timeout');
      }
    }
  }

  private requeue(rec: TaskRecord, account: Account): void {
    account.busyUntil = Date.now() + 60_000;
    account.running.delete(rec.task.id);
    this.mutate(rec, (t, m) => {
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
    this.queue.unshift(rec.task.id);
    setTimeout(() => this.scheduleDrain(), 60_000).unref();
    this.scheduleDrain();
  }

  // ---------------------------------------------------------------- transitions

  /**
   * Changes a live task in memory at once (so the next message sees it), then persists and
   * announces the snapshot in order. Terminal tasks never change again.
   */
  private mutate(rec: TaskRecord, change: (task: Task, meta: TaskRecord['meta']) => void): boolean {
    if (isTerminal(rec.task.status)) return false;
    const before = JSON.stringify(rec.task);
    const status = rec.task.status;
    change(rec.task, rec.meta);
    const taskChanged = JSON.stringify(rec.task) !== before;
    if (rec.task.status !== status) {
      this.log.info(
        {
          task: rec.task.id,
          action: rec.task.action,
          from: status,
          to: rec.task.status,
          account: rec.meta.accountId,
        },
        'task status',
      );
    }
    this.summaries.set(rec.task.id, { status: rec.task.status, submitTime: rec.task.submitTime ?? 0 });
    this.persist(rec, taskChanged);
    return true;
  }

  private persist(rec: TaskRecord, announce: boolean): Promise<void> {
    const snapshot: TaskRecord = structuredClone(rec);
    const id = rec.task.id;
    const prev = this.chains.get(id) ?? Promise.resolve();
    const next = prev
      .then(() => this.opts.store.save(snapshot))
      .then(
        () => {
          if (announce) this.announce(snapshot);
        },
        (err: unknown) => this.log.error({ task: id, err: (err as Error).message }, 'store write failed'),
      );
    this.chains.set(id, next);
    void next.then(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
    return next;
  }

  private announce(rec: TaskRecord): void {
    const task = this.view(rec);
    this.emit('task', task, rec.meta.origin);
    if (rec.meta.notifyUrl && task.status !== 'PENDING' && task.status !== 'STARTED') {
      this.opts.notifier?.notify(task, rec.meta.notifyUrl, rec.meta.origin);
    }
  }

  private finish(rec: TaskRecord, change: (task: Task, meta: TaskRecord['meta']) => void): void {
    const ok = this.mutate(rec, (t, m) => {
      change(t, m);
      t.status = 'FINISHED';
      t.progress = '100%';
      t.finishTime = Math.floor(Date.now() / 1000);
      t.failReason = null;
    });
    if (ok) this.settle(rec);
  }

  private async fail(rec: TaskRecord, reason: string): Promise<Task> {
    const ok = this.mutate(rec, (t) => {
      t.status = 'FAILED';
      t.failReason = reason;
      t.finishTime = Math.floor(Date.now() / 1000);
    });
    if (ok) {
      this.log.info({ task: rec.task.id, reason }, 'task failed');
      this.settle(rec);
    }
    await this.chains.get(rec.task.id);
    return this.view(rec);
  }

  /** Frees the slot, forgets the keys, and drains the queue after every final status. */
  private settle(rec: TaskRecord): void {
    const id = rec.task.id;
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
    this.queue.remove(id);
    const account = rec.meta.accountId ? this.accounts.get(rec.meta.accountId) : undefined;
    account?.running.delete(id);
    this.index.forget(rec);
    const m = this.opts.metrics;
    if (m) {
      const labels = { action: rec.task.action, status: rec.task.status };
      m.tasks.inc(labels);
      if (rec.task.submitTime)
        m.taskDuration.observe(labels, Math.max(0, Date.now() / 1000 - rec.task.submitTime));
      m.queueLength.set(this.queue.length);
    }
    this.terminalOrder.push(id);
    while (this.terminalOrder.length > MAX_CACHED_TERMINAL) {
      const old = this.terminalOrder.shift();
      if (old && !this.chains.has(old)) this.records.delete(old);
    }
    this.scheduleDrain();
  }

  // ---------------------------------------------------------------- Discord side

  private onDispatch(account: Account, t: string, d: unknown): void {
    try {
      if (t === 'MESSAGE_CREATE' || t === 'MESSAGE_UPDATE') {
        const parsed = messageSchema.safeParse(d);
        if (parsed.success) this.onMessage(account, parsed.data, t === 'MESSAGE_UPDATE');
      } else if (t === 'MESSAGE_DELETE') {
        const parsed = messageDeleteSchema.safeParse(d);
        if (parsed.success && parsed.data.channel_id === account.id) this.onDelete(parsed.data.id);
      } else {
        this.onInteractionEvent(account, t, d);
      }
    } catch (err) {
      // One bad payload never stops the account or harms another task.
      this.log.error({ account: account.id, t, err: (err as Error).message }, 'dispatch handling failed');
    }
  }

  private onMessage(account: Account, msg: DiscordMessage, isUpdate: boolean): void {
    if (msg.channel_id !== account.id) return;
    const known = this.index.taskForMessage(msg.id);
    if (!isMidjourneyAuthor(msg) && !(isUpdate && known && !msg.author)) return;
    const found = this.index.match(
      account.id,
      msg,
      (id) => this.liveRecord(id),
      account.gateway.user?.id ?? null,
    );
    if (!found) {
      this.opts.metrics?.unmatchedMessages.inc();
      this.log.debug({ account: account.id, message: msg.id }, 'message matched no task');
      return;
    }
    this.log.debug({ task: found.record.task.id, rule: found.rule, message: msg.id }, 'message matched');
    applyMessage(this.followCtx, found.record, account, msg);
  }

  private onDelete(messageId: string): void {
    const id = this.index.taskForMessage(messageId);
    const rec = id ? this.liveRecord(id) : undefined;
    if (!rec || rec.meta.progressMessageId !== messageId) return;
    const grace = setTimeout(
      () => {
        if (!isTerminal(rec.task.status) && rec.task.messageId === null) void this.fail(rec, 'cancelled');
      },
      rec.meta.cancelRequested ? 0 : this.followCtx.deleteGraceMs,
    );
    grace.unref();
  }

  private onInteractionEvent(account: Account, t: string, d: unknown): void {
    const ev = d as { id?: unknown; nonce?: unknown; title?: unknown };
    const nonce = typeof ev.nonce === 'string' ? ev.nonce : undefined;
    const taskId = nonce ? this.index.taskForNonce(nonce) : undefined;
    const rec = taskId ? this.liveRecord(taskId) : undefined;
    if (t === 'INTERACTION_CREATE' || t === 'INTERACTION_SUCCESS') {
      if (rec && typeof ev.id === 'string' && rec.meta.interactionId !== ev.id) {
        this.index.addInteraction(ev.id, rec.task.id);
        this.mutate(rec, (_t, m) => {
          m.interactionId = ev.id as string;
        });
      }
    } else if (t === 'INTERACTION_FAILURE') {
      this.log.warn(
        { account: account.id, task: taskId },
        'interaction failure reported; still waiting for Midjourney',
      );
    } else if (t === 'INTERACTION_MODAL_CREATE' || t === 'INTERACTION_IFRAME_MODAL_CREATE') {
      if (nonce) this.submitCtx.modals.resolve(nonce, d);
      const title = typeof ev.title === 'string' ? ev.title : '';
      if (/action required to continue/i.test(title) && rec) {
        account.disable(title);
      }
    } else if (t === 'READY') {
      void this.catchUp(account);
    }
  }

  /** After a new session, read the channel's recent messages: results that came while we were away. */
  private async catchUp(account: Account): Promise<void> {
    if ([...this.index.liveOf(account.id)].length === 0) return;
    try {
      const raw = await account.rest.request<unknown[]>('GET', `/channels/${account.id}/messages`, {
        query: { limit: '50' },
      });
      const msgs = (raw ?? [])
        .map((m) => messageSchema.safeParse(m))
        .filter((r) => r.success)
        .map((r) => r.data)
        .reverse();
      for (const msg of msgs) this.onMessage(account, msg, false);
    } catch (err) {
      this.log.warn({ account: account.id, err: (err as Error).message }, 'catch-up read failed');
    }
  }

  private onAccountState(account: Account, state: Account['state'], reason: string | null): void {
    this.log.info({ account: account.id, state, reason }, 'account state');
    this.updateAccountGauge();
    this.emit('account', account.health(0));
    if (state === 'ready') this.scheduleDrain();
    if (state === 'disabled') {
      const why = `account ${account.id} unavailable: ${reason ?? 'disabled'}`;
      for (const id of [...account.running]) {
        const rec = this.liveRecord(id);
        if (rec) void this.fail(rec, why);
      }
      for (const id of this.queue.snapshot()) {
        const rec = this.records.get(id);
        if (rec && rec.meta.accountId === account.id) {
          this.queue.remove(id);
          void this.fail(rec, why);
        }
      }
    }
  }

  private updateAccountGauge(): void {
    const g = this.opts.metrics?.accounts;
    if (!g) return;
    for (const s of ['connecting', 'ready', 'reconnecting', 'disabled']) {
      g.set({ state: s }, [...this.accounts.values()].filter((a) => a.state === s).length);
    }
  }

  // ---------------------------------------------------------------- reads

  private liveRecord(id: string): TaskRecord | undefined {
    const rec = this.records.get(id);
    return rec && !isTerminal(rec.task.status) ? rec : undefined;
  }

  private parentOf(rec: TaskRecord): TaskRecord | undefined {
    const parentId = rec.task.params.parentId;
    return typeof parentId === 'string' ? this.records.get(parentId) : undefined;
  }

  private async getRecord(id: string): Promise<TaskRecord | undefined> {
    if (!/^\d{1,30}$/.test(id)) return undefined;
    const mem = this.records.get(id);
    if (mem) return mem;
    let rec: TaskRecord | undefined;
    try {
      rec = await this.opts.store.get(id);
    } catch (err) {
      throw new EngineError('STORE_FAILED', `could not read task ${id}: ${(err as Error).message}`);
    }
    if (rec) this.records.set(id, rec);
    return rec;
  }

  private view(rec: TaskRecord): Task {
    const task = structuredClone(rec.task);
    task.queuePosition = task.status === 'PENDING' ? this.queue.position(task.id) : null;
    return task;
  }

  /** The origin a task was created with (for the fronts). */
  originOf(taskId: string): TaskOrigin | undefined {
    return this.records.get(taskId)?.meta.origin;
  }
}

function describeImageInput(url: string): string {
  const m = /^data:([^;,]+)([^,]*),(.*)$/s.exec(url);
  if (!m) return url;
  const body = m[3] ?? '';
  // The decoded size: base64 padding ('=') carries no byte.
  const bytes = Buffer.byteLength(body, /;base64$/i.test(m[2] ?? '') ? 'base64' : 'utf8');
  return `data:${m[1]};${bytes} bytes`;
}

function formatMinutes(m: number): string {
  return `${Number(m.toFixed(2))} minute${m === 1 ? '' : 's'}`;
}

/** The readable fail reason of a submission error (SPEC §6.8), and whether it disables the account. */
function failReasonOf(err: unknown): { text: string; disable?: string } {
  const e = err as { code?: unknown; status?: unknown; message?: unknown; failReason?: unknown };
  if (typeof e.failReason === 'string') return { text: e.failReason };
  if (typeof e.status === 'number') {
    if (e.status === 401) return { text: 'account unavailable: token invalid', disable: 'token invalid' };
    if (e.status === 403)
      return { text: 'account unavailable: no access to channel', disable: 'no access to channel' };
    return { text: `discord rejected the interaction: ${e.status} ${String(e.message)} (${String(e.code)})` };
  }
  return { text: typeof e.message === 'string' ? e.message : String(err) };
}
