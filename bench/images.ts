/**
 * SPEC §11 stored images: a finished job's image stored and served, FINISHED → stored, beyond
 * the download itself. The whole service on the sandbox (2048×2048 grids, 1024 upscales; the
 * sandbox in a process of its own), the default local store; each image's download and the rest (header, the original's write) timed
 * inside the copy. The baseline is the download of the same bytes. The previews and quadrants are
 * cut after FINISHED: how long a request for a quadrant right after FINISHED takes is printed too.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';
import type { Task } from '../src/engine/task.ts';
import { silentLogger } from '../src/log.ts';
import { startSandboxProcess } from '../test/helpers/sandbox-process-client.ts';
import { fmt, percentile, type Row } from './lib/report.ts';

export async function storedImages(jobs: number): Promise<Row[]> {
  const timings: { downloadMs: number; storeMs: number }[] = [];
  // The simulated Midjourney in a process of its own: drawing and compressing its 2048² grids
  // are Midjourney's work, not pauses of the service being timed.
  const sandbox = await startSandboxProcess(1000);
  const account = sandbox.accounts[0];
  if (!account) throw new Error('no sandbox account');
  const dir = mkdtempSync(join(tmpdir(), 'mjb-bench-images-'));
  const config = parseConfig({
    listen: 'http://127.0.0.1:0',
    accounts: [{ token: account.token, channel_id: account.channel_id, guild_id: account.guild_id }],
    proxy: sandbox.proxy,
    store: { url: `sqlite://${join(dir, 'tasks.sqlite')}` },
    images: { dir: join(dir, 'images') },
    settings: { interactionIntervalMs: 0 },
    logLevel: 'silent',
  });
  const app = await startApp(config, {
    logger: silentLogger(),
    engine: { backoff: { minMs: 20, maxMs: 100 } },
    imageTiming: { download: { backoffMs: 20, timeoutMs: 10_000 }, onTiming: (t) => timings.push(t) },
  });
  const waiting = new Map<string, (t: Task) => void>();
  app.engine.on('task', (t: Task) => {
    if (t.status === 'FINISHED' || t.status === 'FAILED') waiting.get(t.id)?.(t);
  });
  const run = async (prompt: string): Promise<Task> => {
    const task = await app.engine.imagine({ prompt });
    return new Promise<Task>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${prompt}: not final after 60 s`)), 60_000);
      waiting.set(task.id, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  };
  try {
    for (const by = Date.now() + 10_000; app.engine.health().status !== 'ok' && Date.now() < by; )
      await new Promise((r) => setTimeout(r, 10));
    // Warm up (sharp's first load, the first cuts), not counted.
    for (let i = 0; i < 3; i++) await run(`warm ${i}`);
    timings.length = 0;
    // FINISHED → the last quadrant served: it may still be in its cut, which the request waits for.
    const served: number[] = [];
    for (let i = 0; i < jobs; i++) {
      const t = await run(`bench grid ${i} --ar ${i % 3 === 0 ? '16:9' : '1:1'}`);
      if (t.status !== 'FINISHED' || !t.imageUrl?.includes('/image/file/'))
        throw new Error(`job ${i}: ${t.status} ${t.imageUrl}`);
      const t0 = performance.now();
      const res = await fetch(t.imageUrls[3]?.url ?? '');
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`job ${i}: quadrant 4 answered ${res.status}`);
      served.push(performance.now() - t0);
    }
    const beyond = timings.map((t) => t.storeMs);
    if (process.env.BENCH_SAMPLES) process.stderr.write(`${beyond.map((x) => x.toFixed(1)).join(' ')}\n`);
    const download = timings.map((t) => t.downloadMs);
    const p99 = percentile(beyond, 99);
    return [
      {
        what: `stored images: FINISHED → stored beyond the download (${timings.length} grids, 2048² and 2912×1632 PNG; previews and quadrants cut after FINISHED)`,
        figure: `p50 ${fmt(percentile(beyond, 50), 1)} ms, p99 ${fmt(p99, 1)} ms (then quadrant 4 served: p50 ${fmt(percentile(served, 50), 1)} ms, p99 ${fmt(percentile(served, 99), 1)} ms after FINISHED)`,
        baseline: `the download itself: p50 ${fmt(percentile(download, 50), 1)} ms, p99 ${fmt(percentile(download, 99), 1)} ms`,
        ratio: `${fmt(p99 / Math.max(0.001, percentile(download, 99)), 1)}× the download at p99`,
        target: 'p99 < 50 ms beyond the download',
        met: p99 < 50,
      },
    ];
  } finally {
    await app.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./lib/report.ts');
  const rows = await storedImages(Number(process.argv[2] ?? 40));
  process.stdout.write(`${table(rows)}\n`);
  process.exit(0);
}
