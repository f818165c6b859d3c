import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import { button, type Service, startService } from '../helpers/service.ts';

describe('bad requests get a clear answer and leave every other task untouched', () => {
  let svc: Service;
  let grid: Task;
  before(async () => {
    svc = await startService({ speed: 300, settings: { apiPrefix: 'mj' } });
    grid = await svc.waitTask(await svc.submit('/mj/image/imagine', { prompt: 'a calm lake' }));
  });
  after(async () => {
    await svc.close();
  });

  test('a banned word is refused naming it, ignoring case, at word boundaries only', async () => {
    const res = await svc.call('/mj/image/imagine', { prompt: 'A NUDE statue' });
    assert.equal(res.status, 400);
    assert.equal(res.body['ban-words'], 'nude');
    assert.match(res.body.msg, /nude/);
    const brave = await svc.call('/mj/image/imagine', { prompt: 'a brave knight' });
    assert.equal(brave.status, 200, 'bra inside brave is not banned');
    const phrase = await svc.call('/mj/image/imagine', { prompt: 'man with  no   shirt' });
    assert.equal(phrase.status, 400);
  });

  test('routes live under the prefix only', async () => {
    assert.equal((await svc.call('/image/imagine', { prompt: 'x' })).status, 404);
    assert.equal((await svc.call('/mj/task/fetch?taskId=1')).status, 404);
  });

  test('unknown task 404, unknown or foreign button 400, unfinished parent 409', async () => {
    const unknown = await svc.call('/mj/task/fetch?taskId=1234567890123456789');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.msg, 'task 1234567890123456789 not found');
    assert.equal(unknown.body.data, null);
    const act = await svc.call('/mj/image/action', {
      taskId: '1234567890123456789',
      customId: 'MJ::JOB::upsample::1::x',
    });
    assert.equal(act.status, 404);
    const foreign = await svc.call('/mj/image/action', {
      taskId: grid.id,
      customId: 'MJ::JOB::upsample::1::a7cb1552-f779-4094-9afe-2acf22dae280',
    });
    assert.equal(foreign.status, 400);
    const guessed = await svc.call('/mj/image/action', {
      taskId: grid.id,
      customId: 'MJ::JOB::upsample_v9_8x::1::zzz',
    });
    assert.equal(guessed.status, 400);
    const running = await svc.submit('/mj/image/imagine', { prompt: 'still going' });
    const early = await svc.call('/mj/image/action', {
      taskId: running,
      customId: button(grid, (b) => b.label === 'U1'),
    });
    assert.equal(early.status, 409);
  });

  test('custom zoom needs --zoom between 1 and 2', async () => {
    const up = await svc.waitTask(
      await svc.submit('/mj/image/action', {
        taskId: grid.id,
        customId: button(grid, (b) => b.label === 'U2'),
      }),
    );
    const zoom = button(up, (b) => b.custom_id.startsWith('MJ::CustomZoom::'));
    for (const prompt of [undefined, 'a lake', 'a lake --zoom 3', 'a lake --zoom 0.5']) {
      const res = await svc.call('/mj/image/action', {
        taskId: up.id,
        customId: zoom,
        ...(prompt ? { prompt } : {}),
      });
      assert.equal(res.status, 400, String(prompt));
      assert.match(res.body.msg, /--zoom/);
    }
  });

  test('a cancelled neighbour and a refused request leave the other tasks finishing', async () => {
    const keep = await svc.submit('/mj/image/imagine', { prompt: 'keeps going' });
    const drop = await svc.submit('/mj/image/imagine', { prompt: 'dropped' });
    await svc.call('/mj/image/imagine', '{"prompt": broken');
    await svc.call('/mj/task/cancel', { taskId: drop });
    const t = await svc.waitTask(keep);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.equal((await svc.fetchTask(grid.id)).status, 'FINISHED');
  });
});
