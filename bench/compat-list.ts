/**
 * §11: `/mj/task/list-by-condition` with 100 ids (new-api's poll) against a bare node:http server
 * answering the same array, both loaded from a second process in the same run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startService } from '../test/helpers/service.ts';
import { load } from './lib/load.ts';
import { fmt, type Row } from './lib/report.ts';

export async function compatList(seconds = 3, count = 100): Promise<Row[]> {
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
    const base = await load(`http://127.0.0.1:${barePort}/mj/task/list-by-condition`, seconds, 32, init);
    const ours = await load(`${svc.app.url}/mj/task/list-by-condition`, seconds, 32, init);
    bare.close();
    const ratio = ours.rps / base.rps;
    return [
      {
        what: `\`/mj/task/list-by-condition\` with ${count} ids, requests/s (32 connections, 2nd process)`,
        figure: `${fmt(ours.rps, 0)} req/s (p99 ${fmt(ours.p99)} ms, ${ours.errors} errors)`,
        baseline: `${fmt(base.rps, 0)} req/s bare node:http, same array as bytes (p99 ${fmt(base.p99)} ms)`,
        ratio: `${fmt(ratio)}×`,
        target: '≥ 0.5×',
        met: ratio >= 0.5 && ours.errors === 0,
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
