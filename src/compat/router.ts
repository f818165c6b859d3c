/**
 * The `/mj` front (SPEC §12): a mount of the HTTP server. The server keeps the socket-level work
 * (body limits, JSON parsing, the constant-time secret comparison) and hands every path this
 * front owns — `/mj/...`, `/mj-fast/mj/...`, `/mj-relax/mj/...`, `/mj-turbo/mj/...` — to
 * {@link CompatMount.handle}, which authenticates, routes and answers in this API's own shapes.
 */
import type { IncomingMessage } from 'node:http';
import type { EngineApi } from '../engine/api.ts';
import type { Logger } from '../log.ts';
import { CODE, type CompatAnswer, CompatError, envelope } from './envelope.ts';
import { type Speed, splitSpeed } from './speed.ts';
import { submitRoutes } from './submit-routes.ts';
import { taskRoutes } from './task-routes.ts';

/** What the HTTP server lends a mount for one request. */
export interface MountContext {
  url: { readonly pathname: string; readonly searchParams: URLSearchParams };
  /** The path without trailing slashes. */
  path: string;
  method: string;
  /** Reads the JSON body under the server's limits. */
  readJson(): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }>;
  send(status: number, body: unknown, headers?: Record<string, string>): void;
  /** Sends JSON already made: text, or its UTF-8 bytes (sent as they are). */
  sendJsonText(status: number, json: string | Buffer): void;
  /** Whether a secret is configured at all. */
  secretRequired: boolean;
  /** Constant-time comparison with `settings.secret`. */
  secretMatches(given: string): boolean;
}

/** A front the HTTP server mounts beside the seed routes. */
export interface CompatMount {
  owns(path: string): boolean;
  handle(req: IncomingMessage, ctx: MountContext): Promise<void>;
}

/** One request as a route handler sees it. */
export interface RouteRequest {
  params: string[];
  query: URLSearchParams;
  speed: Speed | null;
  /** The JSON body; a body that cannot be read answers code 4. */
  body(): Promise<unknown>;
}

export interface Route {
  pattern: RegExp;
  methods: Partial<Record<'GET' | 'POST', (r: RouteRequest) => Promise<CompatAnswer>>>;
}

export interface CompatOptions {
  engine: EngineApi;
  logger: Logger;
}

const OWNED = /^\/mj(?:-(?:fast|relax|turbo)\/mj)?(?:\/|$)/;

/** Builds the `/mj` front over the engine. */
export function createCompatMount(opts: CompatOptions): CompatMount {
  const routes: Route[] = [...submitRoutes(opts.engine), ...taskRoutes(opts.engine)];

  function authorized(req: IncomingMessage, ctx: MountContext): boolean {
    if (!ctx.secretRequired) return true;
    const header = req.headers['mj-api-secret'];
    const auth = req.headers.authorization;
    let given = typeof header === 'string' && header !== '' ? header : '';
    if (!given && typeof auth === 'string') given = auth.replace(/^Bearer\s+/i, '');
    return given !== '' && ctx.secretMatches(given);
  }

  async function answer(req: IncomingMessage, ctx: MountContext): Promise<CompatAnswer> {
    if (!authorized(req, ctx)) {
      return {
        status: 401,
        body: { code: 401, description: 'a valid mj-api-secret (or Authorization) header is required' },
      };
    }
    const { speed, path } = splitSpeed(ctx.path);
    for (const route of routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      const handler = route.methods[ctx.method as 'GET' | 'POST'];
      if (!handler) {
        return {
          status: 405,
          body: { code: 405, description: `${ctx.method} is not allowed on ${ctx.url.pathname}` },
          headers: { allow: Object.keys(route.methods).join(', ') },
        };
      }
      const body = async () => {
        const read = await ctx.readJson();
        if (read.ok) return read.value;
        throw new CompatError(CODE.INVALID, read.message, {}, read.status === 400 ? 200 : read.status);
      };
      return handler({ params: m.slice(1), query: ctx.url.searchParams, speed, body });
    }
    return { status: 404, body: { code: 404, description: `no route ${ctx.url.pathname}` } };
  }

  return {
    owns: (path) => OWNED.test(path),
    async handle(req, ctx) {
      let out: CompatAnswer;
      try {
        out = await answer(req, ctx);
      } catch (err) {
        // Anything else (a client gone mid-body, a bug) is the server's to answer and log.
        if (!(err instanceof CompatError)) throw err;
        out = envelope(err.code, err.message, null, err.properties, err.status);
      }
      if (out.json !== undefined) ctx.sendJsonText(out.status, out.json);
      else ctx.send(out.status, out.body, out.headers);
    },
  };
}
