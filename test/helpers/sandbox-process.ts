/**
 * The sandbox alone in a process, for tests that measure it: prints one JSON line with its
 * `proxy` and `accounts`, then answers `rss` (after a full garbage collection when run with
 * --expose-gc), `stats`, `arrivals` (when each interaction came, by nonce) and `clock` commands on stdin,
 * one JSON line each; `exit` closes it.
 */
import { createInterface } from 'node:readline';
import { silentLogger } from '../../src/log.ts';
import { startSandbox } from '../../src/sandbox/index.ts';

const speed = Number(process.argv[2] ?? 1000);
// A CDN budget in MiB may be given: the memory test bounds it to see everything else stay flat.
const cdnMiB = process.argv[3] ? Number(process.argv[3]) : undefined;
const sandbox = await startSandbox({
  speed,
  accounts: 1,
  logger: silentLogger(),
  ...(cdnMiB ? { maxCdnBytes: cdnMiB * 1024 * 1024 } : {}),
});
process.stdout.write(`${JSON.stringify({ proxy: sandbox.proxy, accounts: sandbox.accounts })}\n`);
const gc = (globalThis as { gc?: () => void }).gc;
// When each interaction reached the simulated Discord, by nonce (wall clock, sub-millisecond).
const arrivals: Record<string, number> = {};
sandbox.discord.onInteraction((ix) => {
  if (ix.nonce) arrivals[ix.nonce] = performance.timeOrigin + performance.now();
});
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'rss') {
    gc?.();
    gc?.();
    process.stdout.write(`${JSON.stringify(process.memoryUsage())}\n`);
  } else if (line === 'clock') {
    process.stdout.write(`${JSON.stringify(performance.timeOrigin + performance.now())}\n`);
  } else if (line === 'arrivals') {
    process.stdout.write(`${JSON.stringify(arrivals)}\n`);
  } else if (line === 'stats') {
    process.stdout.write(`${JSON.stringify(sandbox.bot.stats())}\n`);
  } else if (line === 'exit') {
    void sandbox.close().then(() => process.exit(0));
  }
});
