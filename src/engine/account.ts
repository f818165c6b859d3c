/**
 * One Discord account at work: its gateway session, its REST client, its slots, and the
 * one-at-a-time, spaced sending of interactions (SPEC §6.1, §6.2).
 */
import { EventEmitter } from 'node:events';
import type { AccountConfig } from '../config.ts';
import { GatewayClient } from '../discord/gateway.ts';
import { RestClient } from '../discord/rest.ts';
import type { Logger } from '../log.ts';
import type { AccountHealth } from './api.ts';

export type AccountState = AccountHealth['state'];

export interface AccountOptions {
  config: AccountConfig;
  proxy: { server: string; gateway: string; upload: string; inpaint: string };
  interactionIntervalMs: number;
  logger: Logger;
  /** Gateway reconnect backoff, small in tests. */
  backoff?: { minMs: number; maxMs: number };
  onRestResponse?: (info: { method: string; route: string; status: number }) => void;
}

interface AccountEvents {
  state: [state: AccountState, reason: string | null];
  dispatch: [t: string, d: unknown];
}

/** An account of the pool; the engine listens to `dispatch` and `state`. */
export class Account extends EventEmitter<AccountEvents> {
  readonly id: string;
  readonly config: AccountConfig;
  readonly gateway: GatewayClient;
  readonly rest: RestClient;
  state: AccountState = 'connecting';
  reason: string | null = null;
  /** Task ids holding a slot (STARTED, SUBMITTED, RUNNING). */
  readonly running = new Set<string>();
  /**
   * Task ids whose Midjourney job is done (the final arrived) while their result is being stored
   * (SPEC §6.7): they hold no slot, but they are still this account's until they finish.
   */
  readonly finishing = new Set<string>();
  lastUsedAt = 0;
  /** After a `Queue full` notice the account takes no new work until then. */
  busyUntil = 0;
  /** What `/info` said last (SPEC §14). */
  info: { mode?: 'fast' | 'relax' | 'turbo'; fastTimeRemaining?: number; subscription?: string } = {};
  /** Remix mode, once known (from `/settings`, or from the form a click opened). */
  remix: boolean | undefined;
  /** End of a timed block (ms), while `paused`. */
  pausedUntil: number | null = null;
  private pauseTimer: NodeJS.Timeout | undefined;
  private sendChain: Promise<unknown> = Promise.resolve();
  private lastInteractionAt = 0;

  constructor(private readonly opts: AccountOptions) {
    super();
    this.config = opts.config;
    this.id = opts.config.channel_id;
    this.gateway = new GatewayClient({
      token: opts.config.token,
      url: opts.proxy.gateway,
      userAgent: opts.config.useragent,
      logger: opts.logger,
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
    });
    this.rest = new RestClient({
      baseUrl: opts.proxy.server,
      token: opts.config.token,
      userAgent: opts.config.useragent,
      logger: opts.logger,
      ...(opts.onRestResponse ? { onResponse: opts.onRestResponse } : {}),
    });
    this.gateway.on('dispatch', (ev) => this.emit('dispatch', ev.t, ev.d));
    this.gateway.on('state', (ev) => {
      // A paused account keeps its session; it looks at the gateway again when the block ends.
      if (this.state === 'disabled' || this.state === 'paused') return;
      if (ev.to === 'ready') this.setState('ready', null);
      else if (ev.to === 'reconnecting') this.setState('reconnecting', ev.reason ?? null);
      else if (ev.to === 'connecting') this.setState('connecting', null);
    });
    this.gateway.on('fatal', (ev) =>
      this.disable(ev.code === 4004 ? 'token invalid' : `gateway closed ${ev.code}: ${ev.reason}`),
    );
  }

  get sessionId(): string {
    return this.gateway.sessionId ?? '';
  }

  get freeSlots(): number {
    return this.config.concurrency - this.running.size;
  }

  /** Takes new work now. */
  get usable(): boolean {
    return this.state === 'ready' && Date.now() >= this.busyUntil;
  }

  start(): void {
    this.gateway.connect();
  }

  async stop(): Promise<void> {
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    await this.gateway.close();
  }

  /**
   * Takes no new work until `untilMs` (a timed Midjourney block, SPEC §14), then comes back by
   * itself: `ready` if the gateway session is, else the gateway's own state.
   */
  pause(untilMs: number, reason: string): void {
    if (this.state === 'disabled') return;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pausedUntil = Math.max(untilMs, this.pausedUntil ?? 0);
    this.setState('paused', reason);
    this.pauseTimer = setTimeout(() => this.endPause(), Math.max(0, this.pausedUntil - Date.now()));
    this.pauseTimer.unref();
  }

  private endPause(): void {
    this.pauseTimer = undefined;
    if (this.state !== 'paused') return;
    this.pausedUntil = null;
    const g = this.gateway.state;
    if (g === 'ready') this.setState('ready', null);
    else this.setState(g === 'connecting' ? 'connecting' : 'reconnecting', null);
  }

  /**
   * Closes the gateway and takes no work, without a fault (SPEC §13: another instance holds this
   * account's lease). `start()` connects it again.
   */
  async standBy(reason: string): Promise<void> {
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pausedUntil = null;
    await this.gateway.close();
    this.setState('connecting', reason);
  }

  disable(reason: string): void {
    if (this.state === 'disabled') return;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pausedUntil = null;
    this.setState('disabled', reason);
    void this.gateway.close().catch(() => {});
  }

  /**
   * Sends one interaction: one at a time per account, at least `interactionIntervalMs` apart.
   * Resolves when Discord accepted it (204); rejects with the REST client's typed error.
   */
  interact(payload: unknown): Promise<void> {
    const run = async (): Promise<void> => {
      const wait = this.lastInteractionAt + this.opts.interactionIntervalMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      try {
        await this.rest.request('POST', '/interactions', { json: payload });
      } finally {
        this.lastInteractionAt = Date.now();
      }
    };
    const p = this.sendChain.then(run, run);
    this.sendChain = p.catch(() => {});
    return p;
  }

  health(queued: number): AccountHealth {
    const h: AccountHealth = {
      id: this.id,
      state: this.state,
      reason: this.reason,
      running: this.running.size,
      queued,
    };
    if (this.info.mode) h.mode = this.info.mode;
    if (this.info.fastTimeRemaining !== undefined) h.fastTimeRemaining = this.info.fastTimeRemaining;
    if (this.info.subscription) h.subscription = this.info.subscription;
    if (this.pausedUntil !== null) h.pausedUntil = Math.ceil(this.pausedUntil / 1000);
    if (this.remix !== undefined) h.remix = this.remix;
    if (this.config.remixAutoSubmit) h.remixAutoSubmit = true;
    return h;
  }

  private setState(state: AccountState, reason: string | null): void {
    if (this.state === state && this.reason === reason) return;
    this.state = state;
    this.reason = reason;
    this.emit('state', state, reason);
  }
}
