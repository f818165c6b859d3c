import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startService } from '../helpers/service.ts';

/** The sandbox's `holdJobs` fault: jobs stop where told and go on from there when released. */
test('holdJobs keeps jobs where told (submitted, at a percentage, before an upscale) until released', async () => {
  const svc = await startService({ speed: 300 });
  const { faults } = svc.sandbox.bot;
  const settleFor = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    faults.holdJobs(true);
    const id = await svc.submit('/image/imagine', { prompt: 'a held lighthouse' });
    await svc.waitTask(id, (t) => t.status === 'SUBMITTED');
    // A whole job takes ~140 ms at this speed: well past it, nothing more has come.
    await settleFor(400);
    assert.equal((await svc.fetchTask(id)).status, 'SUBMITTED');

    faults.holdJobs(true, 31);
    await svc.waitTask(id, (t) => t.progress === '31%');
    await settleFor(300);
    const at31 = await svc.fetchTask(id);
    assert.equal(at31.status, 'RUNNING');
    assert.equal(at31.progress, '31%');
    assert.ok(at31.imageUrl, 'the preview of the step it stopped at');

    faults.holdJobs(false);
    const grid = await svc.waitTask(id);
    assert.equal(grid.status, 'FINISHED', grid.failReason ?? '');

    // An upscale reply is a result (100): held before it is sent.
    faults.holdJobs(true, 93);
    const customId = grid.buttons.flat().find((b) => b.label === 'U2')?.custom_id;
    assert.ok(customId);
    const up = await svc.submit('/image/action', { taskId: grid.id, customId });
    await svc.waitTask(up, (t) => t.status === 'SUBMITTED');
    await settleFor(200);
    assert.equal((await svc.fetchTask(up)).status, 'SUBMITTED');
    faults.holdJobs(false);
    assert.equal((await svc.waitTask(up)).status, 'FINISHED');
    const { started, finished } = svc.sandbox.bot.stats();
    assert.deepEqual({ started, finished }, { started: 2, finished: 2 });
  } finally {
    await svc.close();
  }
});
