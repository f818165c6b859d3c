/**
 * A Discord gateway session for one user account, as an explicit state machine:
 *
 *   closed ─connect()→ connecting ─READY→ ready ─drop/op 7/op 9/zombie→ reconnecting ─READY|RESUMED→ ready
 *   any ─fatal close (4004, 4010–4014)→ fatal        any ─close()→ closed
 *
 * It heartbeats with jitter, treats a missing ACK as a zombie connection, resumes on the
 * `resume_gateway_url` with the session id and last sequence, falls back to a fresh Identify when
 * the session is gone, and spaces reconnects with a growing, jittered backoff.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Logger } from '../log.ts';
import { CLIENT_CLOSE, describeClose, recoveryFor } from './close-codes.ts';
import { readEnvelope } from './fast-check.ts';
import { gatewayUrl, helloSchema, identifyPayload, readySchema } from './handshake.ts';
import type { DiscordUser } from './types.ts';
import { ZlibStreamDecoder } from './zlib-stream.ts';

export type GatewayState = 'connecting' | 'ready' | 'reconnecting' | 'closed' | 'fatal';

export interface GatewayOptions {
  token: string;
  /** Gateway origin, e.g. `wss://gateway.discord.gg`; the `?encoding=json&v=9&compress=zlib-stream` query is added. */
  url: string;
  /** Browser user agent: the handshake header and `properties.browser_user_agent` of Identify. */
  userAgent: string;
  logger: Logger;
  /** Wait between reconnect attempts: grows ×2 per failed attempt up to `maxMs`, jittered. Default 1 s – 60 s. */
  backoff?: { minMs: number; maxMs: number };
  /** How long a new socket may take to say Hello (and then READY/RESUMED). Default 20 s. */
  helloTimeoutMs?: number;
  /** Wait before a new Identify after op 9 `d:false` (Discord asks for 1–5 s). */
  invalidSessionDelayMs?: { minMs: number; maxMs: number };
  /** Client properties of Identify that differ from the ones derived from the user agent. */
  identifyProperties?: Record<string, unknown>;
  /** `compress=zlib-stream` (default true). */
  compress?: boolean;
  /** Resume on READY's `resume_gateway_url` (default true); false keeps `url`, e.g. behind a reverse proxy. */
  followResumeUrl?: boolean;
  /** How long `close()` waits for the close handshake before cutting the socket. Default 1 s. */
  closeTimeoutMs?: number;
  /** Source of jitter in [0, 1). */
  random?: () => number;
}

export interface GatewayDispatch {
  t: string;
  d: unknown;
  s: number | null;
}

export interface GatewayEvents {
  dispatch: [GatewayDispatch];
  ready: [{ sessionId: string; user: DiscordUser }];
  /** A resume succeeded; `replayed` dispatches were delivered again before it. */
  resumed: [{ sessionId: string; replayed: number }];
  state: [{ from: GatewayState; to: GatewayState; reason?: string }];
  /** Discord refused the session for good (4004 → reason `token invalid`). No reconnect follows. */
  fatal: [{ code: number; reason: string }];
}

/** One socket's life; everything that belongs to a socket dies with it. */
interface Connection {
  ws: WebSocket;
  decoder: ZlibStreamDecoder;
  intent: 'identify' | 'resume';
  /** Hello, then READY/RESUMED, must arrive in time. */
  handshakeTimer: NodeJS.Timeout | undefined;
  heartbeatTimer: NodeJS.Timeout | undefined;
  acked: boolean;
  lastBeatAt: number;
  replayed: number;
}

/** One gateway connection of one account. */
export class GatewayClient extends EventEmitter<GatewayEvents> {
  /** Totals since construction, for metrics: sockets opened after the first, Resumes and Identifies sent. */
  readonly counters = { reconnects: 0, resumes: 0, identifies: 0, heartbeats: 0, acks: 0 };
  private conn: Connection | undefined;
  /** Sockets we are closing; `close()` waits for them too. */
  private readonly dying = new Set<WebSocket>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private opened = 0;
  private _state: GatewayState = 'closed';
  private _sessionId: string | null = null;
  private resumeUrl: string | null = null;
  private _seq: number | null = null;
  private _user: DiscordUser | null = null;
  private _latencyMs: number | null = null;
  private readonly random: () => number;

