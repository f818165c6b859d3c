/**
 * Redis locks with a time to live (SPEC §13): a lease is taken only while nobody holds it, and
 * small Lua scripts renew or delete it only while this owner still holds it, so a holder that
 * stalled past its TTL can never extend or free a lock another instance has taken since.
 *
 * Every take also counts up the lease's epoch (a key beside it). A holder whose renewal comes
 * late, after the lease lapsed but before anyone took it, finds the epoch it took unchanged and
 * keeps the lease: nobody can have acted on it meanwhile, so there is nothing to give up (a
 * loaded machine's late beat costs no restart).
 */
import type { createClient } from '@redis/client';

export type RedisClient = ReturnType<typeof createClient>;

/** Takes a free lease and counts its epoch up; returns the new epoch, or 0 when it is held. */
const TAKE = `if redis.call('exists', KEYS[1]) == 1 then return 0 end
local e = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2])
return e`;
/** 1: extended; 2: had lapsed, nobody took it since (same epoch), held again; 0: lost. */
const RENEW = `local v = redis.call('get', KEYS[1])
if v == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if not v and ARGV[3] ~= '' and redis.call('get', KEYS[2]) == ARGV[3] then
  redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2]) return 2 end
return 0`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** Leases named by a key suffix, all held on behalf of one owner (this instance). */
export class Leases {
  constructor(
    private readonly redis: RedisClient,
    private readonly owner: string,
    private readonly ttlMs: number,
    private readonly prefix: string,
  ) {}

  /** The epoch of each lease this owner took (what a late renewal checks). */
  private readonly epochs = new Map<string, string>();
  /** Renewals that found their lease lapsed and kept it (nobody had taken it). */
  lateRenewals = 0;

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  private epochKey(name: string): string {
    return `${this.prefix}epoch:${name}`;
  }

  /** Takes the lease if nobody holds it. */
  async take(name: string): Promise<boolean> {
    const epoch = await this.redis.eval(TAKE, {
      keys: [this.key(name), this.epochKey(name)],
      arguments: [this.owner, String(this.ttlMs)],
    });
    if (typeof epoch !== 'number' || epoch === 0) return false;
    this.epochs.set(name, String(epoch));
    return true;
  }

  /**
   * Extends the lease by a TTL; false when this owner no longer holds it and another took it
   * (or may have) since. A lease that lapsed with nobody taking it since is held again.
   */
  async renew(name: string): Promise<boolean> {
    const r = await this.redis.eval(RENEW, {
      keys: [this.key(name), this.epochKey(name)],
      arguments: [this.owner, String(this.ttlMs), this.epochs.get(name) ?? ''],
    });
    if (r === 2) this.lateRenewals++;
    return r === 1 || r === 2;
  }

  /** Frees the lease if this owner holds it. */
  async release(name: string): Promise<boolean> {
    this.epochs.delete(name);
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
