/**
 * Snowflake-shaped ids made on our side: interaction nonces.
 */
import { randomInt } from 'node:crypto';

/** Discord's epoch (2015-01-01T00:00:00Z) in ms. */
export const DISCORD_EPOCH = 1420070400000n;

let lastMs = 0n;
let seq = 0n;
/**
 * This process's tag in the 10 bits Discord gives a snowflake's worker and process: instances of
 * a cluster make nonces in the same millisecond, and two equal ones would read as one job sent
 * twice (the simulated Discord counts them so).
 */
const TAG = BigInt(randomInt(0, 1024)) << 12n;

/**
 * A new nonce: `(ms since Discord epoch) << 22 | tag << 12 | seq`, as a decimal string. Strictly
 * increasing within the process, even for many calls in one millisecond or a clock that steps
 * back; distinct between processes unless two draw the same tag.
 */
export function nonce(): string {
  let ms = BigInt(Date.now()) - DISCORD_EPOCH;
  if (ms <= lastMs) {
    ms = lastMs;
    seq += 1n;
    if (seq > 0xfffn) {
      // 4096 ids in one ms: borrow the next millisecond rather than repeat an id.
      ms += 1n;
      seq = 0n;
    }
  } else {
    seq = 0n;
  }
  lastMs = ms;
  return String((ms << 22n) | TAG | seq);
}

/** The creation time (unix ms) a snowflake encodes. */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}
