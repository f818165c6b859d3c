/**
 * §11 row 1: `/task/fetch` throughput against a bare node:http server answering the same JSON,
 * both loaded from a second process in the same run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startService } from '../test/helpers/service.ts';
import { load } from './lib/load.ts';
import { fmt, type Row } from './lib/report.ts';

export async function apiThroughput(seconds = 3): Promise<Row[]> {
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
    const base = await load(`http://127.0.0.1:${barePort}/task/fetch?taskId=${id}`, seconds);
    const ours = await load(`${svc.app.url}/task/fetch?taskId=${id}`, seconds);
    bare.close();
    const ratio = ours.rps / base.rps;
    return [
      {
        what: '`/task/fetch` requests/s (32 connections, 2nd process)',
        figure: `${fmt(ours.rps, 0)} req/s (p99 ${fmt(ours.p99)} ms, ${ours.errors} errors)`,
        baseline: `${fmt(base.rps, 0)} req/s bare node:http (p99 ${fmt(base.p99)} ms)`,
        ratio: `${fmt(ratio)}×`,
        target: '≥ 0.5×',
        met: ratio >= 0.5 && ours.errors === 0,
      },
    ];
  } finally {
    await svc.close();
  }
}
