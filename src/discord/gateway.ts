/**
 * A Discord gateway session for one user account, as an explicit state machine:
 * `connecting` → `ready` ⇄ `reconnecting` → … , ending in `closed` (asked) or `fatal` (refused).
 * It heartbeats with jitter, detects zombie connections, resumes with session id and sequence,
 * and falls back to a fresh Identify when the session cannot be resumed.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Logger } from '../log.ts';
import { fatalReason, recoveryFor } from './close-codes.ts';
import { type DiscordUser, gatewayPayloadSchema } from './types.ts';
import { ZlibStreamDecoder } from './zlib-stream.ts';

export type GatewayState = 'connecting' | 'ready' | 'reconnecting' | 'closed' | 'fatal';

export interface GatewayOptions {
  token: string;
  /** Gateway origin, e.g. `wss://gateway.discord.gg`. */
  url: string;
  userAgent: string;
  logger: Logger;
  backoff?: { minMs: number; maxMs: number };
  /** Wait before a new Identify after op 9 (Discord asks for 1–5 s). */
  invalidSessionDelayMs?: { min: number; max: number };
}

export interface GatewayEvents {
  dispatch: [{ t: string; d: unknown; s: number }];
  ready: [{ sessionId: string; user: DiscordUser }];
  resumed: [];
  state: [{ from: GatewayState; to: GatewayState; reason?: string }];
  fatal: [{ code: number; reason: string }];
}

const QUERY = '/?encoding=json&v=9&compress=zlib-stream';
/** Our own close code for "resume me" (any code but 1000/1001 keeps the session). */
const RESUME_CLOSE = 4200;

/** One gateway connection of one account. */
export class GatewayClient extends EventEmitter<GatewayEvents> {
  private ws: WebSocket | undefined;
  private decoder: ZlibStreamDecoder | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private acked = true;
  private attempts = 0;
  private _state: GatewayState = 'closed';
  private _sessionId: string | null = null;
  private resumeUrl: string | null = null;
  private _seq: number | null = null;
  private _user: DiscordUser | null = null;
  private resuming = false;
  readonly counters = { identifies: 0, resumes: 0, reconnects: 0 };

  constructor(private readonly opts: GatewayOptions) {
    super();
  }

  get state(): GatewayState {
    return this._state;
  }
  get sessionId(): string | null {
    return this._sessionId;
  }
  get seq(): number | null {
    return this._seq;
  }
  get user(): DiscordUser | null {
    return this._user;
  }

  connect(): void {
    if (this._state !== 'closed') return;
    this.setState('connecting');
    this.open(false);
  }

