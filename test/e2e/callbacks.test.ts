import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import { type Service, startService } from '../helpers/service.ts';

interface Received {
  task: Task;
  signature: string | undefined;
  raw: string;
}

async function receiver(): Promise<{ server: Server; url: string; got: Received[]; hits: () => number }> {
  const got: Received[] = [];
  let hits = 0;
  const server = createServer((req: IncomingMessage, res) => {
    hits++;
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      raw += c;
    });
    req.on('end', () => {
      if (req.url === '/hook') {
        got.push({
          task: JSON.parse(raw) as Task,
          signature: req.headers['x-mj-signature'] as string | undefined,
          raw,
        });
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { server, url: `http://127.0.0.1:${port}`, got, hits: () => hits };
}

describe('notifyUrl callbacks and outgoing fetches', () => {
  let svc: Service;
  let rx: Awaited<ReturnType<typeof receiver>>;
  before(async () => {
    rx = await receiver();
    svc = await startService({
      speed: 300,
      settings: { secret: 's3cret-value', allowPrivateNetworks: true },
    });
  });
  after(async () => {
    await svc.close();
    rx.server.close();
  });

  test('every state change from SUBMITTED on is posted in order, signed with the secret', async () => {
    const res = await svc.call(
      '/image/imagine',
      { prompt: 'tell me when', notifyUrl: `${rx.url}/hook`, data: 'echo' },
      { headers: { 'mj-api-secret': 's3cret-value' } },
    );
    const id = res.body.taskId as string;
    const deadline = Date.now() + 15_000;
    while (!rx.got.some((g) => g.task.id === id && g.task.status === 'FINISHED') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const mine = rx.got.filter((g) => g.task.id === id);
    const statuses = mine.map((g) => g.task.status);
    assert.equal(statuses.at(-1), 'FINISHED');
    assert.ok(statuses.includes('RUNNING'));
    assert.ok(!statuses.includes('PENDING') && !statuses.includes('STARTED'));
    const order = ['SUBMITTED', 'RUNNING', 'FINISHED'];
    for (let i = 1; i < statuses.length; i++) {
      assert.ok(
        order.indexOf(statuses[i] as string) >= order.indexOf(statuses[i - 1] as string),
        statuses.join(','),
      );
    }
    const progress = mine
      .filter((g) => g.task.status === 'RUNNING')
      .map((g) => Number.parseInt(g.task.progress ?? '0', 10));
    assert.deepEqual(
      progress,
      [...progress].sort((a, b) => a - b),
      'progress never goes backwards',
    );
    for (const g of mine) {
      const expected = `sha256=${createHmac('sha256', 's3cret-value').update(g.raw).digest('hex')}`;
      assert.equal(g.signature, expected);
      assert.equal(g.task.data, 'echo');
      assert.deepEqual(Object.keys(g.task).slice(0, 3), ['id', 'action', 'status']);
    }
  });

  test('an input image on a private address is refused when private networks are not allowed, and never fetched', async () => {
    const strict = await startService({ speed: 300 });
    try {
      const before = rx.hits();
      const id = await strict.submit('/image/imagine', { prompt: 'x', images: [`${rx.url}/cat.png`] });
      const t = await strict.waitTask(id);
      assert.equal(t.status, 'FAILED');
      assert.match(t.failReason ?? '', /^could not fetch image http:\/\/127\.0\.0\.1:\d+\/cat\.png: /);
      assert.equal(rx.hits(), before, 'the private address was never contacted');
    } finally {
      await strict.close();
    }
  });
});
