/**
 * Issue 17: `/health` latency while two 60 MB bodies arrive at once, against the same polling on
 * an idle service (same run). The service runs as its own process; the bodies are prepared
 * Buffers, so this process only polls.
 */
import { startChild } from '../test/helpers/child-service.ts';
import { bigDataBody, healthDuring, postBuffer } from '../test/helpers/health-probe.ts';
import { fmt, percentile, type Row } from './lib/report.ts';

/** Five data-URI images of `each` decoded bytes (not real images: refused after the parse). */
function imagesBody(each: number): Buffer {
  const uri = `data:image/png;base64,${Buffer.alloc(each, 7).toString('base64')}`;
  return Buffer.from(JSON.stringify({ prompt: 'five images', images: [uri, uri, uri, uri, uri] }));
}

export async function hostileBodies(rounds = 3): Promise<Row[]> {
  const svc = await startChild({});
  try {
    await fetch(`${svc.base}/health`);
    const idle = await healthDuring(svc.base, () => new Promise((r) => setTimeout(r, 1500)));
    const rows: Row[] = [];
    const cases: [string, Buffer][] = [
      ['two 60 MB `data` bodies at once (refused 400)', bigDataBody(60 * 1024 * 1024)],
      [
        'two 57 MB bodies of five data-URI images at once (parsed)',
        imagesBody(Math.floor(8.6 * 1024 * 1024)),
      ],
    ];
    for (const [what, body] of cases) {
      const all: number[] = [];
      let statuses = '';
      for (let i = 0; i < rounds; i++) {
        const { probe, result } = await healthDuring(svc.base, () =>
          Promise.all([
            postBuffer(`${svc.base}/image/imagine`, body),
            postBuffer(`${svc.base}/image/imagine`, body),
          ]),
        );
        all.push(...probe.latencies);
        statuses = result.map((r) => r.status).join('/');
      }
      const max = Math.max(...all);
      rows.push({
        what: `\`/health\` while ${what}, ${rounds} rounds`,
        figure: `p50 ${fmt(percentile(all, 50))} ms, p99 ${fmt(percentile(all, 99))} ms, max ${fmt(max)} ms (answers ${statuses})`,
        baseline: `idle: p99 ${fmt(percentile(idle.probe.latencies, 99))} ms, max ${fmt(idle.probe.max)} ms`,
        ratio: `+${fmt(max - idle.probe.max)} ms at max`,
        target: 'max < 100 ms',
        met: max < 100,
      });
    }
    return rows;
  } finally {
    await svc.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./lib/report.ts');
  process.stdout.write(`${table(await hostileBodies())}\n`);
}
