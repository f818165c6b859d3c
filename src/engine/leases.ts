/**
 * Redis locks with a time to live (SPEC §13): `SET key owner NX PX ttl` takes one, and two small
 * Lua scripts renew or delete it only while this owner still holds it, so a holder that stalled
 * past its TTL can never extend or free a lock another instance has taken since.
 */
import type { createClient } from '@redis/client';

export type RedisClient = ReturnType<typeof createClient>;

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** Leases named by a key suffix, all held on behalf of one owner (this instance). */
export class Leases {
  constructor(
    private readonly redis: RedisClient,
    private readonly owner: string,
    private readonly ttlMs: number,
    private readonly prefix: string,
  ) {}

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  /** Takes the lease if nobody holds it. */
  async take(name: string): Promise<boolean> {
    const r = await this.redis.set(this.key(name), this.owner, {
      condition: 'NX',
      expiration: { type: 'PX', value: this.ttlMs },
    });
    return r === 'OK';
  }

  /** Extends the lease by a TTL; false when this owner no longer holds it. */
  async renew(name: string): Promise<boolean> {
    const r = await this.redis.eval(RENEW, {
      keys: [this.key(name)],
      arguments: [this.owner, String(this.ttlMs)],
    });
    return r === 1;
  }

  /** Frees the lease if this owner holds it. */
  async release(name: string): Promise<boolean> {
    const r = await this.redis.eval(RELEASE, { keys: [this.key(name)], arguments: [this.owner] });
    return r === 1;
  }

  /** Who holds it now and for how many more ms (null: free). */
  async holder(name: string): Promise<{ owner: string; ttlMs: number } | null> {
    const key = this.key(name);
    const [owner, ttl] = (await this.redis.multi().get(key).pTTL(key).exec()) as unknown as [
      string | null,
      number,
    ];
    return owner ? { owner, ttlMs: Math.max(0, ttl) } : null;
  }
}
