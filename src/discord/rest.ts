/**
 * Discord REST for one user account, on undici: the raw token, a browser user agent, one request
 * at a time in order, 429s waited out (`retry_after` / `Retry-After`), 5xx and network errors
 * retried with backoff, everything else a {@link DiscordHttpError}.
 */
import { request } from 'undici';
import type { Logger } from '../log.ts';
import { DiscordHttpError, DiscordNetworkError, nestedErrorCodes } from './errors.ts';

export { DiscordHttpError, DiscordNetworkError } from './errors.ts';

export interface RestOptions {
  /** Discord origin, e.g. `https://discord.com` (`/api/v9` is appended). */
  baseUrl: string;
  token: string;
  userAgent: string;
  logger: Logger;
  timeoutMs?: number;
  maxRetries?: number;
  /** Most 429 waits before giving up (they are not errors of ours). */
  max429?: number;
  onResponse?: (info: { method: string; route: string; status: number }) => void;
}

export interface RequestOptions {
  json?: unknown;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Route for metrics: ids replaced so the label set stays small. */
function routeOf(path: string): string {
  return path.replace(/\d{5,}/g, ':id');
}

export class RestClient {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly superProperties: string;

  constructor(private readonly opts: RestOptions) {
    this.superProperties = Buffer.from(
      JSON.stringify({
        os: 'Windows',
        browser: 'Chrome',
        browser_user_agent: opts.userAgent,
        release_channel: 'stable',
      }),
    ).toString('base64');
  }

  /** One call, queued behind this account's earlier calls. 204 → undefined. */
  request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T | undefined> {
    const run = () => this.send<T>(method, path, options);
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<T | undefined> {
    const url = new URL(`/api/v9${path}`, this.opts.baseUrl);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const maxRetries = this.opts.maxRetries ?? 3;
    const max429 = this.opts.max429 ?? 10;
    let failures = 0;
    let limited = 0;
    for (;;) {
      let status: number;
      let text: string;
      let headers: Record<string, string | string[] | undefined>;
      try {
        const res = await request(url, {
          method: method as 'GET',
          headers: {
            authorization: this.opts.token,
            'user-agent': this.opts.userAgent,
            'x-super-properties': this.superProperties,
            'x-discord-locale': 'en-US',
            ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
            ...options.headers,
          },
          ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
          headersTimeout: this.opts.timeoutMs ?? 15_000,
          bodyTimeout: this.opts.timeoutMs ?? 15_000,
        });
        status = res.statusCode;
        headers = res.headers;
        text = await res.body.text();
      } catch (err) {
        failures++;
        if (failures > maxRetries) {
          throw new DiscordNetworkError(
            `Discord unreachable: ${method} ${routeOf(path)}: ${(err as Error).message}`,
            {
              cause: err,
            },
          );
        }
        await sleep(Math.min(8000, 250 * 2 ** failures));
        continue;
      }
      this.opts.onResponse?.({ method, route: routeOf(path), status });
      if (status === 429) {
        limited++;
        const body = safeJson(text) as { retry_after?: unknown; global?: unknown } | undefined;
        const header = Number(headers['retry-after']);
        const seconds =
          typeof body?.retry_after === 'number' ? body.retry_after : Number.isFinite(header) ? header : 1;
        if (limited > max429) throw new DiscordHttpError(429, 0, 'rate limited too many times');
        this.opts.logger.warn(
          { route: routeOf(path), retryAfter: seconds, global: body?.global === true },
          'rate limited',
        );
        await sleep(Math.max(0, seconds * 1000));
        continue;
      }
      if (status >= 500) {
        failures++;
        if (failures > maxRetries) throw new DiscordHttpError(status, 0, `Discord server error ${status}`);
        await sleep(Math.min(8000, 250 * 2 ** failures));
        continue;
      }
      if (status === 204) return undefined;
      const body = safeJson(text);
      if (status >= 400) {
        const b = (body ?? {}) as { code?: unknown; message?: unknown; errors?: unknown };
        throw new DiscordHttpError(
          status,
          typeof b.code === 'number' ? b.code : 0,
          typeof b.message === 'string' ? b.message : `HTTP ${status}`,
          nestedErrorCodes(b.errors),
        );
      }
      return body as T;
    }
  }
}

function safeJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
