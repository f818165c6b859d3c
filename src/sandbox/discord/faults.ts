/**
 * The REST faults tests inject into the simulated Discord (429s, 500s, outdated commands), kept as
 * counted rules that the next matching calls consume.
 */
import { DiscordAnswer } from './http-util.ts';

interface Rule {
  remaining: number;
  pathPart: string | undefined;
}

interface RateLimitRule extends Rule {
  retryAfterSec: number;
  global: boolean;
}

export class RestFaults {
  private readonly rateLimits: RateLimitRule[] = [];
  private readonly serverErrors: Rule[] = [];
  private outdated = 0;

  rateLimitNext(n: number, opts: { retryAfterSec?: number; global?: boolean; pathPart?: string } = {}): void {
    if (n <= 0) return;
    this.rateLimits.push({
      remaining: n,
      pathPart: opts.pathPart,
      retryAfterSec: opts.retryAfterSec ?? 1,
      global: opts.global ?? false,
    });
  }

  serverErrorNext(n: number, pathPart?: string): void {
    if (n > 0) this.serverErrors.push({ remaining: n, pathPart });
  }

  outdatedCommandNext(n: number): void {
    this.outdated += Math.max(0, n);
  }

  /** The injected answer this REST call gets, if any (a 429 wins over a 500). */
  take(path: string): DiscordAnswer | undefined {
    const limit = takeRule(this.rateLimits, path);
    if (limit) {
      const seconds = limit.retryAfterSec;
      return new DiscordAnswer(
        429,
        { message: 'You are being rate limited.', retry_after: seconds, global: limit.global },
        {
          'retry-after': String(Math.max(1, Math.ceil(seconds))),
          'x-ratelimit-scope': limit.global ? 'global' : 'user',
          ...(limit.global ? { 'x-ratelimit-global': 'true' } : {}),
        },
      );
    }
    if (takeRule(this.serverErrors, path))
      return new DiscordAnswer(500, { message: '500: Internal Server Error', code: 0 });
    return undefined;
  }

  /** Whether this application-command interaction must be refused as outdated. */
  takeOutdated(): boolean {
    if (this.outdated <= 0) return false;
    this.outdated--;
    return true;
  }
}

function takeRule<T extends Rule>(rules: T[], path: string): T | undefined {
  const i = rules.findIndex((r) => !r.pathPart || path.includes(r.pathPart));
  const rule = rules[i];
  if (!rule) return undefined;
  rule.remaining--;
  if (rule.remaining <= 0) rules.splice(i, 1);
  return rule;
}
