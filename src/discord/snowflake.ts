/**
 * Nonces shaped like Discord snowflakes (milliseconds since the Discord epoch, shifted), with a
 * per-process counter in the low bits so two nonces of one millisecond differ.
 */
const DISCORD_EPOCH = 1420070400000n;
let seq = 0n;
let last = 0n;

export function nonce(now = Date.now()): string {
  let ms = BigInt(now) - DISCORD_EPOCH;
  if (ms < last) ms = last;
  if (ms === last) seq = (seq + 1n) & 0xfffn;
  else seq = 0n;
  if (ms === last && seq === 0n) ms = last + 1n;
  last = ms;
  return String((ms << 22n) | seq);
}
