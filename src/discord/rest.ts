/**
 * Discord REST for one user account, on undici. Requests of a client go one at a time, in order.
 * A 429 is waited out (`retry_after` / `Retry-After`) and retried without counting as a failure;
 * 5xx and network errors are retried with jittered backoff, a timed-out request only when it is
 * safe to send twice; everything else is a {@link DiscordHttpError}.
 */
import { type Dispatcher, request } from 'undici';
import { type Logger, scrub } from '../log.ts';
import { DiscordHttpError, DiscordNetworkError, nestedErrors } from './errors.ts';
import { clientProperties, superPropertiesHeader } from './properties.ts';

export { DiscordHttpError, DiscordNetworkError } from './errors.ts';

export interface RestOptions {
  /** Discord origin, e.g. `https://discord.com` (`proxy.server`); `/api/v9` is appended. */
  baseUrl: string;
  token: string;
  userAgent: string;
  logger: Logger;
  /** Whole request, body included. Default 15 s. */
  timeoutMs?: number;
  /** Retries after a 5xx or network error. Default 3. */
  maxRetries?: number;
  /** 429s waited out per request before giving up. Default 10. */
  maxRateLimitRetries?: number;
  /** A 429 asking to wait longer than this fails at once instead. Default 60 s. */
  maxRateLimitWaitMs?: number;
  /** Backoff between retries of 5xx/network errors. Default 500 ms – 8 s. */
  retryDelayMs?: { minMs: number; maxMs: number };
  /** Client properties for `X-Super-Properties` that differ from those derived from the user agent. */
  properties?: Record<string, unknown>;
  /** undici dispatcher (default: the global one). */
  dispatcher?: Dispatcher;
  /** Called for every HTTP answer, retried ones included; `status` 0 = no answer (network error). */
  onResponse?: (info: { method: string; route: string; status: number }) => void;
}

export interface RequestOptions {
  json?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

/** Methods Discord treats as idempotent: a timed-out one may be sent again. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** The path as a metrics label: snowflakes become `:id`, the query is dropped. */
export function routeOf(path: string): string {
  return path.split('?')[0]!.replace(/\d{5,}/g, ':id');
}

export class RestClient {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly superProperties: string;
  private readonly apiBase: string;

  constructor(private readonly opts: RestOptions) {
    this.superProperties = superPropertiesHeader(clientProperties(opts.userAgent, opts.properties));
    this.apiBase = `${opts.baseUrl.replace(/\/+$/, '')}/api/v9`;
  }

  /** The whole-request timeout, for helpers that call other hosts on this account's behalf. */
  get timeoutMs(): number {
    return this.opts.timeoutMs ?? 15_000;
  }

