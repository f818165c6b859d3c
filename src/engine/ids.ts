/**
 * Task ids: 19 digits, starting with the unix seconds of creation (SPEC §3.1). The last six digits
 * are a process-wide counter that starts at a random value, so ids never repeat within a process
 * and two instances sharing a store are very unlikely to meet in the same millisecond.
 */
import { randomInt } from 'node:crypto';

let counter = randomInt(1_000_000);

/** A new task id: 10 digits of seconds, 3 of milliseconds, 6 of the counter. */
export function newTaskId(now = Date.now()): string {
  counter = (counter + 1) % 1_000_000;
  const seconds = Math.floor(now / 1000);
  return `${seconds}${String(now % 1000).padStart(3, '0')}${String(counter).padStart(6, '0')}`;
}

let shortLastMs = 0;
let shortCounter = randomInt(1000);
let shortUsed = 0;

/**
 * A 16-digit task id: 13 digits of epoch milliseconds and a 3-digit counter, the form the `/mj`
 * API's clients know (novicezk's), small enough to stay exact as a JavaScript number. Within a
 * process ids never repeat: after 1000 ids in one millisecond the next one borrows the following
 * millisecond. The counter starts at a random value so instances sharing a store rarely meet.
 */
export function newShortTaskId(now = Date.now()): string {
  let ms = Math.max(now, shortLastMs);
  if (ms === shortLastMs && shortUsed >= 1000) {
    ms += 1;
    shortUsed = 0;
  } else if (ms !== shortLastMs) shortUsed = 0;
  shortLastMs = ms;
  shortUsed += 1;
  shortCounter = (shortCounter + 1) % 1000;
  return `${ms}${String(shortCounter).padStart(3, '0')}`;
}
