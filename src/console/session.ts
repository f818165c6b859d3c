/**
 * Console sessions: the secret is given once at sign-in; the browser then holds a random
 * session id signed with a key derived from the secret (so a restart or another instance
 * behind the same balancer still knows it, and changing the secret ends every session).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const COOKIE_NAME = 'mjb_console';
const DEFAULT_TTL_S = 7 * 24 * 3600;

/** Compares two strings in constant time (their SHA-256 digests, so lengths do not leak). */
export function sameSecret(given: string, secret: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Issues and checks signed session ids; a signed-out id is remembered until it would expire. */
export class Sessions {
  private readonly key: Buffer;
  private readonly revoked = new Map<string, number>();

  constructor(
    secret: string,
    private readonly ttlS = DEFAULT_TTL_S,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.key = createHmac('sha256', secret).update('midjourney-bridge console session').digest();
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  /** A new session value: `<expiry>.<random id>.<signature>`. */
  issue(): string {
    const body = `${this.now() + this.ttlS}.${randomBytes(18).toString('base64url')}`;
    return `${body}.${this.sign(body)}`;
  }

  valid(value: string | undefined): boolean {
    if (!value) return false;
    const parts = value.split('.');
    if (parts.length !== 3) return false;
    const [expiry, id, mac] = parts as [string, string, string];
    const want = Buffer.from(this.sign(`${expiry}.${id}`));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return false;
    if (!/^\d+$/.test(expiry) || Number(expiry) < this.now()) return false;
    return !this.revoked.has(id);
  }

  revoke(value: string | undefined): void {
    if (!value || !this.valid(value)) return;
    const [expiry, id] = value.split('.') as [string, string];
    this.revoked.set(id, Number(expiry));
    const now = this.now();
    for (const [k, until] of this.revoked) if (until < now) this.revoked.delete(k);
  }

  /** The Set-Cookie value for a session (HttpOnly, SameSite=Strict, whole site). */
  cookie(value: string, secure: boolean): string {
    return `${COOKIE_NAME}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${this.ttlS}${secure ? '; Secure' : ''}`;
  }

  /** The Set-Cookie value that removes the session cookie. */
  clearCookie(): string {
    return `${COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}

/** Refuses a burst of wrong secrets from one address: at most `max` per `windowMs`. */
export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly max = 10,
    private readonly windowMs = 60_000,
  ) {}

  blocked(who: string, now = Date.now()): boolean {
    const list = (this.failures.get(who) ?? []).filter((t) => t > now - this.windowMs);
    if (list.length === 0) this.failures.delete(who);
    else this.failures.set(who, list);
    return list.length >= this.max;
  }

  failed(who: string, now = Date.now()): void {
    const list = this.failures.get(who) ?? [];
    list.push(now);
    this.failures.set(who, list);
    if (this.failures.size > 10_000) this.failures.clear();
  }
}
