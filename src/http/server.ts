/**
 * The HTTP front (SPEC §5) on node:http: routes of the seed project and ours, the exact envelope,
 * the secret, the prefix, body limits. It validates shapes and hands meaning to the engine.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { EngineApi } from '../engine/api.ts';
import { EngineError } from '../engine/errors.ts';
import { TASK_STATUSES, type TaskStatus } from '../engine/task.ts';
import type { ImageReader } from '../images/types.ts';
import type { Logger } from '../log.ts';
import { jsonBody } from './body.ts';
import { onClientError } from './client-error.ts';
import { ClientAbortedError, cleanText, HttpError } from './errors.ts';
import { FetchAnswers } from './fetch-answers.ts';
import { IMAGE_FILE_PREFIX, serveImageFile } from './image-files.ts';
import { compatBodyBounds, seedBodyBounds } from './limits.ts';
import {
  actionBody,
  blendBody,
  describeBody,
  imagineBody,
  shortenBody,
  taskIdBody,
  ValidationError,
} from './schemas.ts';
import { requestTarget, type Target } from './target.ts';

export interface ApiServerOptions {
  engine: EngineApi;
  config: Config;
  logger: Logger;
  metricsRegistry?: Registry;
  telegramWebhook?: { path: string; handle(req: IncomingMessage, res: ServerResponse): Promise<void> };
  /** Stored results, served at `/image/file/...` (§6.7.3). */
  images?: ImageReader;
  /** The web console: answers `/` and `/console/...` itself (before the prefix applies). */
  console?: {
    handles(path: string): boolean;
    handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
    close(): void;
  };
  /** Fronts served on the same port (the `/mj` API); asked first for the paths they own. */
  mounts?: Mount[];
}

/**
 * A front mounted beside the seed routes. It answers the paths it owns in its own shapes; the
 * server lends it the body reading (with its limits) and the secret comparison.
 */
export interface Mount {
  owns(path: string): boolean;
  handle(req: IncomingMessage, ctx: MountContext): Promise<void>;
}

export interface MountContext {
  url: Target;
  path: string;
  method: string;
  readJson(): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }>;
  send(status: number, body: unknown, headers?: Record<string, string>): void;
  /** Sends text that already is JSON. */
  sendJsonText(status: number, json: string | Buffer): void;
  secretRequired: boolean;
  secretMatches(given: string): boolean;
}

export interface ApiServer {
  server: Server;
  listen(): Promise<{ url: string }>;
  close(): Promise<void>;
}

type Handler = (ctx: {
  req: IncomingMessage;
  url: Target;
  body: () => Promise<unknown>;
}) => Promise<{ status?: number; body: unknown; raw?: string | Buffer }>;

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(
    status >= 400 && body && typeof body === 'object' && typeof (body as { msg?: unknown }).msg === 'string'
      ? { ...body, msg: cleanText((body as { msg: string }).msg) }
      : body,
  );
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string | Buffer): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': typeof text === 'string' ? Buffer.byteLength(text) : text.length,
  });
  res.end(text);
}

