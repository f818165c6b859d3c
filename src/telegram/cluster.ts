/**
 * The Telegram front's share of a cluster (SPEC §13), on the instances' one Redis: the bot's
 * lease (its holder alone polls and sends every job's status and final messages, so the bot is
 * paced in one place and nothing goes out once per instance), a claim per update (an update is
 * handled once cluster-wide, whichever instance or poller got it), the polling offset, and the
 * registry of open jobs that a new holder takes over. Keys are per bot, so bots may share a Redis.
 */
import { createClient } from '@redis/client';
import type { TaskOrigin } from '../engine/api.ts';
import { Leases, type RedisClient } from '../engine/leases.ts';
import type { Logger } from '../log.ts';

export type TelegramOrigin = Extract<TaskOrigin, { kind: 'telegram' }>;

export interface TelegramClusterOptions {
  url: string;
  instanceId: string;
  /** The bot lease lapses this long after its holder stopped renewing (renewed every third). */
  leaseTtlMs: number;
  logger: Logger;
}

/** What the front does when the bot's lease comes or goes. */
export interface BotRole {
  /** This instance holds the lease now: take over the open jobs (and polling). */
  acquired(): Promise<void>;
  /** Give the duty up: stop polling, let sends in flight settle; `lost`: another may hold it already. */
  released(lost: boolean): Promise<void>;
  /** Another instance registered a new job. */
  registered(taskId: string, origin: TelegramOrigin): void;
}

/** How long an update's claim is kept: Telegram keeps unconfirmed updates for a day. */
const CLAIM_S = 24 * 60 * 60;

export class TelegramCluster {
  private readonly redis: RedisClient;
  private readonly sub: RedisClient;
  private readonly log: Logger;
  private prefix = '';
  private leases: Leases | undefined;
  private role: BotRole | undefined;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /** The take-over under way (not awaited by the beat, so renewals go on meanwhile). */
  private acquiring: Promise<void> = Promise.resolve();
  private holding = false;
  private stopped = false;
  private connected = false;

  constructor(private readonly opts: TelegramClusterOptions) {
    this.log = opts.logger.child({ room: 'telegram', instance: opts.instanceId });
    this.redis = createClient({ url: opts.url });
    this.sub = this.redis.duplicate();
    for (const c of [this.redis, this.sub]) {
      c.on('error', (err: Error) => this.log.error({ err: err.message }, 'telegram Redis connection error'));
    }
  }

  get instanceId(): string {
    return this.opts.instanceId;
  }

  /** Whether this instance holds the bot's lease now. */
  get holds(): boolean {
    return this.holding;
  }

  /** Connects for bot `botId` (keys are per bot) and starts competing for its lease. */
  async start(botId: number, role: BotRole): Promise<void> {
    this.prefix = `mjb:telegram:${botId}:`;
    this.role = role;
    this.leases = new Leases(this.redis, this.opts.instanceId, this.opts.leaseTtlMs, `${this.prefix}lease:`);
    if (!this.connected) {
      await Promise.all([this.redis.connect(), this.sub.connect()]);
      this.connected = true;
    }
    await this.sub.subscribe(`${this.prefix}jobs`, (raw) => this.onRegistered(raw));
    await this.beat();
    this.timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.opts.leaseTtlMs / 3)));
    this.timer.unref();
  }

  /** Gives the lease up after the role has settled (SIGTERM hand-over); Redis stays connected. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    await this.acquiring;
    if (this.holding) {
      this.holding = false;
      try {
        await this.role?.released(false);
      } finally {
        await this.leases?.release('bot').catch(() => false);
      }
    }
    await this.sub.unsubscribe().catch(() => undefined);
  }

  /** Closes the Redis connections (after {@link stop} and the last registrations). */
  async disconnect(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    await Promise.allSettled([this.sub.quit(), this.redis.quit()]);
  }

  /**
   * Claims an update for this instance; false when another instance (or an earlier poller)
   * already took it. @throws when Redis cannot be asked (the update must then be retried).
   */
  async claimUpdate(updateId: number): Promise<boolean> {
    const r = await this.redis.set(`${this.prefix}update:${updateId}`, this.opts.instanceId, {
      condition: 'NX',
      expiration: { type: 'EX', value: CLAIM_S },
    });
    return r === 'OK';
  }

  /** The polling offset the last poller confirmed up to (0: none yet). */
  async offset(): Promise<number> {
    const raw = await this.redis.get(`${this.prefix}offset`);
    const n = Number(raw ?? 0);
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  }

  async saveOffset(offset: number): Promise<void> {
    await this.redis.set(`${this.prefix}offset`, String(offset));
  }

  /**
   * A new Telegram job: kept in the registry until its final is out (so a new holder finds it),
   * and announced to the holder, which shows its status from now on.
   */
  async register(taskId: string, origin: TelegramOrigin): Promise<void> {
    const json = JSON.stringify(origin);
    await this.redis.hSet(`${this.prefix}open`, taskId, json);
    await this.redis.publish(`${this.prefix}jobs`, JSON.stringify({ id: taskId, origin }));
  }

  /** The job's final is delivered: nobody needs to take it over any more. */
  async close(taskId: string): Promise<void> {
    await this.redis.hDel(`${this.prefix}open`, taskId);
  }

  /** Every registered open job with its origin. */
  async open(): Promise<Map<string, TelegramOrigin>> {
    const all = await this.redis.hGetAll(`${this.prefix}open`);
    const out = new Map<string, TelegramOrigin>();
    for (const [id, raw] of Object.entries(all)) {
      const origin = parseOrigin(raw);
      if (origin) out.set(id, origin);
    }
    return out;
  }

  private onRegistered(raw: string): void {
    let msg: { id?: unknown; origin?: unknown };
    try {
      msg = JSON.parse(raw) as typeof msg;
    } catch {
      return;
    }
    const origin = parseOrigin(JSON.stringify(msg.origin ?? null));
    if (typeof msg.id === 'string' && origin && !this.stopped) this.role?.registered(msg.id, origin);
  }

  /** One beat (never two at once): the holder renews, the others try to take a free lease. */
  private beat(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.beating) return this.beating;
    this.beating = this.beatOnce()
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'telegram lease beat failed'))
      .finally(() => {
        this.beating = undefined;
      });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    const leases = this.leases;
    const role = this.role;
    if (!leases || !role) return;
    if (this.holding) {
      if (await leases.renew('bot')) return;
      this.holding = false;
      this.log.error('telegram bot lease lost (renewal came too late); another instance may hold it');
      await this.acquiring;
      await role.released(true);
      return;
    }
    if (!(await leases.take('bot'))) return;
    this.holding = true;
    this.log.info('telegram bot lease taken: this instance sends the jobs’ messages');
    this.acquiring = role.acquired().catch((err: unknown) => {
      this.log.error({ err: (err as Error).message }, 'could not take the Telegram duty over');
    });
  }
}

function parseOrigin(raw: string): TelegramOrigin | undefined {
  try {
    const o = JSON.parse(raw) as Partial<TelegramOrigin> | null;
    if (o?.kind === 'telegram' && typeof o.chatId === 'number' && typeof o.userId === 'number') {
      return o as TelegramOrigin;
    }
  } catch {
    // a malformed entry is skipped
  }
  return undefined;
}