  constructor(private readonly opts: GatewayOptions) {
    super();
    this.random = opts.random ?? Math.random;
  }

  get state(): GatewayState {
    return this._state;
  }
  get sessionId(): string | null {
    return this._sessionId;
  }
  /** Last sequence number received (what a heartbeat and a Resume carry). */
  get seq(): number | null {
    return this._seq;
  }
  get user(): DiscordUser | null {
    return this._user;
  }
  /** Round trip of the last acknowledged heartbeat. */
  get latencyMs(): number | null {
    return this._latencyMs;
  }

  /** Starts (or restarts after `close()` or a fatal close) the session. */
  connect(): void {
    if (this._state !== 'closed' && this._state !== 'fatal') return;
    this.attempts = 0;
    this.setState('connecting');
    this.open();
  }

  /** Ends the session for good: closes with 1000 (Discord then drops the session) and stops every timer. */
  async close(): Promise<void> {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const conn = this.conn;
    this.conn = undefined;
    if (this._state !== 'fatal') this.setState('closed', 'closed by the client');
    this.forgetSession();
    if (conn) {
      stopTimers(conn);
      this.retire(conn.ws, 1000, 'closed by the client');
    }
    await Promise.all([...this.dying].map((ws) => waitClosed(ws)));
  }

  /** Sends a raw gateway payload (e.g. a presence update) on the live socket; false if there is none. */
  send(payload: { op: number; d: unknown }): boolean {
    return this.conn ? this.write(this.conn, payload) : false;
  }

  // ---------------------------------------------------------------- sockets

  private open(): void {
    const intent = this._sessionId ? 'resume' : 'identify';
    if (intent === 'identify') this._seq = null;
    // After a few failed attempts the resume host may be the problem: resume through the main URL.
    const viaResumeUrl = intent === 'resume' && this.opts.followResumeUrl !== false && this.attempts <= 3;
    const base = viaResumeUrl && this.resumeUrl ? this.resumeUrl : this.opts.url;
    let url: string;
    let ws: WebSocket;
    try {
      url = gatewayUrl(base, this.opts.compress !== false);
      ws = new WebSocket(url, {
        headers: { 'User-Agent': this.opts.userAgent, Origin: 'https://discord.com' },
        perMessageDeflate: false,
        handshakeTimeout: this.helloTimeout(),
      });
    } catch (err) {
      const reason = `invalid gateway URL ${base}: ${(err as Error).message}`;
      this.setState('fatal', reason);
      this.safeEmit('fatal', { code: 0, reason });
      return;
    }
    if (this.opened++ > 0) this.counters.reconnects++;
    const conn: Connection = {
      ws,
      decoder: new ZlibStreamDecoder(),
      intent,
      handshakeTimer: undefined,
      heartbeatTimer: undefined,
      acked: true,
      lastBeatAt: 0,
      replayed: 0,
    };
    this.conn = conn;
    conn.handshakeTimer = setTimeout(
      () => this.drop(conn, 'resume', 'no Hello from the gateway', CLIENT_CLOSE.broken),
      this.helloTimeout(),
    );
    this.opts.logger.debug({ intent, host: new URL(url).host }, 'gateway connecting');
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('close', (code, reason) => this.onClose(conn, code, reason.toString('utf8')));
    ws.on('error', (err) => {
      this.opts.logger.debug({ err: err.message }, 'gateway socket error');
    });
  }

