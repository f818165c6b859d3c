/**
 * §11 row 1: `/task/fetch` throughput against a bare node:http server answering the same JSON,
 * both in this process, loaded from a second process in the same run, in interleaved rounds.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startService } from '../test/helpers/service.ts';
import { type LoadResult, load } from './lib/load.ts';
import { fmt, type Row } from './lib/report.ts';

export async function apiThroughput(seconds = 2, roundCount = 5): Promise<Row[]> {
  const svc = await startService({ speed: 1000 });
  try {
    const id = await svc.submit('/image/imagine', { prompt: 'bench fetch' });
    await svc.waitTask(id);
    const body = JSON.stringify((await svc.call(`/task/fetch?taskId=${id}`)).body);
    const bare = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const barePort = (bare.address() as AddressInfo).port;
    // Interleaved rounds (bare, ours, bare, ours, …): both meet the same moments of a shared
    // machine; the ratio is the median of the rounds' own ratios.
    const rounds: { base: LoadResult; ours: LoadResult }[] = [];
    for (let i = 0; i < roundCount; i++) {
      const base = await load(`http://127.0.0.1:${barePort}/task/fetch?taskId=${id}`, seconds);
      const ours = await load(`${svc.app.url}/task/fetch?taskId=${id}`, seconds);
      rounds.push({ base, ours });
    }
    bare.close();
    const mid = <T>(xs: T[], by: (x: T) => number): T =>
      [...xs].sort((a, b) => by(a) - by(b))[Math.floor(xs.length / 2)] as T;
    const { base, ours } = mid(rounds, (r) => r.ours.rps / r.base.rps);
    const ratio = ours.rps / base.rps;
    const errors = rounds.reduce((n, r) => n + r.ours.errors, 0);
    const all = rounds.map((r) => fmt(r.ours.rps / r.base.rps)).join(', ');
    return [
      {
        what: `\`/task/fetch\` requests/s (32 connections, 2nd process, ${roundCount} interleaved rounds of ${seconds} s)`,
        figure: `${fmt(ours.rps, 0)} req/s (p99 ${fmt(ours.p99)} ms, ${errors} errors)`,
        baseline: `${fmt(base.rps, 0)} req/s bare node:http (p99 ${fmt(base.p99)} ms)`,
        ratio: `${fmt(ratio)}× (median round; rounds ${all})`,
        target: '≥ 0.8×',
        met: ratio >= 0.8 && errors === 0,
      },
    ];
  } finally {
    await svc.close();
  }
}
