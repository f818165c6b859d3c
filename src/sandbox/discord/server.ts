/**
 * The simulated Discord: ONE loopback HTTP server for REST (`/api/v9`), the upload host (the path
 * of the real `upload_url`), the CDN (`/attachments/…`), the inpaint form host, and the gateway on
 * websocket upgrade. It answers like Discord does, error bodies included, and never crashes on
 * garbage. Midjourney is not here: a bot plugs in through {@link FakeDiscord.onInteraction}.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DiscordAttachment, DiscordMessage } from '../../discord/types.ts';
import { type Logger, silentLogger } from '../../log.ts';
import type {
  DiscordFaults,
  FakeChannel,
  FakeCommand,
  FakeDiscord,
  FakeUser,
  InteractionContext,
  MessageInit,
  ReactionContext,
} from './api.ts';
import { Cdn } from './cdn.ts';
import { RestFaults } from './faults.ts';
import { GatewayServer } from './gateway-server.ts';
import { ANSWERS, DiscordAnswer, obj, readBody, sendJson, sendText, str } from './http-util.ts';
import { handleRest, type RestWorld } from './rest-routes.ts';
import { DiscordStore } from './store.ts';

export interface FakeDiscordOptions {
  /** Loopback only. Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Hello's `heartbeat_interval`; small in tests. Default 41250. */
  heartbeatIntervalMs?: number;
  logger?: Logger;
  /** REST body limit (413 / 40005 beyond). Default 25 MiB. */
  maxBodyBytes?: number;
  /** Upload PUT limit. Default 100 MiB. */
  maxUploadBytes?: number;
  /** How long a session without socket can be resumed. Default 3 minutes. */
  sessionTtlMs?: number;
  /** CDN storage; past it the oldest files are forgotten. Default 256 MiB. */
  maxCdnBytes?: number;
  /** Extra routes beside Discord's (the standalone sandbox's `/sandbox/stats`); true = answered. */
  extraRoute?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;
}

type InpaintHandler = Parameters<FakeDiscord['onInpaintSubmit']>[0];

const UPLOAD_PATH =
  /^(?:\/upload)?\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/[\w.-]+)$/;
const INPAINT_PATH = /^(?:\/\.proxy)?\/inpaint\/api\/submit-job(?:\/([^/]+))?$/;

class FakeDiscordServer implements FakeDiscord {
  readonly faults: DiscordFaults;
  /** `cdnHold`: downloads wait unanswered while on. */
  private cdnHeld = false;
  private readonly heldAnswers: (() => void)[] = [];
  readonly store: DiscordStore;
  readonly cdn: Cdn;
  readonly gateway: GatewayServer;
  private readonly restFaults = new RestFaults();
  private readonly counters = { interactions: 0, restCalls: 0 };
  private readonly log: Logger;
  private readonly server = createServer((req, res) => this.onRequest(req, res));
  private readonly interactionHandlers: ((ix: InteractionContext) => void)[] = [];
  private readonly reactionHandlers: ((r: ReactionContext) => void)[] = [];
  private inpaintHandler: InpaintHandler | undefined;
  private _origin = '';