function sameSecret(given: string, secret: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

/** Builds the API server (not yet listening). */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const { engine, config } = opts;
  const log = opts.logger.child({ room: 'http' });
  const secret = config.settings.secret;
  const prefix = config.settings.apiPrefix ? `/${config.settings.apiPrefix}` : '';
  const submitted = (taskId: string) => ({ body: { code: 0, msg: 'ok', taskId, data: [] } });

  const routes: Record<string, Partial<Record<string, Handler>>> = {
    '/image/imagine': {
      POST: async ({ body }) => {
        const b = imagineBody(await body());
        return submitted((await engine.imagine(b)).id);
      },
    },
    '/image/action': {
      POST: async ({ body }) => submitted((await engine.action(actionBody(await body()))).id),
    },
    '/image/describe': {
      POST: async ({ body }) => submitted((await engine.describe(describeBody(await body()))).id),
    },
    '/image/blend': {
      POST: async ({ body }) => submitted((await engine.blend(blendBody(await body()))).id),
    },
    '/image/shorten': {
      POST: async ({ body }) => submitted((await engine.shorten(shortenBody(await body()))).id),
    },
    '/task/seed': {
      GET: async ({ url }) => {
        const id = url.searchParams.get('taskId');
        if (!id) throw new HttpError(400, 'taskId is required');
        const seed = await engine.seed(id);
        return { body: { code: 0, msg: 'success', taskId: id, data: seed } };
      },
    },
    '/task/fetch': {
      GET: async ({ url }) => fetchTask(url.searchParams.get('taskId')),
      POST: async ({ url, body }) => {
        const q = url.searchParams.get('taskId');
        return fetchTask(q ?? taskIdBody(await body()).taskId);
      },
    },
    '/task/cancel': {
      POST: async ({ body }) => {
        const { taskId } = taskIdBody(await body());
        const t = await engine.cancel(taskId);
        return { body: { code: 0, msg: 'ok', taskId: t.id, data: t } };
      },
    },
    '/task/list': {
      GET: async ({ url }) => {
        const status = url.searchParams.get('status');
        const limitRaw = url.searchParams.get('limit');
        if (status && !(TASK_STATUSES as readonly string[]).includes(status)) {
          throw new HttpError(400, `status must be one of ${TASK_STATUSES.join(', ')}`);
        }
        // Digits only: `+5`, `5e1`, ` 5` are not what a client meant to send.
        const limit =
          limitRaw === null || limitRaw === '' ? 20 : /^\d{1,3}$/.test(limitRaw) ? Number(limitRaw) : 0;
        if (limit < 1 || limit > 100) throw new HttpError(400, 'limit must be an integer from 1 to 100');
        const list = await engine.list({ ...(status ? { status: status as TaskStatus } : {}), limit });
        return { body: { code: 0, msg: 'success', data: list } };
      },
    },
    '/health': {
      GET: async () => {
        const h = engine.health();
        return { status: h.status === 'ok' ? 200 : 503, body: h };
      },
    },
  };

  const answers = new FetchAnswers();
  async function fetchTask(id: string | null | undefined) {
    if (!id) throw new HttpError(400, 'taskId is required');
    if (!/^\d{1,30}$/.test(id)) throw new HttpError(400, 'taskId must be a task id (digits)');
    if (engine.getJson) {
      // The hot read: the persisted JSON goes out as it is, no parse and no copy.
      const json = await engine.getJson(id);
      if (json === undefined)
        return { status: 404, body: { code: 404, msg: `task ${id} not found`, data: null } };
      return { body: null, raw: answers.answer(id, json) };
    }
    const task = await engine.get(id);
    if (!task) return { status: 404, body: { code: 404, msg: `task ${id} not found`, data: null } };
    return { body: { code: 0, msg: 'success', data: task } };
  }

  const bodyBounds = seedBodyBounds(config.settings.maxImageBytes);
  const mountBounds = compatBodyBounds(config.settings.maxImageBytes);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = requestTarget(req.url);
    let path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (opts.telegramWebhook && path === opts.telegramWebhook.path) {
      await opts.telegramWebhook.handle(req, res);
      return;
    }
    if (path.startsWith(IMAGE_FILE_PREFIX)) {
      await serveImageFile(opts.images, req, res, path);
      return;
    }
    if (opts.console?.handles(url.pathname)) {
      await opts.console.handle(req, res);
      return;
    }
    const mount = opts.mounts?.find((m) => m.owns(path));
    if (mount && !seedRoute(path)) {
      await mount.handle(req, mountContext(req, res, url, path, method));
      return;
    }
    if (prefix) {
      // Health checks and scrapers expect these at the root whatever the prefix (SPEC §5.1).
      if (path.startsWith(`${prefix}/`)) path = path.slice(prefix.length);
      else if (path !== '/health' && path !== '/metrics')
        throw new HttpError(404, `no route ${url.pathname}`);
    }
    // Before anything about routes or methods is said: without the secret, nothing is listed.
    if (!(path === '/health' && (method === 'GET' || method === 'HEAD'))) checkSecret(req);
    if (path === '/metrics' && opts.metricsRegistry) {
      if (method !== 'GET')
        throw new HttpError(405, `${method} is not allowed on ${url.pathname}`, { allow: 'GET' });
      const text = await opts.metricsRegistry.metrics();
      res.writeHead(200, { 'content-type': opts.metricsRegistry.contentType }).end(text);
      return;
    }
    const route = routes[path];
    if (!route) throw new HttpError(404, `no route ${url.pathname}`);
    const handler = route[method === 'HEAD' && path === '/health' ? 'GET' : method];
    if (!handler)
      throw new HttpError(405, `${method} is not allowed on ${url.pathname}`, {
        allow: Object.keys(route).join(', '),
      });
    const bounds = bodyBounds[path] ?? bodyBounds['/task/fetch']!;
    const out = await handler({ req, url, body: () => jsonBody(req, bounds, path) });
    if (out.raw !== undefined) sendText(res, out.status ?? 200, out.raw);
    else sendJson(res, out.status ?? 200, out.body);
  };

  /** A seed route under `apiPrefix` wins over a mount (with `apiPrefix: "mj"` they share `/mj`). */
  function seedRoute(path: string): boolean {
    if (!prefix || !path.startsWith(`${prefix}/`)) return false;
    const rest = path.slice(prefix.length);
    return rest in routes || rest === '/metrics';
  }

  function mountContext(
    req: IncomingMessage,
    res: ServerResponse,
    url: Target,
    path: string,
    method: string,
  ): MountContext {
    return {
      url,
      path,
      method,
      async readJson() {
        try {
          return { ok: true, value: await jsonBody(req, mountBounds, path) };
        } catch (err) {
          if (err instanceof HttpError)
            return { ok: false, status: err.status, message: cleanText(err.message) };
          throw err;
        }
      },
      send: (status, body, headers) => sendJson(res, status, body, headers),
      sendJsonText: (status, json) => sendText(res, status, json),
      secretRequired: secret !== '',
      secretMatches: (given) => secret === '' || sameSecret(given, secret),
    };
  }

  function checkSecret(req: IncomingMessage): void {
    if (!secret) return;
    const header = req.headers['mj-api-secret'];
    const auth = req.headers.authorization;
    const given =
      typeof header === 'string'
        ? header
        : typeof auth === 'string' && auth.startsWith('Bearer ')
          ? auth.slice(7)
          : '';
    if (!given || !sameSecret(given, secret))
      throw new HttpError(401, 'a valid mj-api-secret header is required');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof ClientAbortedError) {
        log.debug({ url: cleanText(req.url ?? '') }, 'client closed the connection mid-request');
        res.destroy();
        return;
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        sendJson(res, err.status, { code: err.status, msg: err.message, data: null }, err.headers);
      } else if (err instanceof ValidationError) {
        sendJson(res, 400, { code: 400, msg: err.message, data: null });
      } else if (err instanceof EngineError) {
        sendJson(res, err.status, { code: err.status, msg: err.message, data: null, ...err.details });
      } else {
        log.error({ err: (err as Error).message, url: cleanText(req.url ?? '') }, 'request failed');
        sendJson(res, 500, { code: 500, msg: 'internal error', data: null });
      }
      if (!req.complete) req.resume();
    });
  });
  server.requestTimeout = 120_000;
  server.on('clientError', onClientError(log));

  return {
    server,
    async listen() {
      const u = new URL(config.listen);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(u.port || 80), u.hostname.replace(/^\[|\]$/g, ''), () => resolve());
      });
      const addr = server.address() as AddressInfo;
      const host = u.hostname === '0.0.0.0' ? '127.0.0.1' : u.hostname;
      return { url: `http://${host}:${addr.port}` };
    },
    async close() {
      opts.console?.close();
      server.closeIdleConnections();
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
    },
  };
}
