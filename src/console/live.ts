/**
 * Live updates for every open console page: one engine listener, each change serialised once (and
 * only when some browser is to get it) and written to every browser's Server-Sent Events stream.
 * Recent events are kept (the engine's frozen snapshots, not copies) so that a browser
 * that lost its stream gets what it missed (by `Last-Event-ID`), or is told to refresh when they
 * are gone (another process, or too long away).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccountHealth, EngineApi } from '../engine/api.ts';
import type { Task } from '../engine/task.ts';

export interface LiveOptions {
  /** How many recent events a reconnecting browser can catch up on. */
  keep?: number;
  /** Comment lines that keep idle proxies from closing the stream. */
  heartbeatMs?: number;
  /** A browser further behind than this many bytes is dropped; it reconnects and catches up. */
  maxBufferedBytes?: number;
}

interface Sent {
  seq: number;
  event: string;
  /** The engine's snapshot: never changed after it is announced. */
  data: unknown;
  /** The SSE frame, made when first needed. */
  frame?: string;
}

/** The event stream of §16, fed by the engine's `task` and `account` events. */
export class LiveStream {
  /** Changes with every process, so an id from another run is never mistaken for ours. */
  readonly boot = randomBytes(6).toString('hex');
  private seq = 0;
  private readonly recent: Sent[] = [];
  private readonly clients = new Set<ServerResponse>();
  private readonly keep: number;
  private readonly maxBuffered: number;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly onTask = (task: Task) => this.publish('task', task);
  private readonly onAccount = (account: AccountHealth) => this.publish('account', account);

  constructor(
    private readonly engine: EngineApi,
    opts: LiveOptions = {},
  ) {
    this.keep = opts.keep ?? 1000;
    this.maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
    engine.on('task', this.onTask);
    engine.on('account', this.onAccount);
    this.heartbeat = setInterval(() => {
      for (const res of this.clients) res.write(': keep-alive\n\n');
    }, opts.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  private publish(event: string, data: unknown): void {
    const sent: Sent = { seq: ++this.seq, event, data };
    this.recent.push(sent);
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
    if (this.clients.size === 0) return;
    const frame = this.frameOf(sent);
    for (const res of this.clients) this.write(res, frame);
  }

  private frameOf(s: Sent): string {
    s.frame ??= `id: ${this.boot}-${s.seq}\nevent: ${s.event}\ndata: ${JSON.stringify(s.data)}\n\n`;
    return s.frame;
  }

  private write(res: ServerResponse, frame: string): void {
    if (res.writableLength > this.maxBuffered) {
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(frame);
  }

  /** What a browser that saw `lastId` missed: the frames after it, or null when they are gone. */
  missed(lastId: string): string[] | null {
    const m = /^([0-9a-f]+)-(\d+)$/.exec(lastId);
    if (!m || m[1] !== this.boot) return null;
    const seen = Number(m[2]);
    if (seen > this.seq) return null;
    const oldest = this.recent[0]?.seq ?? this.seq + 1;
    if (seen < oldest - 1) return null;
    return this.recent.filter((s) => s.seq > seen).map((s) => this.frameOf(s));
  }

  /** Opens one browser's stream on `res`. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write('retry: 2000\n\n');
    const last = req.headers['last-event-id'];
    if (typeof last === 'string' && last) {
      const frames = this.missed(last);
      if (frames === null) res.write(`id: ${this.boot}-${this.seq}\nevent: reset\ndata: {}\n\n`);
      else for (const f of frames) res.write(f);
    } else {
      // A fresh page: it loads what it shows itself; this id lets a later reconnect catch up.
      res.write(`id: ${this.boot}-${this.seq}\nevent: hello\ndata: {}\n\n`);
    }
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    res.on('close', drop);
    req.on('close', drop);
  }

  /** Ends every stream (before the HTTP server closes, which waits for open connections). */
  close(): void {
    clearInterval(this.heartbeat);
    this.engine.off('task', this.onTask);
    this.engine.off('account', this.onAccount);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
