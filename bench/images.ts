/**
 * SPEC §11 stored images: a finished job's image stored and served, FINISHED → stored, beyond
 * the download itself. The whole service on the sandbox (2048×2048 grids, 1024 upscales), the
 * default local store; each image's download and the rest (header, the original's write) timed
 * inside the copy. The baseline is the download of the same bytes. The previews and quadrants are
 * cut after FINISHED: how long a request for a quadrant right after FINISHED takes is printed too.
 */

import { startService } from '../test/helpers/service.ts';
import { fmt, percentile, type Row } from './lib/report.ts';

export async function storedImages(jobs: number): Promise<Row[]> {
  const timings: { downloadMs: number; storeMs: number }[] = [];
  const svc = await startService({
    speed: 1000,
    imageTiming: { onTiming: (t) => timings.push(t) },
  });
  try {
    // Warm up (sandbox picture cache, sharp's first load), not counted.
    for (let i = 0; i < 3; i++)
      await svc.waitTask(await svc.submit('/image/imagine', { prompt: `warm ${i}` }));
    timings.length = 0;
    // FINISHED → the last quadrant served: it may still be in its cut, which the request waits for.
    const served: number[] = [];
    for (let i = 0; i < jobs; i++) {
      const id = await svc.submit('/image/imagine', {
        prompt: `bench grid ${i} --ar ${i % 3 === 0 ? '16:9' : '1:1'}`,
      });
      const t = await svc.waitTask(id, undefined, 60_000);
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
    await svc.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./lib/report.ts');
  const rows = await storedImages(Number(process.argv[2] ?? 40));
  process.stdout.write(`${table(rows)}\n`);
  process.exit(0);
}
