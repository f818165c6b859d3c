/**
 * This instance's place in a cluster of instances on one Redis (SPEC §13): a heartbeat in a
 * registry of live instances, the account leases it holds (taken, renewed every third of the
 * TTL, spread evenly over the live instances, released on stop), and one pub/sub channel that
 * carries task changes, hand-overs and "work was queued" between instances. Waiting tasks live in
 * BullMQ (see shared-queue.ts). It decides nothing about tasks: the engine reacts through
 * {@link ClusterHooks}.
 */
import { createClient } from '@redis/client';
import type { Logger } from '../log.ts';
import { Leases, type RedisClient } from './leases.ts';
import { checkSharedDir, type SharedDirCheck } from './shared-dir.ts';

/** What an instance tells the others in its heartbeat. */
export interface InstanceReport {
  /** Accounts it holds, with their state (`ready`, `reconnecting`, …) and running task count. */
  accounts: { id: string; state: string; running: number }[];
  /** Tasks waiting in its queue. */
  queue: number;
}

export interface ClusterHooks {
  /** The lease of `accountId` is ours now: adopt its tasks from the store and connect it. */
  acquired(accountId: string): Promise<void>;
  /** Give `accountId` up (rebalancing): stop it and let its writes settle; the lease is freed after. */
  handOver(accountId: string): Promise<void>;
  /** Renewal found the lease gone or held by another: this instance stalled past its TTL. */
  lost(accountId: string): void;
  /** Work may be waiting for this instance's free slots (a peer queued some, or the beat came). */
  work(): void;
  /** Every beat; `sweepTurn`: this instance's turn (once a TTL in the cluster) to look over the line. */
  beat(sweepTurn: boolean): Promise<void>;
  /** A peer persisted a task change: its task JSON as stored. */
  remote(json: string): void;
  /** A peer asks the instance running the task to cancel it. */
  cancel(taskId: string): void;
  /** A peer asks for a finished task's seed; called only on the holder of the task's account. */
  seed(taskId: string): Promise<string>;
  /** A task's seed was stored by a peer: a copy of the task kept here is stale. */
  seeded(taskId: string): void;
  report(): InstanceReport;
}

export interface ClusterOptions {
  url: string;
  instanceId: string;
  leaseTtlMs: number;
  /** Every enabled account of the shared configuration, by id. */
  accountIds: string[];
  logger: Logger;
  /** Key prefix in Redis (default `mjb:cluster:`). */
  prefix?: string;
  /** A directory every instance must share (local stored images, SPEC §13), checked at start. */
  sharedDir?: string;
}

/** A view of the cluster from the last heartbeat. */
export interface ClusterView {
  instances: { id: string; report: InstanceReport }[];
}

/** The holder's answer to a seed request: the seed, or why there is none. */
export type SeedAnswer = { seed: string } | { error: { code: string; message: string } };

type Message =
  | { t: 'task'; from: string; json: string }
  | { t: 'freed'; from: string; account: string }
  | { t: 'work'; from: string }
  | { t: 'cancel'; from: string; id: string }
  | { t: 'seed'; from: string; id: string; account: string }
  | ({ t: 'seeded'; from: string; id: string } & SeedAnswer);

export class ClusterNode {
  readonly instanceId: string;
  readonly ttlMs: number;
  private readonly redis: RedisClient;
  private readonly sub: RedisClient;
  private readonly leases: Leases;
  private readonly prefix: string;
  private readonly log: Logger;
  private readonly heldSet = new Set<string>();
  /** Accounts being taken or given up right now (one transition at a time per account). */
  private readonly busy = new Set<string>();
  /**
   * An account to be handed over once idle (rebalancing under load): it takes no new work, its
   * jobs run out, and the beat that finds it idle gives it up.
   */
  private draining: string | undefined;
  /** Accounts we just gave up, not to be taken back at once (ms until which). */
  private readonly cooldown = new Map<string, number>();
  private sharedDir: SharedDirCheck | undefined;
  private hooks: ClusterHooks | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private lastView: ClusterView = { instances: [] };
  /** Seed requests sent from here, by task id: who waits for the holder's answer. */
  private readonly seedWaits = new Map<string, Set<(answer: SeedAnswer) => void>>();

