/**
 * The simulated gateway. Each socket gets Hello at once and may Identify or Resume before or
 * after it; frames are zlib-stream compressed (one deflater per socket, a sync flush per payload)
 * when the URL asks for it, plain text JSON otherwise. Sessions outlive their socket for a while,
 * with their own sequence counter and a replay buffer; 1000/1001 from the client ends them.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { constants, createDeflate, type Deflate } from 'node:zlib';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../../log.ts';
import type { FakeUser } from './api.ts';
import { publicUser } from './store.ts';

const SUFFIX = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Discord refuses client payloads above 15 KiB. */
const MAX_CLIENT_PAYLOAD = 15 * 1024;
/** Client ops a user session may send that the fake has no use for. */
const IGNORED_OPS = new Set([3, 4, 8, 13, 14, 36, 37, 40, 41]);
/** Closes after which the session cannot be resumed. */
const ENDS_SESSION = new Set([4003, 4004, 4005, 4007, 4009, 4010, 4011, 4012, 4013, 4014]);

export const CLOSE_REASONS: Readonly<Record<number, string>> = {
  4000: 'Unknown error.',
  4001: 'Unknown opcode.',
  4002: 'Error while decoding payload.',
  4003: 'Not authenticated.',
  4004: 'Authentication failed.',
  4005: 'Already authenticated.',
  4007: 'Invalid seq.',
  4008: 'Rate limited.',
  4009: 'Session timed out.',
  4010: 'Invalid shard.',
  4011: 'Sharding required.',
  4012: 'Invalid API version.',
  4013: 'Invalid intent(s).',
  4014: 'Disallowed intent(s).',
};

interface BufferedDispatch {
  s: number;
  frame: string;
}

interface Session {
  id: string;
  user: FakeUser;
  seq: number;
  buffer: BufferedDispatch[];
  /** Highest `s` pushed out of the buffer: a Resume from before it cannot be served. */
  evictedUpTo: number;
  conn: Conn | undefined;
  expiry: NodeJS.Timeout | undefined;
}

interface Conn {
  ws: WebSocket;
  deflate: Deflate | undefined;
  out: Buffer[];
  /** Payloads waiting for the deflater: one is compressed at a time, so each frame holds exactly one. */
  pending: string[];
  compressing: boolean;
  session: Session | undefined;
  heartbeatDeadline: NodeJS.Timeout | undefined;
}

export interface GatewayServerOptions {
  heartbeatIntervalMs: number;
  /** Sent as READY's `resume_gateway_url`. */
  resumeUrl: () => string;
  userByToken(token: string | undefined): FakeUser | undefined;
  logger: Logger;
  /** How long a session without socket stays resumable. Default 3 minutes. */
  sessionTtlMs?: number;
  replayLimit?: number;
}