  private onMessage(conn: Connection, data: WebSocket.RawData, isBinary: boolean): void {
    if (conn !== this.conn) return;
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    let text: string | undefined;
    if (isBinary) {
      try {
        text = conn.decoder.push(bytes);
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'gateway stream undecodable');
        this.drop(conn, 'resume', 'undecodable gateway stream', CLIENT_CLOSE.broken);
        return;
      }
      if (text === undefined) return;
    } else {
      text = bytes.toString('utf8');
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.opts.logger.warn({ bytes: text.length }, 'gateway sent a payload that is not JSON');
      return;
    }
    const env = readEnvelope(raw);
    if (!env) {
      this.opts.logger.warn('gateway sent a payload without an opcode');
      return;
    }
    this.onPayload(conn, env.op, env.d, env.s ?? null, env.t ?? null);
  }

  private onPayload(conn: Connection, op: number, d: unknown, s: number | null, t: string | null): void {
    switch (op) {
      case 0:
        this.onDispatch(conn, t ?? '', d, s);
        return;
      case 1:
        this.heartbeat(conn, true);
        return;
      case 7:
        this.drop(conn, 'resume', 'gateway asked to reconnect', CLIENT_CLOSE.reconnect);
        return;
      case 9:
        if (d === true && this._sessionId) {
          this.drop(conn, 'resume', 'invalid session (resumable)', CLIENT_CLOSE.reconnect);
        } else {
          const { minMs, maxMs } = this.opts.invalidSessionDelayMs ?? { minMs: 1000, maxMs: 5000 };
          const wait = minMs + this.random() * Math.max(0, maxMs - minMs);
          this.drop(conn, 'identify', 'invalid session', CLIENT_CLOSE.reconnect, wait);
        }
        return;
      case 10:
        this.onHello(conn, d);
        return;
      case 11:
        conn.acked = true;
        this.counters.acks++;
        this._latencyMs = Date.now() - conn.lastBeatAt;
        return;
      default:
        this.opts.logger.debug({ op }, 'gateway opcode ignored');
    }
  }

  private onHello(conn: Connection, d: unknown): void {
    const hello = helloSchema.safeParse(d);
    const interval = hello.success ? hello.data.heartbeat_interval : 41250;
    if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = setTimeout(
      () => this.drop(conn, 'resume', 'no READY/RESUMED from the gateway', CLIENT_CLOSE.broken),
      this.helloTimeout(),
    );
    this.startHeartbeat(conn, interval);
    if (conn.intent === 'resume' && this._sessionId) {
      this.counters.resumes++;
      this.write(conn, {
        op: 6,
        d: { token: this.opts.token, session_id: this._sessionId, seq: this._seq ?? 0 },
      });
    } else {
      this.counters.identifies++;
      this.write(conn, {
        op: 2,
        d: identifyPayload(this.opts.token, this.opts.userAgent, this.opts.identifyProperties),
      });
    }
  }

  private onDispatch(conn: Connection, t: string, d: unknown, s: number | null): void {
    if (s !== null) {
      // A replay never repeats what we saw; a server that does must not make us handle it twice.
      if (this._seq !== null && s <= this._seq && t !== 'READY') {
        this.opts.logger.debug({ t, s, seq: this._seq }, 'gateway dispatch already seen');
        return;
      }
      this._seq = s;
    }
    if (t === 'READY') {
      const ready = readySchema.safeParse(d);
      if (!ready.success) {
        this.opts.logger.error('gateway READY without session_id/user');
        this.drop(conn, 'identify', 'malformed READY', CLIENT_CLOSE.broken);
        return;
      }
      this._sessionId = ready.data.session_id;
      this.resumeUrl = ready.data.resume_gateway_url ?? null;
      this._user = ready.data.user;
      this.handshakeDone(conn);
      this.setState('ready', 'identified');
      this.safeEmit('ready', { sessionId: ready.data.session_id, user: ready.data.user });
    } else if (t === 'RESUMED') {
      this.handshakeDone(conn);
      this.setState('ready', 'resumed');
      this.opts.logger.info({ replayed: conn.replayed }, 'gateway session resumed');
      this.safeEmit('resumed', { sessionId: this._sessionId ?? '', replayed: conn.replayed });
    } else if (conn.handshakeTimer && conn.intent === 'resume') {
      conn.replayed++;
    }
    this.safeEmit('dispatch', { t, d, s });
  }

  private handshakeDone(conn: Connection): void {
    if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = undefined;
    this.attempts = 0;
  }

  // ---------------------------------------------------------------- heartbeat

  private startHeartbeat(conn: Connection, interval: number): void {
    if (conn.heartbeatTimer) clearTimeout(conn.heartbeatTimer);
    conn.acked = true;
    conn.heartbeatTimer = setTimeout(
      () => {
        this.heartbeat(conn, false);
        if (conn === this.conn)
          conn.heartbeatTimer = setInterval(() => this.heartbeat(conn, false), interval);
      },
      Math.floor(interval * this.random()),
    );
  }

  /** `requested`: the server asked (op 1); such a beat is not a zombie check. */
  private heartbeat(conn: Connection, requested: boolean): void {
    if (conn !== this.conn) return;
    if (!requested) {
      if (!conn.acked) {
        this.opts.logger.warn('gateway heartbeat not acknowledged: zombie connection');
        this.drop(conn, 'resume', 'zombie connection (no heartbeat ACK)', CLIENT_CLOSE.zombie);
        return;
      }
      conn.acked = false;
    }
    conn.lastBeatAt = Date.now();
    this.counters.heartbeats++;
    this.write(conn, { op: 1, d: this._seq });
  }

  // ---------------------------------------------------------------- losing a socket

  /** We give up on a socket: close it with `code` (never 1000, which would end the session) and reconnect. */
  private drop(
    conn: Connection,
    recovery: 'resume' | 'identify',
    reason: string,
    code: number,
    delayMs?: number,
  ): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    stopTimers(conn);
    this.retire(conn.ws, code, reason);
    if (recovery === 'identify') this.forgetSession();
    this.scheduleReconnect(reason, delayMs);
  }

  /** The socket closed under us (server close or lost connection). */
  private onClose(conn: Connection, code: number, reason: string): void {
    this.dying.delete(conn.ws);
    if (conn !== this.conn) return;
    this.conn = undefined;
    stopTimers(conn);
    const recovery = recoveryFor(code);
    const why = describeClose(code, reason);
    this.opts.logger.warn({ code, reason: why, recovery }, 'gateway closed');
    if (recovery === 'fatal') {
      const fatalWhy = code === 4004 ? 'token invalid' : why;
      this.forgetSession();
      this.setState('fatal', fatalWhy);
      this.safeEmit('fatal', { code, reason: fatalWhy });
      return;
    }
    if (recovery === 'identify') this.forgetSession();
    this.scheduleReconnect(`closed ${code}: ${why}`);
  }

  private scheduleReconnect(reason: string, delayMs?: number): void {
    if (this._state === 'closed' || this._state === 'fatal') return;
    this.setState('reconnecting', reason);
    const wait = delayMs ?? this.backoffDelay();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this._state === 'reconnecting') this.open();
    }, wait);
  }

  /** Half to all of min·2^attempts (capped): spread out, growing while attempts keep failing. */
  private backoffDelay(): number {
    const { minMs, maxMs } = this.opts.backoff ?? { minMs: 1000, maxMs: 60_000 };
    const ceiling = Math.min(maxMs, minMs * 2 ** this.attempts);
    this.attempts++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  private retire(ws: WebSocket, code: number, reason: string): void {
    if (ws.readyState === WebSocket.CLOSED) return;
    this.dying.add(ws);
    ws.once('close', () => this.dying.delete(ws));
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
      return;
    }
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      ws.terminate();
    }
    // A dead peer never answers the close frame.
    const cut = setTimeout(() => ws.terminate(), this.opts.closeTimeoutMs ?? 1000);
    ws.once('close', () => clearTimeout(cut));
  }

  private forgetSession(): void {
    this._sessionId = null;
    this.resumeUrl = null;
    this._seq = null;
  }

  // ---------------------------------------------------------------- helpers

  private write(conn: Connection, payload: { op: number; d: unknown }): boolean {
    if (conn.ws.readyState !== WebSocket.OPEN) return false;
    conn.ws.send(JSON.stringify(payload), (err) => {
      if (err) this.opts.logger.debug({ err: err.message }, 'gateway send failed');
    });
    return true;
  }

  private helloTimeout(): number {
    return this.opts.helloTimeoutMs ?? 20_000;
  }

  private setState(to: GatewayState, reason?: string): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    this.opts.logger.info({ from, to, reason }, 'gateway state');
    this.safeEmit('state', { from, to, ...(reason ? { reason } : {}) });
  }

  /** A listener that throws must not take the socket handler down with it. */
  private safeEmit<K extends keyof GatewayEvents>(event: K, ...args: GatewayEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: GatewayEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.opts.logger.error({ event, err: (err as Error).message }, 'gateway listener failed');
    }
  }
}

function stopTimers(conn: Connection): void {
  if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
  if (conn.heartbeatTimer) clearTimeout(conn.heartbeatTimer);
  conn.handshakeTimer = undefined;
  conn.heartbeatTimer = undefined;
}

function waitClosed(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => ws.once('close', () => resolve()));
}
