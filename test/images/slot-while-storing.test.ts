import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import { waitFor } from '../helpers/processes.ts';
import { startService } from '../helpers/service.ts';
import { load } from './helpers.ts';

test('a slot is free once Midjourney delivers: a waiting job starts while earlier results are still being stored, and each FINISHED shows its stored image', async () => {
  const svc = await startService({ speed: 300 });
  try {
    const announced = new Map<string, Task>();
    svc.app.engine.on('task', (t) => {
      if (t.status === 'FINISHED' && !announced.has(t.id)) announced.set(t.id, t);
    });
    // Result downloads get no answer: the three running jobs cannot be stored, so not FINISHED.
    svc.sandbox.discord.faults.cdnHold(true);
    const first: string[] = [];
    for (let i = 0; i < 3; i++)
      first.push(await svc.submit('/image/imagine', { prompt: `held result ${i}` }));
    const waiting = await svc.submit('/image/imagine', { prompt: 'the job that waited' });
    assert.equal((await svc.fetchTask(waiting)).status, 'PENDING', 'the one account has three slots');

    // The fourth job starts although none of the first three is FINISHED: their slots were given
    // back when Midjourney's finals arrived.
    const started = await svc.waitTask(waiting, (t) => t.status !== 'PENDING', 30_000);
    assert.notEqual(started.status, 'FAILED', started.failReason ?? '');
    for (const id of first) {
      const t = await svc.fetchTask(id);
      assert.equal(t.status, 'RUNNING', `${id} is still being stored`);
    }
    assert.equal(announced.size, 0, 'nothing was announced FINISHED before its file was stored');

    svc.sandbox.discord.faults.cdnHold(false);
    const done = await Promise.all([...first, waiting].map((id) => svc.waitTask(id, undefined, 30_000)));
    for (const t of done) {
      assert.equal(t.status, 'FINISHED', t.failReason ?? '');
      const atFinish = await waitFor('the FINISHED announcement', async () => announced.get(t.id));
      // The FINISHED change itself carries the stored copy (SPEC §6.7.1), and it serves.
      assert.ok(atFinish.imageUrl?.startsWith(`${svc.app.url}/image/file/${t.id}/`), atFinish.imageUrl ?? '');
      assert.equal(atFinish.imageUrls.length, 4);
      assert.equal((await load(atFinish.imageUrl as string)).status, 200);
      assert.equal((await load(atFinish.imageUrls[3]?.url as string)).status, 200);
    }
    const health = await svc.call('/health');
    const accounts = health.body.accounts as { running: number }[];
    assert.deepEqual(
      accounts.map((a) => a.running),
      [0],
      'every slot is free once all are finished',
    );
  } finally {
    svc.sandbox.discord.faults.cdnHold(false);
    await svc.close();
  }
});
