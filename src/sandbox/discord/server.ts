/**
 * The simulated Discord: one loopback HTTP server for REST (`/api/v9`), the upload host, the CDN
 * and the inpaint form host, plus the gateway on websocket upgrade. It answers like Discord does,
 * error bodies included, and never crashes on garbage.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DiscordAttachment, DiscordMessage } from '../../discord/types.ts';
import type { Logger } from '../../log.ts';
import type {
  DiscordFaults,
  FakeChannel,
  FakeCommand,
  FakeDiscord,
  FakeUser,
  InteractionContext,
  MessageInit,
} from './api.ts';
import { GatewayServer } from './gateway-server.ts';
import { SnowflakeSource } from './snowflakes.ts';

const MAX_BODY = 25 * 1024 * 1024;

interface StoredFile {
  bytes: Buffer;
  contentType: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message));
  }
}

const invalidForm = (code: string, message: string) =>
  new HttpError(400, {
    code: 50035,
    errors: { data: { _errors: [{ code, message }] } },
    message: 'Invalid Form Body',
  });

export interface FakeDiscordOptions {
  host?: string;
  port?: number;
  heartbeatIntervalMs?: number;
  logger?: Logger;
}

/** Starts the simulated Discord on loopback. */
export async function startFakeDiscord(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const ids = new SnowflakeSource();
  const users = new Map<string, FakeUser>();
  const channels = new Map<string, FakeChannel>();
  const commands = new Map<string, FakeCommand>();
  const messages = new Map<string, Map<string, DiscordMessage>>();
  const files = new Map<string, StoredFile>();
  const uploads = new Map<string, StoredFile | null>();
  const modalsOpened = new Map<string, { userId: string; customId: string }>();
  const stats = { interactions: 0, restCalls: 0, identifies: 0, resumes: 0, connections: 0 };
  const faultState = {
    rateLimit: [] as { retryAfterSec: number; global: boolean; pathPart?: string }[],
    outdated: 0,
    serverError: [] as (string | undefined)[],
  };
  const interactionHandlers: ((ix: InteractionContext) => void)[] = [];
  let inpaintHandler: Parameters<FakeDiscord['onInpaintSubmit']>[0] | undefined;
  let origin = '';

  const gateway = new GatewayServer({
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41250,
    gatewayUrl: () => origin.replace(/^http/, 'ws'),
    findUserByToken: (t) => [...users.values()].find((u) => u.token === t),
    onConnection: () => stats.connections++,
    onIdentify: () => stats.identifies++,
    onResume: () => stats.resumes++,
  });

  const channelMessages = (id: string) => {
    let m = messages.get(id);
    if (!m) {
      m = new Map();
      messages.set(id, m);
    }
    return m;
  };

  const broadcast = (channelId: string, t: string, d: unknown) => {
    const ch = channels.get(channelId);
    if (!ch) return;
    for (const uid of ch.memberIds) gateway.dispatchToUser(uid, t, d);
  };

  const withGuild = (channelId: string, msg: DiscordMessage): DiscordMessage => {
    const guildId = channels.get(channelId)?.guildId;
    return guildId ? { ...msg, guild_id: guildId } : msg;
  };

  const cdnUrl = (path: string) => {
    const stamp = Math.floor(Date.now() / 1000).toString(16);
    return `${path}?ex=${stamp}&is=${stamp}&hm=${randomBytes(16).toString('hex')}&`;
  };

  const storeFile = (
    channelId: string,
    filename: string,
    bytes: Buffer,
    contentType: string,
  ): DiscordAttachment => {
    const id = ids.next();
    const path = `/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
    files.set(path, { bytes, contentType });
    return {
      id,
      filename,
      size: bytes.length,
      url: `https://cdn.discordapp.com${cdnUrl(path)}`,
      proxy_url: `https://media.discordapp.net${cdnUrl(path)}`,
      content_type: contentType,
      width: 1024,
      height: 1024,
    };
  };

  const postMessage = (channelId: string, init: MessageInit): DiscordMessage => {
    const author = init.author as FakeUser & { bot?: boolean };
    const msg = {
      type: 0,
      tts: false,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      pinned: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      components: [],
      flags: 0,
      content: '',
      ...init,
      author: {
        id: author.id,
        username: author.username ?? 'user',
        global_name: null,
        discriminator: author.bot ? '9282' : '0',
        avatar: null,
        ...(author.bot ? { bot: true } : {}),
      },
      id: ids.next(),
      channel_id: channelId,
    } as DiscordMessage;
    const full = withGuild(channelId, msg);
    channelMessages(channelId).set(full.id, full);
    broadcast(channelId, 'MESSAGE_CREATE', full);
    return full;
  };

  const editMessage = (
    channelId: string,
    messageId: string,
    patch: Partial<DiscordMessage>,
  ): DiscordMessage => {
    const cur = channelMessages(channelId).get(messageId);
    if (!cur) throw new Error(`no message ${messageId}`);
    const next = {
      ...cur,
      ...patch,
      id: cur.id,
      channel_id: cur.channel_id,
      edited_timestamp: new Date().toISOString(),
    };
    channelMessages(channelId).set(messageId, next);
    broadcast(channelId, 'MESSAGE_UPDATE', next);
    return next;
  };

  const deleteMessage = (channelId: string, messageId: string) => {
    if (!channelMessages(channelId).delete(messageId)) return;
    const guildId = channels.get(channelId)?.guildId;
    broadcast(channelId, 'MESSAGE_DELETE', {
      id: messageId,
      channel_id: channelId,
      ...(guildId ? { guild_id: guildId } : {}),
    });
  };

  // ------------------------------------------------------------------ REST

  const authUser = (req: IncomingMessage): FakeUser => {
    const token = req.headers.authorization;
    const user = token ? [...users.values()].find((u) => u.token === token) : undefined;
    if (!user) throw new HttpError(401, { message: '401: Unauthorized', code: 0 });
    return user;
  };

  const memberChannel = (user: FakeUser, channelId: string): FakeChannel => {
    const ch = channels.get(channelId);
    if (!ch) throw new HttpError(404, { message: 'Unknown Channel', code: 10003 });
    if (!ch.memberIds.includes(user.id)) throw new HttpError(403, { message: 'Missing Access', code: 50001 });
    return ch;
  };

  const parseJson = (raw: Buffer, contentType: string | undefined): Record<string, unknown> => {
    let text = raw.toString('utf8');
    if (contentType?.startsWith('multipart/form-data')) {
      const m = /name="payload_json"\r\n(?:[^\r\n]*\r\n)*\r\n([\s\S]*?)\r\n--/.exec(text);
      text = m?.[1] ?? '';
    }
    try {
      const v = JSON.parse(text) as unknown;
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch {
      throw new HttpError(400, { message: 'The request body contains invalid JSON.', code: 50109 });
    }
  };

  const checkFaults = (path: string) => {
    const rl = faultState.rateLimit[0];
    if (rl && (!rl.pathPart || path.includes(rl.pathPart))) {
      faultState.rateLimit.shift();
      throw Object.assign(
        new HttpError(429, {
          message: rl.global ? 'You are being rate limited.' : 'The resource is being rate limited.',
          retry_after: rl.retryAfterSec,
          global: rl.global,
        }),
        {
          headers: {
            'retry-after': String(Math.ceil(rl.retryAfterSec)),
            'x-ratelimit-scope': rl.global ? 'global' : 'user',
            ...(rl.global ? { 'x-ratelimit-global': 'true' } : {}),
          },
        },
      );
    }
    const se = faultState.serverError[0];
    if (faultState.serverError.length > 0 && (!se || path.includes(se))) {
      faultState.serverError.shift();
      throw new HttpError(500, { message: '500: Internal Server Error', code: 0 });
    }
  };

  const interaction = (user: FakeUser, body: Record<string, unknown>, res: ServerResponse) => {
    const type = body.type;
    if (type !== 2 && type !== 3 && type !== 5)
      throw invalidForm('INTERACTION_TYPE_INVALID', 'Invalid interaction type');
    const channelId = typeof body.channel_id === 'string' ? body.channel_id : '';
    const channel = memberChannel(user, channelId);
    const data = (body.data && typeof body.data === 'object' ? body.data : {}) as Record<string, unknown>;
    const nonce = typeof body.nonce === 'string' ? body.nonce : undefined;
    const sessionId = typeof body.session_id === 'string' ? body.session_id : undefined;
    const applicationId = typeof body.application_id === 'string' ? body.application_id : '';
    let message: DiscordMessage | undefined;
    let resolvedFiles: InteractionContext['files'] = [];
    if (type === 2) {
      const cmd = [...commands.values()].find((c) => c.id === data.id);
      if (!cmd) throw invalidForm('INTERACTION_APPLICATION_COMMAND_INVALID', 'This command is unknown');
      if (faultState.outdated > 0 || data.version !== cmd.version) {
        if (faultState.outdated > 0) faultState.outdated--;
        throw invalidForm(
          'INTERACTION_APPLICATION_COMMAND_INVALID_VERSION',
          'This command is outdated, please try again in a few minutes',
        );
      }
      const atts = Array.isArray(data.attachments) ? (data.attachments as Record<string, unknown>[]) : [];
      resolvedFiles = atts.map((a) => {
        const f = uploads.get(String(a.uploaded_filename));
        if (!f) throw invalidForm('ATTACHMENT_NOT_FOUND', 'Unknown attachment');
        return { id: String(a.id), filename: String(a.filename), bytes: f.bytes, contentType: f.contentType };
      });
    } else if (type === 3) {
      message = channelMessages(channelId).get(String(body.message_id));
      if (!message) throw new HttpError(404, { message: 'Unknown Message', code: 10008 });
      const customId = String(data.custom_id ?? '');
      const onIt = (message.components ?? []).some((r) => r.components.some((c) => c.custom_id === customId));
      if (!onIt) throw invalidForm('COMPONENT_VALIDATION_FAILED', 'Component validation failed');
    } else {
      const opened = modalsOpened.get(String(data.id));
      if (!opened || opened.userId !== user.id || opened.customId !== data.custom_id) {
        throw new HttpError(404, { message: 'Unknown interaction', code: 10062 });
      }
      modalsOpened.delete(String(data.id));
    }
    stats.interactions++;
    res.writeHead(204).end();
    const id = ids.next();
    const toSession = (t: string, d: unknown) => {
      if (sessionId && gateway.hasSession(sessionId, user.id)) gateway.dispatchToSession(sessionId, t, d);
    };
    toSession('INTERACTION_CREATE', { id, nonce });
    let answered = false;
    const application = { id: applicationId, name: 'Midjourney Bot' };
    const ctx: InteractionContext = {
      id,
      type,
      nonce,
      user,
      channelId,
      guildId: channel.guildId,
      sessionId,
      applicationId,
      data,
      ...(message ? { message } : {}),
      files: resolvedFiles,
      openModal: (modal) => {
        answered = true;
        modalsOpened.set(id, { userId: user.id, customId: modal.custom_id });
        toSession('INTERACTION_MODAL_CREATE', { id, channel_id: channelId, nonce, application, ...modal });
      },
      openIframeModal: (modal) => {
        answered = true;
        toSession('INTERACTION_IFRAME_MODAL_CREATE', {
          id,
          channel_id: channelId,
          nonce,
          application,
          modal_size: 2,
          ...modal,
        });
      },
    };
    setImmediate(() => {
      try {
        for (const h of interactionHandlers) h(ctx);
      } catch (err) {
        opts.logger?.error({ err: (err as Error).message }, 'sandbox bot failed on an interaction');
      }
      if (!answered) toSession('INTERACTION_SUCCESS', { id, nonce });
    });
  };

  const route = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    // CDN
    if (
      method === 'GET' &&
      (path.startsWith('/attachments/') || path.startsWith('/ephemeral-attachments/'))
    ) {
      const f = files.get(path);
      if (!f) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
        return;
      }
      res.writeHead(200, { 'content-type': f.contentType, 'content-length': f.bytes.length }).end(f.bytes);
      return;
    }
    // upload host (the path part of the real upload_url)
    if (method === 'PUT' && path.startsWith('/upload/')) {
      const key = decodeURIComponent(path.slice('/upload/'.length));
      if (!uploads.has(key) || !url.searchParams.get('upload_id')) {
        res.writeHead(404).end();
        return;
      }
      uploads.set(key, {
        bytes: body,
        contentType: req.headers['content-type'] ?? 'application/octet-stream',
      });
      res.writeHead(200).end();
      return;
    }
    // inpaint form host
    if (method === 'POST' && path === '/inpaint/api/submit-job') {
      const b = parseJson(body, req.headers['content-type']);
      const r = inpaintHandler?.({
        customId: String(b.customId ?? ''),
        mask: String(b.mask ?? ''),
        prompt: String(b.prompt ?? ''),
      }) ?? { ok: false, status: 404, message: 'unknown job' };
      json(
        r.ok ? 200 : (r.status ?? 400),
        r.ok ? { success: true } : { success: false, message: r.message ?? 'failed' },
      );
      return;
    }
    const api = /^\/api\/v(9|10)(\/.*)$/.exec(path);
    if (!api) throw new HttpError(404, { message: '404: Not Found', code: 0 });
    const sub = api[2] ?? '';
    stats.restCalls++;
    const user = authUser(req);
    checkFaults(sub);
    if (body.length > MAX_BODY)
      throw new HttpError(413, {
        message: 'Request entity too large. Try sending something smaller in size',
        code: 40005,
      });
    if (method === 'POST' && sub === '/interactions') {
      interaction(user, parseJson(body, req.headers['content-type']), res);
      return;
    }
    const attachmentsRoute = /^\/channels\/(\d+)\/attachments$/.exec(sub);
    if (attachmentsRoute && method === 'POST') {
      memberChannel(user, attachmentsRoute[1] as string);
      const b = parseJson(body, req.headers['content-type']);
      const list = Array.isArray(b.files) ? (b.files as Record<string, unknown>[]) : [];
      if (list.length < 1 || list.length > 10)
        throw invalidForm('BASE_TYPE_REQUIRED', 'files: 1 to 10 files');
      json(200, {
        attachments: list.map((f, i) => {
          const name = String(f.filename ?? 'file').replace(/[^\w.-]/g, '_');
          const key = `${randomUUID()}/${name}`;
          uploads.set(key, null);
          return {
            id: typeof f.id === 'string' || typeof f.id === 'number' ? f.id : i,
            upload_url: `https://discord-attachments-uploads-prd.storage.googleapis.com/upload/${key}?upload_id=${randomBytes(12).toString('hex')}`,
            upload_filename: key,
          };
        }),
      });
      return;
    }
    const messagesRoute = /^\/channels\/(\d+)\/messages$/.exec(sub);
    if (messagesRoute) {
      const channelId = messagesRoute[1] as string;
      memberChannel(user, channelId);
      if (method === 'GET') {
        const limit = Math.min(100, Number(url.searchParams.get('limit') ?? 50) || 50);
        json(200, [...channelMessages(channelId).values()].reverse().slice(0, limit));
        return;
      }
      if (method === 'POST') {
        const b = parseJson(body, req.headers['content-type']);
        const atts = Array.isArray(b.attachments) ? (b.attachments as Record<string, unknown>[]) : [];
        const attachments = atts.map((a) => {
          const key = String(a.uploaded_filename ?? '');
          const f = uploads.get(key);
          if (!f) throw invalidForm('ATTACHMENT_NOT_FOUND', 'Unknown attachment');
          uploads.delete(key);
          return storeFile(channelId, String(a.filename ?? key.split('/').pop()), f.bytes, f.contentType);
        });
        const content = typeof b.content === 'string' ? b.content : '';
        if (!content && attachments.length === 0)
          throw new HttpError(400, { message: 'Cannot send an empty message', code: 50006 });
        const msg = postMessage(channelId, {
          author: user,
          content,
          attachments,
          ...(typeof b.nonce === 'string' ? { nonce: b.nonce } : {}),
        });
        json(200, msg);
        return;
      }
    }
    if (/^\/(channels|guilds)\/(\d+)\/application-command-index$/.test(sub) && method === 'GET') {
      const list = [...commands.values()];
      json(200, {
        applications: [...new Set(list.map((c) => c.applicationId))].map((id) => ({
          id,
          name: 'Midjourney Bot',
        })),
        application_commands: list.map((c) => ({
          id: c.id,
          version: c.version,
          name: c.name,
          application_id: c.applicationId,
          type: c.type ?? 1,
        })),
        version: ids.next(),
      });
      return;
    }
    throw new HttpError(404, { message: '404: Not Found', code: 0 });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      const respond = (err: unknown) => {
        if (res.headersSent) return;
        if (err instanceof HttpError) {
          const extra = (err as HttpError & { headers?: Record<string, string> }).headers ?? {};
          res
            .writeHead(err.status, { 'content-type': 'application/json', ...extra })
            .end(JSON.stringify(err.body));
        } else {
          opts.logger?.error({ err: (err as Error).message }, 'fake discord route failed');
          res
            .writeHead(500, { 'content-type': 'application/json' })
            .end(JSON.stringify({ message: '500: Internal Server Error', code: 0 }));
        }
      };
      if (tooBig) {
        respond(
          new HttpError(413, {
            message: 'Request entity too large. Try sending something smaller in size',
            code: 40005,
          }),
        );
        return;
      }
      route(req, res, Buffer.concat(chunks)).catch(respond);
    });
    req.on('error', () => {});
  });
  server.on('upgrade', (req, socket, head) => {
    gateway.wss.handleUpgrade(req, socket, head, (ws) => gateway.wss.emit('connection', ws, req));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;

  const sockets = (userId?: string) => gateway.socketsOf(userId);
  const faults: DiscordFaults = {
    dropSocket: (userId) => {
      for (const c of sockets(userId)) c.ws.terminate();
    },
    sendReconnect: (userId) => gateway.sendOp({ op: 7, d: null }, userId),
    sendInvalidSession: (resumable, userId) => gateway.sendOp({ op: 9, d: resumable }, userId),
    closeWith: (code, userId) => {
      for (const c of sockets(userId)) c.ws.close(code, code === 4004 ? 'Authentication failed.' : 'closed');
    },
    rateLimitNext: (n, o = {}) => {
      for (let i = 0; i < n; i++) {
        faultState.rateLimit.push({
          retryAfterSec: o.retryAfterSec ?? 0.5,
          global: o.global ?? false,
          ...(o.pathPart ? { pathPart: o.pathPart } : {}),
        });
      }
    },
    outdatedCommandNext: (n) => {
      faultState.outdated += n;
    },
    serverErrorNext: (n, pathPart) => {
      for (let i = 0; i < n; i++) faultState.serverError.push(pathPart);
    },
    stopAcks: () => {
      gateway.acks = false;
    },
    resumeAcks: () => {
      gateway.acks = true;
    },
    splitFrames: (on) => {
      gateway.split = on;
    },
  };

  return {
    origin,
    gatewayUrl: origin.replace(/^http/, 'ws'),
    faults,
    addUser: (u) => users.set(u.id, u),
    addChannel: (c) => channels.set(c.id, c),
    addCommand: (c) => commands.set(c.name, c),
    setCommandVersion: (name, version) => {
      const c = commands.get(name);
      if (c) c.version = version;
    },
    onInteraction: (h) => {
      interactionHandlers.push(h);
    },
    onInpaintSubmit: (h) => {
      inpaintHandler = h;
    },
    postMessage,
    editMessage,
    deleteMessage,
    getMessage: (channelId, id) => channelMessages(channelId).get(id),
    storeFile,
    dispatchToUser: (userId, t, d) => gateway.dispatchToUser(userId, t, d),
    stats: () => ({ ...stats }),
    close: async () => {
      gateway.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