  /**
   * One call, queued behind this client's earlier calls. Resolves with the parsed JSON body, or
   * `undefined` for 204 / an empty body.
   * @throws {DiscordHttpError} Discord answered with an error (4xx, or 5xx/429 after the retries).
   * @throws {DiscordNetworkError} no answer in time or no connection.
   */
  request<T>(method: Method | string, path: string, options: RequestOptions = {}): Promise<T | undefined> {
    const run = () => this.send<T>(method.toUpperCase(), path, options);
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<T | undefined> {
    const url = new URL(this.apiBase + (path.startsWith('/') ? path : `/${path}`));
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const route = routeOf(path);
    const maxRetries = this.opts.maxRetries ?? 3;
    const maxLimited = this.opts.maxRateLimitRetries ?? 10;
    const body = options.json === undefined ? undefined : JSON.stringify(options.json);
    const headers: Record<string, string> = {
      authorization: this.opts.token,
      'user-agent': this.opts.userAgent,
      'x-super-properties': this.superProperties,
      'x-discord-locale': 'en-US',
      accept: '*/*',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    };
    let failures = 0;
    let limited = 0;
    for (;;) {
      let status: number;
      let text: string;
      let resHeaders: Record<string, string | string[] | undefined>;
      try {
        const res = await request(url, {
          method: method as Dispatcher.HttpMethod,
          headers,
          ...(body === undefined ? {} : { body }),
          signal: AbortSignal.timeout(this.timeoutMs),
          ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
        });
        status = res.statusCode;
        resHeaders = res.headers;
        text = await res.body.text();
      } catch (err) {
        this.opts.onResponse?.({ method, route, status: 0 });
        const timedOut = isTimeout(err);
        const why = timedOut ? `no answer within ${this.timeoutMs} ms` : this.clean(errorText(err));
        failures++;
        // A POST that timed out may have been carried out: sending it again could run it twice.
        if ((timedOut && !IDEMPOTENT.has(method)) || failures > maxRetries) {
          throw new DiscordNetworkError(`Discord unreachable: ${method} ${route}: ${why}`, timedOut, {
            cause: err,
          });
        }
        this.opts.logger.warn(
          { method, route, attempt: failures, err: why },
          'discord request failed; retrying',
        );
        await sleep(this.retryDelay(failures));
        continue;
      }
      this.opts.onResponse?.({ method, route, status });

      if (status === 429) {
        limited++;
        const wait = retryAfterMs(text, resHeaders);
        const global = isGlobal(text, resHeaders);
        const maxWait = this.opts.maxRateLimitWaitMs ?? 60_000;
        if (limited > maxLimited || wait > maxWait) {
          throw this.httpError(429, text, method, route, wait);
        }
        this.opts.logger.warn({ method, route, retryAfterMs: wait, global }, 'discord rate limit; waiting');
        await sleep(wait);
        continue;
      }
      if (status >= 500) {
        failures++;
        if (failures > maxRetries) throw this.httpError(status, text, method, route);
        this.opts.logger.warn({ method, route, status, attempt: failures }, 'discord server error; retrying');
        await sleep(this.retryDelay(failures));
        continue;
      }
      if (status >= 400) throw this.httpError(status, text, method, route);
      if (status === 204 || text.length === 0) return undefined;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new DiscordHttpError(status, {
          message: `HTTP ${status} with a body that is not JSON`,
          method,
          route,
        });
      }
    }
  }

  private httpError(
    status: number,
    text: string,
    method: string,
    route: string,
    retryAfter?: number,
  ): DiscordHttpError {
    const body = parseObject(text);
    const nested = nestedErrors(body?.errors);
    const message =
      typeof body?.message === 'string' && body.message ? this.clean(body.message) : `HTTP ${status}`;
    return new DiscordHttpError(status, {
      code: typeof body?.code === 'number' ? body.code : 0,
      message,
      errorCodes: nested.map((e) => e.code),
      details: nested.map((e) => this.clean(e.message)).filter((m) => m.length > 0),
      method,
      route,
      ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
    });
  }

  private retryDelay(failures: number): number {
    const { minMs, maxMs } = this.opts.retryDelayMs ?? { minMs: 500, maxMs: 8000 };
    const ceiling = Math.min(maxMs, minMs * 2 ** (failures - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private clean(text: string): string {
    return scrub(text, [this.opts.token]);
  }
}

/** How long a 429 asks to wait: body `retry_after` (float seconds), else the `Retry-After` header, else 1 s. */
function retryAfterMs(text: string, headers: Record<string, string | string[] | undefined>): number {
  const body = parseObject(text);
  if (typeof body?.retry_after === 'number' && Number.isFinite(body.retry_after) && body.retry_after >= 0) {
    return Math.ceil(body.retry_after * 1000);
  }
  const header = Number(firstHeader(headers['retry-after']));
  if (Number.isFinite(header) && header >= 0) return Math.ceil(header * 1000);
  return 1000;
}

function isGlobal(text: string, headers: Record<string, string | string[] | undefined>): boolean {
  return (
    parseObject(text)?.global === true ||
    firstHeader(headers['x-ratelimit-global']) === 'true' ||
    firstHeader(headers['x-ratelimit-scope']) === 'global'
  );
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isTimeout(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown };
  return (
    e?.name === 'TimeoutError' ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.code === 'UND_ERR_BODY_TIMEOUT' ||
    e?.code === 23 /* DOMException.TIMEOUT_ERR */
  );
}

function errorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
