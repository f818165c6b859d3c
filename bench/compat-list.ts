/**
 * §11: `/mj/task/list-by-condition` with 100 ids (new-api's poll) against a bare node:http server
 * answering the same array, both loaded from a second process in the same run, in interleaved
 * rounds.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startService } from '../test/helpers/service.ts';
import { type LoadResult, load } from './lib/load.ts';
import { fmt, type Row } from './lib/report.ts';

export async function compatList(seconds = 3, count = 100, roundCount = 3): Promise<Row[]> {
  const svc = await startService({ speed: 1000, settings: { maxQueue: count } });
  try {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const res = await svc.call('/mj/submit/imagine', { prompt: `bench list ${i}` });
      ids.push(String((res.body as unknown as { result: string }).result));
    }
    const body = JSON.stringify({ ids });
    const list = async () =>
      (await svc.call('/mj/task/list-by-condition', body)).body as unknown as { progress: string }[];
    for (let left = 600; left > 0 && (await list()).some((t) => t.progress !== '100%'); left--) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // The bare server sends the same bytes, made once (the cheapest a server can answer them).
    const answer = Buffer.from(JSON.stringify(await list()));
    const bare = createServer((req, res) => {
      req.resume();
      req.on('end', () =>
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(answer),
      );
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const barePort = (bare.address() as AddressInfo).port;
    const init = { method: 'POST', body, headers: { 'content-type': 'application/json' } };
    // Interleaved rounds (bare, ours, bare, ours, …) as for /task/fetch: both meet the same
    // moments of a shared machine; the ratio is the median of the rounds' own ratios.
    const rounds: { base: LoadResult; ours: LoadResult }[] = [];
    for (let i = 0; i < roundCount; i++) {
      const base = await load(`http://127.0.0.1:${barePort}/mj/task/list-by-condition`, seconds, 32, init);
      const ours = await load(`${svc.app.url}/mj/task/list-by-condition`, seconds, 32, init);
      rounds.push({ base, ours });
    }
    bare.close();
    const byRatio = [...rounds].sort((a, b) => a.ours.rps / a.base.rps - b.ours.rps / b.base.rps);
    const { base, ours } = byRatio[Math.floor(byRatio.length / 2)] as (typeof rounds)[number];
    const ratio = ours.rps / base.rps;
    const errors = rounds.reduce((n, r) => n + r.ours.errors, 0);
    const all = rounds.map((r) => fmt(r.ours.rps / r.base.rps)).join(', ');
    return [
      {
        what: `\`/mj/task/list-by-condition\` with ${count} ids, requests/s (32 connections, 2nd process, ${roundCount} interleaved rounds)`,
        figure: `${fmt(ours.rps, 0)} req/s (p99 ${fmt(ours.p99)} ms, ${errors} errors)`,
        baseline: `${fmt(base.rps, 0)} req/s bare node:http, same array as bytes (p99 ${fmt(base.p99)} ms)`,
        ratio: `${fmt(ratio)}× (median round; rounds ${all})`,
        target: '≥ 0.5×',
        met: ratio >= 0.5 && errors === 0,
      },
    ];
  } finally {
    await svc.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await compatList();
  const { table } = await import('./lib/report.ts');
  process.stdout.write(`${table(rows)}\n`);
  process.exit(0);
}
