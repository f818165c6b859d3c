import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { TaskStore } from '../../src/engine/store.ts';
import { startService } from '../helpers/service.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

describe('the Redis store (store.url = redis://…) against a real redis-server', () => {
  let redis: ChildProcess;
  let url: string;
  before(async () => {
    const port = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    url = `redis://127.0.0.1:${port}/0`;
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(true));
        s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
      });
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(() => {
    redis.kill('SIGTERM');
  });

  test('a job runs on a Redis-backed service and its task is read back by a fresh store', async () => {
    const svc = await startService({ speed: 300, config: { store: { url } } });
    let id: string;
    try {
      id = await svc.submit('/image/imagine', { prompt: 'kept in redis' });
      const t = await svc.waitTask(id);
      assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    } finally {
      await svc.close();
    }
    const store = new TaskStore({ url, expiredDays: 1 });
    try {
      const rec = await store.get(id);
      assert.equal(rec?.task.status, 'FINISHED');
      assert.equal(rec?.task.prompt, 'kept in redis');
      assert.ok((await store.all()).some((r) => r.task.id === id));
      const keys = store.space<{ taskId: string }>('tg-keys');
      await keys.set('k', { taskId: id });
      assert.deepEqual(await keys.get('k'), { taskId: id });
    } finally {
      await store.close();
    }
  });
});