  /** Closes for good with 1000 (the session ends). */
  async close(): Promise<void> {
    if (this._state === 'closed' || this._state === 'fatal') return;
    this.setState('closed');
    this.stopTimers();
    const ws = this.ws;
    this.ws = undefined;
    this.decoder?.close();
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        ws.close(1000);
      });
    }
  }

  private open(resume: boolean): void {
    this.resuming = resume && this._sessionId !== null;
    const base = (this.resuming && this.resumeUrl ? this.resumeUrl : this.opts.url).replace(
      /\/+(\?.*)?$/,
      '',
    );
    const ws = new WebSocket(base + QUERY, {
      headers: { 'User-Agent': this.opts.userAgent, Origin: 'https://discord.com' },
      handshakeTimeout: 15_000,
    });
    this.ws = ws;
    const decoder = new ZlibStreamDecoder(
      (text) => this.onPayload(ws, text),
      (err) => {
        this.opts.logger.warn({ err: err.message }, 'gateway decode error');
        ws.terminate();
      },
    );
    this.decoder = decoder;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (ws !== this.ws) return;
      if (isBinary) decoder.push(Buffer.isBuffer(data) ? data : Buffer.from(data));
      else this.onPayload(ws, data.toString());
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (ws !== this.ws) return;
      decoder.close();
      this.onClose(code, reason.toString());
    });
    ws.on('error', (err: Error) => {
      this.opts.logger.debug({ err: err.message }, 'gateway socket error');
    });
  }

  private send(ws: WebSocket, payload: unknown): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(payload));
  }

  private onPayload(ws: WebSocket, text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.opts.logger.warn('gateway sent invalid JSON');
      return;
    }
    const parsed = gatewayPayloadSchema.safeParse(raw);
    if (!parsed.success) return;
    const p = parsed.data;
    if (typeof p.s === 'number' && (this._seq === null || p.s > this._seq)) this._seq = p.s;
    switch (p.op) {
      case 10: {
        const interval =
          Number((p.d as { heartbeat_interval?: unknown } | undefined)?.heartbeat_interval) || 41250;
        this.startHeartbeat(ws, interval);
        if (this.resuming && this._sessionId) {
          this.counters.resumes++;
          this.send(ws, {
            op: 6,
            d: { token: this.opts.token, session_id: this._sessionId, seq: this._seq },
          });
        } else {
          this.counters.identifies++;
          this.send(ws, { op: 2, d: this.identifyPayload() });
        }
        return;
      }
      case 11:
        this.acked = true;
        return;
      case 1:
        this.send(ws, { op: 1, d: this._seq });
        return;
      case 7:
        this.reconnect(ws, true, 'server asked to reconnect');
        return;
      case 9: {
        const resumable = p.d === true;
        if (!resumable) {
          this._sessionId = null;
          this._seq = null;
        }
        const { min, max } = this.opts.invalidSessionDelayMs ?? { min: 1000, max: 5000 };
        const wait = min + Math.random() * (max - min);
        this.stopTimers();
        this.reconnectTimer = setTimeout(() => this.reconnect(ws, resumable, 'invalid session'), wait);
        return;
      }
      case 0:
        this.onDispatch(p.t ?? '', p.d, p.s ?? 0);
        return;
      default:
        return;
    }
  }

  private onDispatch(t: string, d: unknown, s: number): void {
    if (t === 'READY') {
      const ready = d as { session_id?: unknown; resume_gateway_url?: unknown; user?: DiscordUser };
      this._sessionId = typeof ready.session_id === 'string' ? ready.session_id : null;
      this.resumeUrl = typeof ready.resume_gateway_url === 'string' ? ready.resume_gateway_url : null;
      this._user = ready.user ?? null;
      this.attempts = 0;
      this.setState('ready');
      if (this._sessionId && this._user) this.emit('ready', { sessionId: this._sessionId, user: this._user });
    } else if (t === 'RESUMED') {
      this.attempts = 0;
      this.setState('ready');
      this.emit('resumed');
    }
    this.emit('dispatch', { t, d, s });
  }

  private startHeartbeat(ws: WebSocket, interval: number): void {
    this.stopTimers();
    this.acked = true;
    const beat = () => {
      if (ws !== this.ws) return;
      if (!this.acked) {
        this.reconnect(ws, true, 'zombie connection: no heartbeat ACK');
        return;
      }
      this.acked = false;
      this.send(ws, { op: 1, d: this._seq });
      this.heartbeatTimer = setTimeout(beat, interval);
    };
    this.heartbeatTimer = setTimeout(beat, Math.floor(interval * Math.random()));
  }

  private stopTimers(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.heartbeatTimer = undefined;
    this.reconnectTimer = undefined;
  }

  /** Drops the socket and opens a new one (resume or identify) after a backoff. */
  private reconnect(ws: WebSocket | undefined, resume: boolean, reason: string): void {
    if (this._state === 'closed' || this._state === 'fatal') return;
    this.stopTimers();
    if (ws) {
      this.ws = undefined;
      this.decoder?.close();
      try {
        ws.close(RESUME_CLOSE, 'reconnecting');
      } catch {
        ws.terminate();
      }
      setTimeout(() => ws.terminate(), 1000).unref();
    }
    if (!resume) {
      this._sessionId = null;
      this._seq = null;
    }
    this.setState('reconnecting', reason);
    this.counters.reconnects++;
    const { minMs, maxMs } = this.opts.backoff ?? { minMs: 1000, maxMs: 60_000 };
    const exp = Math.min(maxMs, minMs * 2 ** this.attempts);
    const wait = this.attempts === 0 ? Math.random() * minMs : exp / 2 + Math.random() * (exp / 2);
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      if (this._state === 'reconnecting') this.open(resume);
    }, wait);
  }

  private onClose(code: number, reason: string): void {
    this.stopTimers();
    this.ws = undefined;
    if (this._state === 'closed' || this._state === 'fatal') return;
    const recovery = recoveryFor(code);
    this.opts.logger.info({ code, reason, recovery }, 'gateway closed');
    if (recovery === 'fatal') {
      const why = fatalReason(code);
      this.setState('fatal', why);
      this.emit('fatal', { code, reason: why });
      return;
    }
    this.reconnect(undefined, recovery === 'resume', `closed ${code}`);
  }

  private identifyPayload() {
    return {
      token: this.opts.token,
      capabilities: 16381,
      properties: {
        os: 'Windows',
        browser: 'Chrome',
        device: '',
        system_locale: 'en-US',
        browser_user_agent: this.opts.userAgent,
        browser_version: '',
        os_version: '10',
        referrer: 'https://www.midjourney.com',
        referring_domain: 'www.midjourney.com',
        referrer_current: '',
        referring_domain_current: '',
        release_channel: 'stable',
        client_build_number: 222963,
        client_event_source: null,
      },
      presence: { status: 'online', since: 0, activities: [], afk: false },
      compress: false,
      client_state: {
        guild_versions: {},
        highest_last_message_id: '0',
        read_state_version: 0,
        user_guild_settings_version: -1,
        user_settings_version: -1,
        private_channels_version: '0',
        api_code_version: 0,
      },
    };
  }

  private setState(to: GatewayState, reason?: string): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    this.emit('state', { from, to, ...(reason ? { reason } : {}) });
  }
}
