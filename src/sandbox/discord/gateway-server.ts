/**
 * The simulated gateway: zlib-stream (or plain JSON) frames, Hello/Identify/Resume, heartbeats,
 * sessions that outlive a dropped socket with a replay buffer, and the faults tests ask for.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { constants, createDeflate, type Deflate } from 'node:zlib';
import { type WebSocket, WebSocketServer } from 'ws';
import type { FakeUser } from './api.ts';

interface Session {
  id: string;
  user: FakeUser;
  seq: number;
  buffer: { s: number; t: string; d: unknown }[];
  socket: Conn | undefined;
  closedAt: number | null;
}

interface Conn {
  ws: WebSocket;
  deflate: Deflate | null;
  session: Session | undefined;
  lastBeat: number;
  /** Compressed sends one after the other, so each frame holds exactly one payload. */
  chain: Promise<void>;
}

const REPLAY_LIMIT = 1000;

export interface GatewayServerOptions {
  heartbeatIntervalMs: number;
  gatewayUrl: () => string;
  findUserByToken(token: string): FakeUser | undefined;
  onConnection(): void;
  onIdentify(): void;
  onResume(): void;
}

export class GatewayServer {
  readonly wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  private readonly conns = new Set<Conn>();
  private readonly sessions = new Map<string, Session>();
  acks = true;
  split = false;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly opts: GatewayServerOptions) {
    this.wss.on('connection', (ws, req) => this.onConnection(ws, req));
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, opts.heartbeatIntervalMs / 2));
    this.sweeper.unref();
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    this.opts.onConnection();
    const compress = /compress=zlib-stream/.test(req.url ?? '');
    const conn: Conn = {
      ws,
      deflate: compress ? createDeflate({ flush: constants.Z_SYNC_FLUSH }) : null,
      session: undefined,
      lastBeat: Date.now(),
      chain: Promise.resolve(),
    };
    this.conns.add(conn);
    this.send(conn, {
      op: 10,
      d: { heartbeat_interval: this.opts.heartbeatIntervalMs, _trace: ['["fake-gateway",{"micros":0.0}]'] },
      s: null,
      t: null,
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      let p: { op?: unknown; d?: unknown };
      try {
        p = JSON.parse(data.toString()) as { op?: unknown; d?: unknown };
      } catch {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      this.onPayload(conn, p);
    });
    ws.on('close', (code) => {
      this.conns.delete(conn);
      conn.deflate?.close();
      const s = conn.session;
      if (s && s.socket === conn) {
        s.socket = undefined;
        s.closedAt = Date.now();
        if (code === 1000 || code === 1001) this.sessions.delete(s.id);
      }
    });
    ws.on('error', () => {});
  }

  private onPayload(conn: Conn, p: { op?: unknown; d?: unknown }): void {
    const d = (p.d ?? {}) as Record<string, unknown>;
    switch (p.op) {
      case 1:
        conn.lastBeat = Date.now();
        if (this.acks) this.send(conn, { op: 11, d: null, s: null, t: null });
        return;
      case 2: {
        this.opts.onIdentify();
        if (conn.session) {
          conn.ws.close(4005, 'Already authenticated.');
          return;
        }
        const user = typeof d.token === 'string' ? this.opts.findUserByToken(d.token) : undefined;
        if (!user) {
          conn.ws.close(4004, 'Authentication failed.');
          return;
        }
        const session: Session = {
          id: randomBytes(16).toString('hex'),
          user,
          seq: 0,
          buffer: [],
          socket: conn,
          closedAt: null,
        };
        this.sessions.set(session.id, session);
        conn.session = session;
        this.dispatch(session, 'READY', {
          v: 9,
          user: { id: user.id, username: user.username, global_name: null, discriminator: '0', avatar: null },
          session_id: session.id,
          session_type: 'normal',
          resume_gateway_url: this.opts.gatewayUrl(),
          guilds: [],
          private_channels: [],
          users: [],
          merged_members: [],
          relationships: [],
          sessions: [],
          _trace: [],
        });
        this.dispatch(session, 'READY_SUPPLEMENTAL', {
          guilds: [],
          merged_members: [],
          merged_presences: {},
        });
        this.dispatch(session, 'SESSIONS_REPLACE', []);
        return;
      }
      case 6: {
        this.opts.onResume();
        const session = typeof d.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
        const seq = typeof d.seq === 'number' ? d.seq : -1;
        if (!session || d.token !== session.user.token || seq < (session.buffer[0]?.s ?? 1) - 1) {
          this.send(conn, { op: 9, d: false, s: null, t: null });
          return;
        }
        if (session.socket && session.socket !== conn) session.socket.ws.terminate();
        session.socket = conn;
        session.closedAt = null;
        conn.session = session;
        for (const e of session.buffer) if (e.s > seq) this.send(conn, { op: 0, s: e.s, t: e.t, d: e.d });
        this.dispatch(session, 'RESUMED', { _trace: [] });
        return;
      }
      default:
        conn.ws.close(4001, 'Unknown opcode.');
    }
  }

  /** Sends a dispatch to a session (buffered for replay when its socket is gone). */
  dispatch(session: Session, t: string, d: unknown): void {
    session.seq++;
    session.buffer.push({ s: session.seq, t, d });
    if (session.buffer.length > REPLAY_LIMIT) session.buffer.shift();
    if (session.socket) this.send(session.socket, { op: 0, s: session.seq, t, d });
  }

  dispatchToUser(userId: string, t: string, d: unknown): void {
    for (const s of this.sessions.values()) if (s.user.id === userId) this.dispatch(s, t, d);
  }

  dispatchToSession(sessionId: string, t: string, d: unknown): boolean {
    const s = this.sessions.get(sessionId);
    if (!s) return false;
    this.dispatch(s, t, d);
    return true;
  }

  hasSession(sessionId: string, userId: string): boolean {
    return this.sessions.get(sessionId)?.user.id === userId;
  }

  private send(conn: Conn, payload: unknown): void {
    const { ws, deflate } = conn;
    if (ws.readyState !== ws.OPEN) return;
    const json = JSON.stringify(payload);
    if (!deflate) {
      ws.send(json);
      return;
    }
    conn.chain = conn.chain.then(
      () =>
        new Promise<void>((resolve) => {
          const chunks: Buffer[] = [];
          const onData = (c: Buffer) => chunks.push(c);
          deflate.on('data', onData);
          deflate.write(json);
          deflate.flush(constants.Z_SYNC_FLUSH, () => {
            deflate.off('data', onData);
            resolve();
            const frame = Buffer.concat(chunks);
            if (ws.readyState !== ws.OPEN) return;
            if (this.split && frame.length > 8) {
              const mid = Math.floor(frame.length / 2);
              ws.send(frame.subarray(0, mid), { binary: true });
              ws.send(frame.subarray(mid), { binary: true });
            } else ws.send(frame, { binary: true });
          });
        }),
    );
  }

  /** Closes sockets that stopped heartbeating; forgets sessions gone for long. */
  private sweep(): void {
    const now = Date.now();
    for (const c of this.conns) {
      if (now - c.lastBeat > this.opts.heartbeatIntervalMs * 2.5 + 1000)
        c.ws.close(4009, 'Session timed out.');
    }
    for (const [id, s] of this.sessions)
      if (s.closedAt && now - s.closedAt > 5 * 60_000) this.sessions.delete(id);
  }

  /** Sends a raw gateway payload (op 7, op 9 …) to the user's sockets, compressed like any other. */
  sendOp(payload: { op: number; d: unknown }, userId?: string): void {
    for (const c of this.socketsOf(userId)) this.send(c, { ...payload, s: null, t: null });
  }

  socketsOf(userId?: string): Conn[] {
    return [...this.conns].filter((c) => !userId || c.session?.user.id === userId);
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const c of this.conns) c.ws.terminate();
    this.wss.close();
  }
}