  constructor(private readonly opts: FakeDiscordOptions) {
    this.log = opts.logger ?? silentLogger();
    this.store = new DiscordStore();
    this.cdn = new Cdn(opts.maxCdnBytes);
    this.gateway = new GatewayServer({
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41250,
      resumeUrl: () => this.gatewayUrl,
      userByToken: (t) => this.store.userByToken(t),
      logger: this.log,
      ...(opts.sessionTtlMs ? { sessionTtlMs: opts.sessionTtlMs } : {}),
    });
    const gw = this.gateway;
    const rf = this.restFaults;
    this.faults = {
      dropSocket: (userId) => gw.drop(userId),
      sendReconnect: (userId) => gw.sendOp(7, null, userId),
      sendInvalidSession: (resumable, userId) => gw.sendOp(9, resumable, userId),
      closeWith: (code, userId) => gw.closeWith(code, userId),
      rateLimitNext: (n, o) => rf.rateLimitNext(n, o),
      outdatedCommandNext: (n) => rf.outdatedCommandNext(n),
      serverErrorNext: (n, pathPart) => rf.serverErrorNext(n, pathPart),
      stopAcks: () => {
        gw.acks = false;
      },
      resumeAcks: () => {
        gw.acks = true;
      },
      splitFrames: (on) => {
        gw.splitFrames = on;
      },
      cdnDown: (on) => {
        this.cdn.faults.down = on;
      },
      cdnErrorNext: (n) => {
        this.cdn.faults.errorsNext = Math.max(0, n);
      },
      cdnHold: (on) => {
        this.cdnHeld = on;
        if (on) return;
        for (const answer of this.heldAnswers.splice(0)) answer();
      },
      cdnUrlLifetime: (seconds) => {
        this.cdn.urlLifetimeS = seconds;
      },
    };
    this.server.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path !== '/') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      gw.wss.handleUpgrade(req, socket, head, (ws) => gw.wss.emit('connection', ws, req));
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this._origin = `http://${host}:${addr.port}`;
  }

  get origin(): string {
    return this._origin;
  }

  readonly messageState: FakeDiscord['messageState'] = {
    channelIds: () => this.store.channelIds(),
    exportChannel: (channelId, limit) => this.store.exportChannel(channelId, limit),
    importChannel: (channelId, msgs) => this.store.importChannel(channelId, msgs),
    onChange: (fn) => {
      this.store.onChange = fn;
    },
  };

  get gatewayUrl(): string {
    return this._origin.replace(/^http/, 'ws');
  }

  addUser(user: FakeUser): void {
    this.store.addUser(user);
  }
  addChannel(channel: FakeChannel): void {
    this.store.addChannel(channel);
  }
  addCommand(cmd: FakeCommand): void {
    this.store.addCommand(cmd);
  }
  setCommandVersion(name: string, version: string): void {
    this.store.setCommandVersion(name, version);
  }
  onInteraction(handler: (ix: InteractionContext) => void): void {
    this.interactionHandlers.push(handler);
  }
  onReaction(handler: (r: ReactionContext) => void): void {
    this.reactionHandlers.push(handler);
  }
  onInpaintSubmit(handler: InpaintHandler): void {
    this.inpaintHandler = handler;
  }

  postMessage(channelId: string, init: MessageInit): DiscordMessage {
    const msg = this.store.createMessage(channelId, init);
    this.broadcast(channelId, 'MESSAGE_CREATE', msg, msg);
    return msg;
  }

  editMessage(channelId: string, messageId: string, patch: Partial<DiscordMessage>): DiscordMessage {
    const msg = this.store.updateMessage(channelId, messageId, patch);
    this.broadcast(channelId, 'MESSAGE_UPDATE', msg, msg);
    return msg;
  }

  deleteMessage(channelId: string, messageId: string): void {
    const gone = this.store.removeMessage(channelId, messageId);
    if (!gone) return;
    const d = { id: messageId, channel_id: channelId, ...(gone.guild_id ? { guild_id: gone.guild_id } : {}) };
    this.broadcast(channelId, 'MESSAGE_DELETE', d, gone);
  }

  getMessage(channelId: string, messageId: string): DiscordMessage | undefined {
    return this.store.message(channelId, messageId);
  }

  storeFile(channelId: string, filename: string, bytes: Buffer, contentType: string): DiscordAttachment {
    return this.cdn.store(this.store.ids.next(), channelId, filename, bytes, contentType);
  }

  dispatchToUser(userId: string, t: string, d: unknown): void {
    this.gateway.dispatchToUser(userId, t, d);
  }

  stats() {
    const gw = this.gateway.counters;
    return { ...this.counters, identifies: gw.identifies, resumes: gw.resumes, connections: gw.connections };
  }

  async close(): Promise<void> {
    this.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** One serialization of the event for every recipient session. */
  private broadcast(channelId: string, t: string, d: unknown, msg: DiscordMessage): void {
    const json = JSON.stringify(d);
    for (const userId of this.store.recipients(channelId, msg))
      this.gateway.dispatchToUser(userId, t, d, json);
  }

  // ------------------------------------------------------------------ HTTP

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    req.on('error', () => {});
    this.route(req, res).catch((err: unknown) => {
      if (err instanceof DiscordAnswer) {
        sendJson(res, err.status, err.body, err.headers);
        return;
      }
      this.log.error({ err: (err as Error).message, url: req.url }, 'simulated Discord route failed');
      const e = ANSWERS.serverError();
      sendJson(res, e.status, e.body);
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://fake-discord');
    } catch {
      throw ANSWERS.notFound();
    }
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const api = /^\/api\/v(?:9|10)(\/.*)$/.exec(path);
    if (api) {
      await handleRest(this.restWorld(), req, res, url, api[1]!);
      return;
    }
    if ((method === 'GET' || method === 'HEAD') && /^\/(?:ephemeral-)?attachments\//.test(path)) {
      this.serveCdn(res, path, url.searchParams, method === 'HEAD');
      return;
    }
    const upload = UPLOAD_PATH.exec(path);
    if (upload && method === 'PUT') {
      await this.acceptUpload(req, res, upload[1]!, url.searchParams.get('upload_id'));
      return;
    }
    const inpaint = INPAINT_PATH.exec(path);
    if (inpaint && method === 'POST') {
      await this.inpaint(req, res, inpaint[1]);
      return;
    }
    if (this.opts.extraRoute?.(req, res, url)) return;
    throw ANSWERS.notFound();
  }

  private restWorld(): RestWorld {
    return {
      store: this.store,
      cdn: this.cdn,
      gateway: this.gateway,
      faults: this.restFaults,
      logger: this.log,
      maxBodyBytes: this.opts.maxBodyBytes ?? 25 * 1024 * 1024,
      stats: this.counters,
      postMessage: (channelId, init) => this.postMessage(channelId, init),
      interactionHandlers: () => this.interactionHandlers,
      reactionHandlers: () => this.reactionHandlers,
    };
  }

  private serveCdn(res: ServerResponse, path: string, query: URLSearchParams, headOnly: boolean): void {
    if (this.cdnHeld) {
      this.heldAnswers.push(() => this.serveCdn(res, path, query, headOnly));
      return;
    }
    let decoded = path;
    try {
      decoded = `/${path
        .split('/')
        .slice(1)
        .map((p) => encodeURIComponent(decodeURIComponent(p)))
        .join('/')}`;
    } catch {
      // a malformed escape cannot name a stored file
    }
    if (this.cdn.faults.errorsNext > 0) {
      this.cdn.faults.errorsNext--;
      sendText(res, 500, 'Internal Server Error');
      return;
    }
    const file = this.cdn.serve(decoded.replace(/^\/ephemeral-attachments\//, '/attachments/'), query);
    if (typeof file === 'string') {
      sendText(res, 404, 'This content is no longer available.');
      return;
    }
    res.writeHead(200, {
      'content-type': file.contentType,
      'content-length': String(file.bytes.length),
      'cache-control': 'public, max-age=31536000',
    });
    res.end(headOnly ? undefined : file.bytes);
  }

  private async acceptUpload(
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    uploadId: string | null,
  ): Promise<void> {
    const { body, tooLarge } = await readBody(req, this.opts.maxUploadBytes ?? 100 * 1024 * 1024);
    if (tooLarge) {
      sendText(res, 413, 'EntityTooLarge');
      return;
    }
    const type = req.headers['content-type'] ?? 'application/octet-stream';
    if (!this.cdn.fillSlot(key, uploadId, body, type)) {
      sendText(res, 404, 'NoSuchUpload');
      return;
    }
    res.writeHead(200, { 'content-length': '0' }).end();
  }

  private async inpaint(
    req: IncomingMessage,
    res: ServerResponse,
    pathToken: string | undefined,
  ): Promise<void> {
    const { body, tooLarge } = await readBody(req, this.opts.maxBodyBytes ?? 25 * 1024 * 1024);
    if (tooLarge) {
      sendJson(res, 413, { success: false, message: 'request too large' });
      return;
    }
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = obj(JSON.parse(body.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    if (!parsed) {
      sendJson(res, 400, { success: false, message: 'invalid JSON' });
      return;
    }
    const handler = this.inpaintHandler;
    if (!handler) {
      sendJson(res, 503, { success: false, message: 'no inpaint service' });
      return;
    }
    let answer: ReturnType<InpaintHandler>;
    try {
      answer = handler({
        customId: str(parsed.customId) ?? pathToken ?? '',
        mask: str(parsed.mask) ?? '',
        prompt: str(parsed.prompt) ?? '',
      });
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'inpaint handler failed');
      sendJson(res, 500, { success: false, message: 'internal error' });
      return;
    }
    if (answer.ok) sendJson(res, 200, { success: true });
    else sendJson(res, answer.status ?? 400, { success: false, message: answer.message ?? 'refused' });
  }
}

/** Starts the simulated Discord on loopback (port 0 by default). */
export async function startFakeDiscord(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const fake = new FakeDiscordServer(opts);
  await fake.listen();
  return fake;
}
