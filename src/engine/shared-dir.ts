/**
 * Whether a directory is the same one on every instance of a cluster (SPEC §13: stored images
 * kept in a `dir` must be shared, or `/image/file/...` fails on every instance but one). The
 * instances agree on a token in Redis; the first to come writes a marker file named by it into
 * the directory, and each instance that joins must find that very file in its own directory.
 * The token lives while any instance renews it, so a cluster that was fully stopped may start
 * again from another directory.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RedisClient } from './leases.ts';

/** The directory is not the one the running instances share. */
export class SharedDirError extends Error {
  readonly code = 'DIR_NOT_SHARED';
  constructor(message: string) {
    super(message);
    this.name = 'SharedDirError';
  }
}

export interface SharedDirCheck {
  /** Keeps the token alive (every beat). */
  refresh(): Promise<void>;
}

const MARKER = '.mjb-cluster-';

/**
 * Joins the instances sharing `dir` under the Redis key `key`, or throws.
 * @throws {SharedDirError} when the running instances' marker is not in this `dir`
 */
export async function checkSharedDir(
  redis: RedisClient,
  dir: string,
  key: string,
  ttlMs: number,
): Promise<SharedDirCheck> {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  const life = Math.max(3 * ttlMs, 10_000);
  const mine = randomBytes(12).toString('hex');
  // Written before the token is offered, so whoever reads the token finds the file at once.
  writeFileSync(join(abs, `${MARKER}${mine}`), `${mine}\n`);
  const won = await redis.set(key, mine, { condition: 'NX', expiration: { type: 'PX', value: life } });
  const token = won === 'OK' ? mine : await redis.get(key);
  if (token !== mine) rmSync(join(abs, `${MARKER}${mine}`), { force: true });
  if (token && token !== mine && !existsSync(join(abs, `${MARKER}${token}`))) {
    throw new SharedDirError(
      `images.dir ${abs} is not the directory the other instances of the cluster use ` +
        `(their marker ${MARKER}${token} is not in it): give every instance one shared ` +
        'directory (a network volume) or use images.store "s3"',
    );
  }
  return {
    refresh: async () => {
      if (token) await redis.set(key, token, { expiration: { type: 'PX', value: life } });
    },
  };
}