export class GatewayServer {
  readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 * 1024 });
  readonly counters = { connections: 0, identifies: 0, resumes: 0 };
  acks = true;
  splitFrames = false;
  private readonly conns = new Set<Conn>();
  private readonly sessions = new Map<string, Session>();
  private holdDepth = 0;
  private held: (() => void)[] = [];

  constructor(private readonly opts: GatewayServerOptions) {
    this.wss.on('connection', (ws: WebSocket, req: IncomingMessage) => this.onConnection(ws, req));
  }

  // ------------------------------------------------------------------ dispatching

  /**
   * Dispatches to every session of the user, connected or waiting to be resumed. `d` may be
   * given pre-serialized (`dJson`) when the same event goes to many sessions.
   */
  dispatchToUser(userId: string, t: string, d: unknown, dJson = JSON.stringify(d)): void {
    for (const s of this.sessions.values()) if (s.user.id === userId) this.dispatch(s, t, dJson);
  }

  /** Dispatches to one session of the user; false when there is no such session. */
  dispatchToSession(
    sessionId: string | undefined,
    userId: string,
    t: string,
    d: unknown,
    now = false,
  ): boolean {
    const s = sessionId ? this.sessions.get(sessionId) : undefined;
    if (!s || s.user.id !== userId) return false;
    this.dispatch(s, t, JSON.stringify(d), now);
    return true;
  }

  /**
   * Holds every dispatch (but those sent with `now`) until the returned release is called: events
   * a handler fires come after the events that answer the request that called it.
   */
  hold(): () => void {
    this.holdDepth++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holdDepth--;
      if (this.holdDepth > 0) return;
      const queued = this.held;
      this.held = [];
      for (const run of queued) run();
    };
  }

  private dispatch(session: Session, t: string, dJson: string, now = false): void {
    if (this.holdDepth > 0 && !now) {
      this.held.push(() => this.dispatch(session, t, dJson, true));
      return;
    }
    if (!this.sessions.has(session.id)) return;
    const s = ++session.seq;
    const frame = `{"op":0,"s":${s},"t":${JSON.stringify(t)},"d":${dJson}}`;
    session.buffer.push({ s, frame });
    const limit = this.opts.replayLimit ?? 1000;
    if (session.buffer.length > limit) {
      const dropped = session.buffer.splice(0, session.buffer.length - limit);
      session.evictedUpTo = dropped[dropped.length - 1]?.s ?? session.evictedUpTo;
    }
    if (session.conn) this.send(session.conn, frame);
  }

  /**
   * A heartbeat carries the last sequence the client has: it never resumes from before it, so
   * what it already has need not be kept for a replay.
   */
  private trimAcknowledged(session: Session, seq: number): void {
    if (seq > session.seq) return;
    let n = 0;
    while (n < session.buffer.length && session.buffer[n]!.s <= seq) n++;
    if (n === 0) return;
    session.buffer.splice(0, n);
    session.evictedUpTo = Math.max(session.evictedUpTo, seq);
  }

  /** A dispatch that belongs to one connection (READY, RESUMED …): numbered, never replayed. */
  private dispatchConnOnly(conn: Conn, session: Session, t: string, d: unknown): void {
    const s = ++session.seq;
    this.send(conn, `{"op":0,"s":${s},"t":${JSON.stringify(t)},"d":${JSON.stringify(d)}}`);
  }

  // ------------------------------------------------------------------ sockets

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    this.counters.connections++;
    const query = new URL(req.url ?? '/', 'http://gateway').searchParams;
    // Every write is sync-flushed: its output ends with 00 00 ff ff, one frame per payload.
    const deflate =
      query.get('compress') === 'zlib-stream' ? createDeflate({ flush: constants.Z_SYNC_FLUSH }) : undefined;
    const conn: Conn = {
      ws,
      deflate,
      out: [],
      pending: [],
      compressing: false,
      session: undefined,
      heartbeatDeadline: undefined,
    };
    deflate?.on('data', (c: Buffer) => conn.out.push(c));
    deflate?.on('error', () => ws.terminate());
    this.conns.add(conn);
    this.armHeartbeatDeadline(conn);
    this.send(
      conn,
      JSON.stringify({
        op: 10,
        d: {
          heartbeat_interval: this.opts.heartbeatIntervalMs,
          _trace: ['["gateway-fake-1",{"micros":0.0}]'],
        },
        s: null,
        t: null,
      }),
    );
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(conn, data, isBinary));
    ws.on('close', (code: number) => this.onClose(conn, code));
    ws.on('error', () => {});
  }

  private onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    // Clients never compress what they send.
    if (isBinary || bytes.length > MAX_CLIENT_PAYLOAD) {
      this.closeConn(conn, 4002);
      return;
    }
    let p: { op?: unknown; d?: unknown };
    try {
      const v: unknown = JSON.parse(bytes.toString('utf8'));
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      p = v as { op?: unknown; d?: unknown };
    } catch {
      this.closeConn(conn, 4002);
      return;
    }
    switch (p.op) {
      case 1:
        this.armHeartbeatDeadline(conn);
        if (conn.session && typeof p.d === 'number') this.trimAcknowledged(conn.session, p.d);
        if (this.acks) this.send(conn, '{"op":11,"d":null,"s":null,"t":null}');
        return;
      case 2:
        this.onIdentify(conn, p.d);
        return;
      case 6:
        this.onResume(conn, p.d);
        return;
      default:
        if (!conn.session) this.closeConn(conn, 4003);
        else if (typeof p.op !== 'number' || !IGNORED_OPS.has(p.op)) this.closeConn(conn, 4001);
    }
  }

  private onIdentify(conn: Conn, d: unknown): void {
    if (conn.session) {
      this.closeConn(conn, 4005);
      return;
    }
    const user = this.opts.userByToken(tokenOf(d));
    if (!user) {
      this.closeConn(conn, 4004);
      return;
    }
    const session: Session = {
      id: randomBytes(16).toString('hex'),
      user,
      seq: 0,
      buffer: [],
      evictedUpTo: 0,
      conn,
      expiry: undefined,
    };
    this.sessions.set(session.id, session);
    conn.session = session;
    this.counters.identifies++;
    this.dispatchConnOnly(conn, session, 'READY', {
      v: 9,
      user: publicUser(user),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.opts.resumeUrl(),
      guilds: [],
      private_channels: [],
      users: [],
      merged_members: [],
      relationships: [],
      sessions: [],
      user_settings_proto: '',
      country_code: 'US',
      _trace: ['["gateway-fake-1",{"micros":0.0}]'],
    });
    this.dispatchConnOnly(conn, session, 'READY_SUPPLEMENTAL', {
      guilds: [],
      merged_members: [],
      merged_presences: { guilds: [], friends: [] },
      lazy_private_channels: [],
      disclose: [],
    });
    this.dispatchConnOnly(conn, session, 'SESSIONS_REPLACE', [
      {
        session_id: session.id,
        status: 'online',
        activities: [],
        client_info: { client: 'web', os: 'other', version: 0 },
      },
    ]);
  }

  private onResume(conn: Conn, d: unknown): void {
    if (conn.session) {
      this.closeConn(conn, 4005);
      return;
    }
    const body = (d && typeof d === 'object' ? d : {}) as { session_id?: unknown; seq?: unknown };
    const user = this.opts.userByToken(tokenOf(d));
    if (!user) {
      this.closeConn(conn, 4004);
      return;
    }
    const session = typeof body.session_id === 'string' ? this.sessions.get(body.session_id) : undefined;
    const seq = typeof body.seq === 'number' && Number.isInteger(body.seq) ? body.seq : 0;
    if (!session || session.user.id !== user.id || seq < session.evictedUpTo) {
      this.send(conn, '{"op":9,"d":false,"s":null,"t":null}');
      return;
    }
    if (seq > session.seq) {
      this.closeConn(conn, 4007);
      return;
    }
    const old = session.conn;
    if (old && old !== conn) {
      old.session = undefined;
      old.ws.terminate();
    }
    if (session.expiry) clearTimeout(session.expiry);
    session.expiry = undefined;
    session.conn = conn;
    conn.session = session;
    this.counters.resumes++;
    for (const e of session.buffer) if (e.s > seq) this.send(conn, e.frame);
    this.dispatchConnOnly(conn, session, 'RESUMED', { _trace: ['["gateway-fake-1",{"micros":0.0}]'] });
  }

  private onClose(conn: Conn, code: number): void {
    this.conns.delete(conn);
    if (conn.heartbeatDeadline) clearTimeout(conn.heartbeatDeadline);
    conn.deflate?.close();
    const session = conn.session;
    conn.session = undefined;
    if (!session || session.conn !== conn) return;
    session.conn = undefined;
    // A client that says goodbye ends its session; any other close leaves it resumable for a while.
    if (code === 1000 || code === 1001) {
      this.endSession(session);
      return;
    }
    session.expiry = setTimeout(() => this.endSession(session), this.opts.sessionTtlMs ?? 180_000);
    session.expiry.unref();
  }

  private endSession(session: Session): void {
    if (session.expiry) clearTimeout(session.expiry);
    this.sessions.delete(session.id);
  }

  /** A client that stops heartbeating is closed, like Discord does. */
  private armHeartbeatDeadline(conn: Conn): void {
    if (conn.heartbeatDeadline) clearTimeout(conn.heartbeatDeadline);
    const interval = this.opts.heartbeatIntervalMs;
    conn.heartbeatDeadline = setTimeout(
      () => this.closeConn(conn, 4009),
      Math.max(interval * 2, interval + 1000),
    );
    conn.heartbeatDeadline.unref();
  }

  /** Closes a socket with a Discord close code and its reason; codes that end the session end it. */
  closeConn(conn: Conn, code: number): void {
    const session = conn.session;
    if (session && ENDS_SESSION.has(code)) {
      conn.session = undefined;
      session.conn = undefined;
      this.endSession(session);
    }
    try {
      conn.ws.close(code, CLOSE_REASONS[code] ?? '');
    } catch {
      conn.ws.terminate();
    }
  }

  // ------------------------------------------------------------------ output

  private send(conn: Conn, text: string): void {
    const { ws, deflate } = conn;
    if (ws.readyState !== ws.OPEN) return;
    if (!deflate) {
      ws.send(text);
      return;
    }
    conn.pending.push(text);
    if (!conn.compressing) this.compressNext(conn, deflate);
  }

  private compressNext(conn: Conn, deflate: Deflate): void {
    const text = conn.pending.shift();
    if (text === undefined) {
      conn.compressing = false;
      return;
    }
    conn.compressing = true;
    deflate.write(text, () => {
      const frame = Buffer.concat(conn.out);
      conn.out = [];
      this.sendFrame(conn.ws, frame);
      this.compressNext(conn, deflate);
    });
  }

  private sendFrame(ws: WebSocket, frame: Buffer): void {
    if (ws.readyState !== ws.OPEN || frame.length === 0) return;
    if (this.splitFrames && frame.length >= 8) {
      let mid = Math.floor(frame.length / 2);
      // The first half must not look complete, or a client would inflate half a payload.
      while (mid > 1 && frame.subarray(mid - 4, mid).equals(SUFFIX)) mid--;
      ws.send(frame.subarray(0, mid), { binary: true });
      ws.send(frame.subarray(mid), { binary: true });
    } else {
      ws.send(frame, { binary: true });
    }
  }

  // ------------------------------------------------------------------ faults

  /** Live sockets, of one user or of everyone. */
  connsOf(userId?: string): Conn[] {
    return [...this.conns].filter((c) => !userId || c.session?.user.id === userId);
  }

  /** Sends an opcode (7, 9 …) to the user's sockets; op 9 `d:false` also ends their sessions. */
  sendOp(op: number, d: unknown, userId?: string): void {
    for (const c of this.connsOf(userId)) {
      this.send(c, JSON.stringify({ op, d, s: null, t: null }));
      if (op === 9 && d === false && c.session) {
        const s = c.session;
        c.session = undefined;
        s.conn = undefined;
        this.endSession(s);
      }
    }
  }

  drop(userId?: string): void {
    for (const c of this.connsOf(userId)) c.ws.terminate();
  }

  closeWith(code: number, userId?: string): void {
    for (const c of this.connsOf(userId)) this.closeConn(c, code);
  }

  close(): void {
    for (const c of this.conns) {
      if (c.heartbeatDeadline) clearTimeout(c.heartbeatDeadline);
      c.ws.terminate();
      c.deflate?.close();
    }
    this.conns.clear();
    for (const s of this.sessions.values()) if (s.expiry) clearTimeout(s.expiry);
    this.sessions.clear();
    this.wss.close();
  }
}

function tokenOf(d: unknown): string | undefined {
  const token = d && typeof d === 'object' ? (d as { token?: unknown }).token : undefined;
  return typeof token === 'string' ? token : undefined;
}
