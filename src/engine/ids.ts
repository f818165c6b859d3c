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
