/**
 * The web console (SPEC §16): a front beside the HTTP API, on the same port. It serves its own
 * browser files and a small JSON API of its own under `/console/api/`, with sign-in, access
 * rules and live updates; every action goes through the engine's operations.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.ts';
import type { EngineApi } from '../engine/api.ts';
import { EngineError } from '../engine/errors.ts';
import { TASK_STATUSES, type Task } from '../engine/task.ts';
import type { Logger } from '../log.ts';
import { ACTIONS } from '../midjourney/actions.ts';
import { type Access, decideAccess, isLocalRequest, sameOriginAction } from './access.ts';
import { type Asset, loadAssets } from './assets.ts';
import {
  actionInput,
  blendInput,
  ConsoleInputError,
  describeInput,
  galleryQuery,
  imagineInput,
  taskIdInput,
} from './input.ts';
import { type LiveOptions, LiveStream } from './live.ts';
import { COOKIE_NAME, readCookie, Sessions, SignInThrottle, sameSecret } from './session.ts';
import { JobStats } from './stats.ts';

export { decideAccess, isLocalRequest, sameOriginAction } from './access.ts';

export interface ConsoleOptions {
  engine: EngineApi;
  config: Config;
  logger: Logger;
  live?: LiveOptions;
}

/** What the HTTP server hands console paths to. */
export interface ConsoleFront {
  /** True for the paths the console answers: `/` and everything under `/console`. */
  handles(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Ends the live streams so that the HTTP server can close. */
  close(): void;
}

const MAX_BODY = 64 * 1024 * 1024;
const PAGES = /^\/console(\/(dashboard|gallery|playground|signin|task\/\d{1,30})?)?$/;

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data: blob: http: https:; media-src 'self' blob: http: https:; " +
    "script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

class ConsoleHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) {
      reject(new ConsoleHttpError(413, 'request body is larger than 64 MiB'));
      return;
    }
    const type = String(req.headers['content-type'] ?? '');
    if (!/^application\/json\b/i.test(type)) {
      reject(new ConsoleHttpError(415, 'Content-Type must be application/json'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ConsoleHttpError(413, 'request body is larger than 64 MiB'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        const raw = Buffer.concat(chunks).toString('utf8');
        resolve(raw ? (JSON.parse(raw) as unknown) : {});
      } catch {
        reject(new ConsoleHttpError(400, 'invalid JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** Builds the console front; nothing listens until the HTTP server hands it a request. */
export function createConsole(opts: ConsoleOptions): ConsoleFront {
  const { engine } = opts;
  const log = opts.logger.child({ room: 'console' });
  const secret = opts.config.settings.secret;
  const open = opts.config.console.open;
  const sessions = secret ? new Sessions(secret) : undefined;
  const throttle = new SignInThrottle();
  const assets = loadAssets();
  const live = new LiveStream(engine, opts.live);
  const stats = new JobStats(engine);

  const accessOf = (req: IncomingMessage): Access =>
    decideAccess({
      secretSet: !!secret,
      signedIn: !!sessions?.valid(readCookie(req.headers.cookie, COOKIE_NAME)),
      local: isLocalRequest(req.socket.remoteAddress, req.headers.host),
      open,
    });

  function serveAsset(req: IncomingMessage, res: ServerResponse, asset: Asset | undefined): void {
    if (!asset) throw new ConsoleHttpError(404, 'no such console file');
    const headers = {
      ...SECURITY_HEADERS,
      'content-type': asset.type,
      etag: asset.etag,
      'cache-control': 'no-cache',
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': asset.body.length }).end(asset.body);
  }

  async function listTasks(url: URL): Promise<Task[]> {
    const q = galleryQuery(url.searchParams);
    const narrowed = q.action || q.text;
    const tasks = await engine.list({
      ...(q.status ? { status: q.status } : {}),
      limit: narrowed ? 1000 : q.limit,
    });
    const text = q.text;
    return tasks
      .filter((t) => !q.action || t.action === q.action)
      .filter(
        (t) =>
          !text ||
          t.id.includes(text) ||
          t.prompt.toLowerCase().includes(text) ||
          (t.finalPrompt ?? '').toLowerCase().includes(text) ||
          (t.description ?? '').toLowerCase().includes(text),
      )
      .slice(0, q.limit);
  }

  type Act = (body: unknown) => Promise<Task>;
  const actions: Record<string, Act> = {
    imagine: (b) => engine.imagine(imagineInput(b)),
    describe: (b) => engine.describe(describeInput(b)),
    blend: (b) => engine.blend(blendInput(b)),
    action: (b) => engine.action(actionInput(b)),
    cancel: (b) => engine.cancel(taskIdInput(b)),
  };

  async function signIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!sessions) throw new ConsoleHttpError(400, 'no secret is set: the console needs no sign-in');
    const who = req.socket.remoteAddress ?? '?';
    if (throttle.blocked(who)) throw new ConsoleHttpError(429, 'too many wrong secrets; wait a minute');
    const body = await readJson(req);
    const given = body && typeof body === 'object' ? (body as Record<string, unknown>).secret : undefined;
    if (typeof given !== 'string' || !sameSecret(given, secret)) {
      throttle.failed(who);
      log.warn({ from: who }, 'console sign-in refused: wrong secret');
      throw new ConsoleHttpError(401, 'wrong secret');
    }
    log.info({ from: who }, 'console sign-in');
    // Only ever makes the cookie stricter, so the proxy's word is safe to take here.
    const secure = req.headers['x-forwarded-proto'] === 'https';
    send(
      res,
      200,
      { code: 0, msg: 'signed in', data: { access: 'full' } },
      {
        'set-cookie': sessions.cookie(sessions.issue(), secure),
      },
    );
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const access = accessOf(req);
    const name = path.slice('/console/api/'.length);
    if (method === 'POST' && !sameOriginAction(req.headers as Parameters<typeof sameOriginAction>[0]))
      throw new ConsoleHttpError(403, 'console actions must come from the console page itself');
    if (name === 'session' && method === 'GET') {
      send(res, 200, { code: 0, msg: 'ok', data: { access, secret: !!secret, mode: engine.health().mode } });
      return;
    }
    if (name === 'signin' && method === 'POST') return signIn(req, res);
    if (name === 'signout' && method === 'POST') {
      sessions?.revoke(readCookie(req.headers.cookie, COOKIE_NAME));
      send(
        res,
        200,
        { code: 0, msg: 'signed out', data: null },
        sessions ? { 'set-cookie': sessions.clearCookie() } : {},
      );
      return;
    }
    if (access === 'none') throw new ConsoleHttpError(401, 'sign in with the secret first');
    if (method === 'GET') {
      if (name === 'events') {
        live.attach(req, res);
        return;
      }
      if (name === 'overview') {
        send(res, 200, { code: 0, msg: 'ok', data: { health: engine.health(), stats: await stats.hour() } });
        return;
      }
      if (name === 'lists') {
        // The names the gallery filters by, from the lists the engine checks against.
        send(res, 200, { code: 0, msg: 'ok', data: { statuses: TASK_STATUSES, actions: ACTIONS } });
        return;
      }
      if (name === 'tasks') {
        send(res, 200, { code: 0, msg: 'ok', data: await listTasks(url) });
        return;
      }
      const m = /^task\/(\d{1,30})$/.exec(name);
      if (m) {
        const task = await engine.get(m[1] as string);
        if (!task) throw new ConsoleHttpError(404, `task ${m[1]} not found`);
        send(res, 200, { code: 0, msg: 'ok', data: task });
        return;
      }
    }
    const act = method === 'POST' ? actions[name] : undefined;
    if (act) {
      if (access !== 'full')
        throw new ConsoleHttpError(403, 'this console is read-only from here: set console.open or a secret');
      const task = await act(await readJson(req));
      send(res, 200, { code: 0, msg: 'ok', taskId: task.id, data: task });
      return;
    }
    throw new ConsoleHttpError(404, `no console route ${method} ${url.pathname}`);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/console/api/')) return api(req, res, url, path);
    if (method !== 'GET' && method !== 'HEAD')
      throw new ConsoleHttpError(405, `${method} is not allowed on ${path}`);
    if (path.startsWith('/console/assets/'))
      return serveAsset(req, res, assets.get(path.slice('/console/assets/'.length)));
    if (path === '/' || PAGES.test(path.replace(/\/$/, '')))
      return serveAsset(req, res, assets.get('index.html'));
    throw new ConsoleHttpError(404, `no console page ${path}`);
  }

  return {
    // Only the console's own paths: an API under `apiPrefix: "console"` keeps its routes.
    handles: (path) =>
      path === '/' ||
      path.startsWith('/console/api/') ||
      path.startsWith('/console/assets/') ||
      PAGES.test(path.replace(/\/$/, '')),
    async handle(req, res) {
      try {
        await route(req, res);
      } catch (err) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (err instanceof ConsoleHttpError || err instanceof EngineError) {
          const details = err instanceof EngineError ? err.details : {};
          send(res, err.status, { code: err.status, msg: err.message, data: null, ...details });
        } else if (err instanceof ConsoleInputError) {
          send(res, 400, { code: 400, msg: err.message, data: null });
        } else {
          log.error({ err: (err as Error).message, url: req.url }, 'console request failed');
          send(res, 500, { code: 500, msg: 'internal error', data: null });
        }
        if (!req.complete) req.resume();
      }
    },
    close() {
      live.close();
      stats.close();
    },
  };
}