  constructor(private readonly opts: ClusterOptions) {
    this.instanceId = opts.instanceId;
    this.ttlMs = opts.leaseTtlMs;
    this.prefix = opts.prefix ?? 'mjb:cluster:';
    this.log = opts.logger.child({ room: 'cluster', instance: opts.instanceId });
    this.redis = createClient({ url: opts.url });
    this.sub = this.redis.duplicate();
    for (const c of [this.redis, this.sub]) {
      c.on('error', (err: Error) => this.log.error({ err: err.message }, 'cluster Redis connection error'));
    }
    this.leases = new Leases(this.redis, this.instanceId, this.ttlMs, `${this.prefix}lease:`);
  }

  /** Account ids whose lease this instance holds. */
  held(): string[] {
    return [...this.heldSet];
  }

  /** Held accounts not being taken up, drained or given away: the ones that may start work. */
  working(): string[] {
    return [...this.heldSet].filter((a) => !this.busy.has(a) && a !== this.draining);
  }

  holds(accountId: string): boolean {
    return this.heldSet.has(accountId);
  }

  view(): ClusterView {
    return this.lastView;
  }

  /**
   * Joins the cluster: subscribes, registers, takes its share of the leases, keeps renewing.
   * @throws {SharedDirError} when `sharedDir` is not the directory the other instances use
   */
  async start(hooks: ClusterHooks): Promise<void> {
    this.hooks = hooks;
    await Promise.all([this.redis.connect(), this.sub.connect()]);
    if (this.opts.sharedDir) {
      this.sharedDir = await checkSharedDir(
        this.redis,
        this.opts.sharedDir,
        this.key('shared-dir'),
        this.ttlMs,
      );
    }
    await this.sub.subscribe(`${this.prefix}events`, (raw) => this.onMessage(raw));
    await this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /**
   * Leaves the cluster gracefully (SIGTERM): the engine has already stopped its accounts and
   * flushed its writes; the leases and waiting tasks are freed and the peers told at once.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.timers) clearTimeout(t);
    await this.ticking?.catch(() => {});
    try {
      for (const account of this.heldSet) {
        await this.leases.release(account);
        await this.publish({ t: 'freed', from: this.instanceId, account });
      }
      this.heldSet.clear();
      await this.redis.zRem(this.key('instances'), this.instanceId);
      await this.redis.hDel(this.key('reports'), this.instanceId);
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'could not free every lease on stop (they lapse by TTL)',
      );
    }
    await Promise.allSettled([this.sub.quit(), this.redis.quit()]);
  }

  // ------------------------------------------------------------------ task traffic

  /** Tells the peers a task change was persisted (after the write, like every announcement). */
  publishTask(json: string): void {
    void this.publish({ t: 'task', from: this.instanceId, json });
  }

  /** Asks whoever runs the task to cancel it. */
  requestCancel(taskId: string): void {
    void this.publish({ t: 'cancel', from: this.instanceId, id: taskId });
  }

  /**
   * Asks the holder of `accountId` for a finished task's seed (only its gateway receives
   * Midjourney's DM); undefined when no answer came within `waitMs` (no holder, or it died).
   */
  async askSeed(taskId: string, accountId: string, waitMs: number): Promise<SeedAnswer | undefined> {
    let done: (answer: SeedAnswer | undefined) => void = () => {};
    const answered = new Promise<SeedAnswer | undefined>((resolve) => {
      done = resolve;
    });
    const waits = this.seedWaits.get(taskId) ?? new Set();
    this.seedWaits.set(taskId, waits);
    waits.add(done);
    const timer = setTimeout(() => done(undefined), waitMs);
    try {
      await this.publish({ t: 'seed', from: this.instanceId, id: taskId, account: accountId });
      return await answered;
    } finally {
      clearTimeout(timer);
      waits.delete(done);
      if (waits.size === 0 && this.seedWaits.get(taskId) === waits) this.seedWaits.delete(taskId);
    }
  }

  /** Tells the peers a task was put in line (the holders of free slots take it). */
  announceWork(): void {
    void this.publish({ t: 'work', from: this.instanceId });
  }

  // ------------------------------------------------------------------ the beat

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  private async publish(msg: Message): Promise<void> {
    try {
      await this.redis.publish(this.key('events'), JSON.stringify(msg));
    } catch (err) {
      this.log.warn({ err: (err as Error).message, t: msg.t }, 'cluster publish failed');
    }
  }

  private onMessage(raw: string): void {
    let msg: Message;
    try {
      msg = JSON.parse(raw) as Message;
    } catch {
      return;
    }
    if (msg.from === this.instanceId || !this.hooks || this.stopped) return;
    if (msg.t === 'task') this.hooks.remote(msg.json);
    else if (msg.t === 'cancel') this.hooks.cancel(msg.id);
    else if (msg.t === 'freed') void this.tick();
    else if (msg.t === 'work') this.hooks.work();
    else if (msg.t === 'seed') this.answerSeed(msg.id, msg.account);
    else if (msg.t === 'seeded') {
      if ('seed' in msg) this.hooks.seeded(msg.id);
      for (const w of this.seedWaits.get(msg.id) ?? []) w(msg);
    }
  }

  /** Reads a seed for a peer when this instance holds the task's account, and publishes the answer. */
  private answerSeed(taskId: string, accountId: string): void {
    if (!this.heldSet.has(accountId) || !this.hooks) return;
    this.hooks.seed(taskId).then(
      (seed) => this.publish({ t: 'seeded', from: this.instanceId, id: taskId, seed }),
      (err: unknown) => {
        const e = err as { code?: unknown; message?: unknown };
        const code = typeof e.code === 'string' ? e.code : 'UPSTREAM_FAILED';
        const message = typeof e.message === 'string' ? e.message : String(err);
        return this.publish({ t: 'seeded', from: this.instanceId, id: taskId, error: { code, message } });
      },
    );
  }

  /** One beat; beats never overlap (a slow Redis makes them late, never concurrent). */
  private tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.ticking) return this.ticking;
    this.ticking = this.beat()
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'cluster beat failed'))
      .finally(() => {
        this.ticking = undefined;
      });
    return this.ticking;
  }

  private async beat(): Promise<void> {
    const hooks = this.hooks;
    if (!hooks) return;
    const now = Date.now();
    await this.renew();
    const report = hooks.report();
    const instancesKey = this.key('instances');
    const reportsKey = this.key('reports');
    await this.redis
      .multi()
      .zAdd(instancesKey, { score: now + this.ttlMs, value: this.instanceId })
      .hSet(reportsKey, this.instanceId, JSON.stringify(report))
      .zRemRangeByScore(instancesKey, '-inf', now)
      .exec();
    const live = await this.redis.zRangeByScore(instancesKey, now, '+inf');
    const reports = live.length ? await this.redis.hmGet(reportsKey, live) : [];
    this.lastView = {
      instances: live.map((id, i) => ({ id, report: parseReport(reports[i]) })),
    };
    await this.sharedDir?.refresh();
    await this.takeFree(live);
    await this.balance();
    hooks.work();
    // One sweep of the waiting line per TTL in the whole cluster, by whoever comes first.
    await hooks.beat(await this.leases.take('sweep'));
  }

  private async renew(): Promise<void> {
    for (const account of [...this.heldSet]) {
      if (this.busy.has(account)) continue;
      if (await this.leases.renew(account)) continue;
      this.heldSet.delete(account);
      if (this.draining === account) this.draining = undefined;
      this.log.error({ account }, 'account lease lost (renewal came too late); another instance may hold it');
      this.hooks?.lost(account);
    }
  }

  /** Free leases are taken; instances holding fewer wait less, so they win the race. */
  private async takeFree(live: string[]): Promise<void> {
    const now = Date.now();
    const interval = Math.floor(this.ttlMs / 3);
    const free: string[] = [];
    for (const account of this.opts.accountIds) {
      if (this.heldSet.has(account) || this.busy.has(account)) continue;
      const h = await this.leases.holder(account);
      if (!h) free.push(account);
      else if (h.ttlMs < interval) this.later(h.ttlMs + 5);
    }
    if (free.length === 0) return;
    const mine = this.heldSet.size;
    const fewest = Math.min(
      ...live.map((id) => (id === this.instanceId ? mine : (this.reportOf(id)?.accounts.length ?? 0))),
    );
    if (mine > fewest) await new Promise((r) => setTimeout(r, 30 * (mine - fewest)).unref());
    for (const account of free) {
      if ((this.cooldown.get(account) ?? 0) > now || this.stopped) continue;
      if (!(await this.leases.take(account))) continue;
      this.heldSet.add(account);
      this.busy.add(account);
      this.log.info({ account }, 'account lease taken');
      try {
        await this.hooks?.acquired(account);
      } catch (err) {
        this.log.error(
          { account, err: (err as Error).message },
          'could not adopt the account after taking its lease',
        );
      } finally {
        this.busy.delete(account);
      }
    }
  }

  /**
   * Spreads the accounts: when every lease is held and some live instance has fewer than its
   * share, the instance holding the most (ties: the lowest id) gives up one of its accounts.
   * Only an idle account moves (a job in the middle of its submission would be sent again, one
   * whose result is being stored would be finished by nobody); when none is idle, the least busy
   * one is drained: it takes no new work, and moves on the beat that finds it idle.
   */
  private async balance(): Promise<void> {
    if (!this.mustGiveOne()) {
      if (this.draining !== undefined) {
        // Evened out meanwhile (an instance left, or another gave one): it works again.
        this.draining = undefined;
        this.hooks?.work();
      }
      return;
    }
    const report = this.hooks?.report();
    const running = (a: string) => report?.accounts.find((x) => x.id === a)?.running ?? 0;
    const free = [...this.heldSet].filter((a) => !this.busy.has(a));
    const idle =
      free.find((a) => running(a) === 0 && a === this.draining) ?? free.find((a) => running(a) === 0);
    if (idle) {
      await this.giveUp(idle);
      return;
    }
    if (this.draining === undefined && free.length > 0) {
      this.draining = free.reduce((a, b) => (running(b) < running(a) ? b : a));
      this.log.info({ account: this.draining }, 'no idle account to even the cluster out: draining one');
    }
  }

  /** Whether this instance should give one account up to even the cluster out. */
  private mustGiveOne(): boolean {
    const instances = this.lastView.instances;
    const n = instances.length;
    const total = this.opts.accountIds.length;
    if (n < 2) return false;
    const counts = instances.map((i) => ({
      id: i.id,
      held: i.id === this.instanceId ? this.heldSet.size : i.report.accounts.length,
    }));
    const heldTotal = counts.reduce((s, c) => s + c.held, 0);
    const share = Math.floor(total / n);
    if (heldTotal < total || !counts.some((c) => c.held < share)) return false;
    counts.sort((a, b) => b.held - a.held || (a.id < b.id ? -1 : 1));
    return counts[0]?.id === this.instanceId && this.heldSet.size > share;
  }

  private async giveUp(account: string): Promise<void> {
    this.busy.add(account);
    try {
      this.log.info({ account }, 'handing the account over to even out the cluster');
      await this.hooks?.handOver(account);
      this.heldSet.delete(account);
      if (this.draining === account) this.draining = undefined;
      this.cooldown.set(account, Date.now() + 2 * this.ttlMs);
      await this.leases.release(account);
      await this.publish({ t: 'freed', from: this.instanceId, account });
    } finally {
      this.busy.delete(account);
    }
  }

  private reportOf(id: string): InstanceReport | undefined {
    return this.lastView.instances.find((i) => i.id === id)?.report;
  }

  /** Runs a beat at a later moment (a lease of a silent holder is about to lapse). */
  private later(ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.tick();
    }, ms);
    t.unref();
    this.timers.add(t);
  }
}

function parseReport(raw: string | null | undefined): InstanceReport {
  try {
    const r = JSON.parse(raw ?? '') as InstanceReport;
    if (Array.isArray(r.accounts) && typeof r.queue === 'number') return r;
  } catch {
    // a report from a newer or broken instance counts as empty
  }
  return { accounts: [], queue: 0 };
}
