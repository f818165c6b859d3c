import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TaskStore } from '../../src/engine/store.ts';
import { silentLogger } from '../../src/log.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { button, startService } from '../helpers/service.ts';

test('the sandbox keeps its state in the store: after a restart old buttons work and a running job finishes', async () => {
  const storeFile = join(mkdtempSync(join(tmpdir(), 'mjb-sbx-')), 'tasks.sqlite');
  const url = `sqlite://${storeFile}`;
  const boot = async () => {
    const store = new TaskStore({ url, expiredDays: 1 });
    const sandbox = await startSandbox({ speed: 50, logger: silentLogger(), state: store.space('sandbox') });
    const svc = await startService({ speed: 50, sandbox, storeFile });
    return {
      svc,
      async close() {
        await svc.close();
        await sandbox.close();
        await store.close();
      },
    };
  };

  const first = await boot();
  const doneId = await first.svc.submit('/image/imagine', { prompt: 'finished before the restart' });
  const done = await first.svc.waitTask(doneId);
  assert.equal(done.status, 'FINISHED', done.failReason ?? '');
  // A second job stays in flight at 31 % while the service and the sandbox go down.
  first.svc.sandbox.bot.faults.holdJobs(true, 31);
  const runningId = await first.svc.submit('/image/imagine', { prompt: 'in flight across the restart' });
  await first.svc.waitTask(runningId, (t) => t.progress === '31%');
  await first.close();

  const second = await boot();
  try {
    const resumed = await second.svc.waitTask(runningId, undefined, 30_000);
    assert.equal(resumed.status, 'FINISHED', resumed.failReason ?? '');
    assert.ok(resumed.imageUrl);
    // A button of the result from before the restart still works.
    const upscaleId = await second.svc.submit('/image/action', {
      taskId: doneId,
      customId: button(done, (b) => b.custom_id.startsWith('MJ::JOB::upsample::1::')),
    });
    const upscale = await second.svc.waitTask(upscaleId, undefined, 30_000);
    assert.equal(upscale.status, 'FINISHED', upscale.failReason ?? '');
  } finally {
    await second.close();
  }
});

test('a button whose message is gone on Discord fails with that reason, plainly', async () => {
  const svc = await startService({ speed: 50 });
  try {
    const id = await svc.submit('/image/imagine', { prompt: 'result deleted later' });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    svc.sandbox.discord.deleteMessage(t.discordId ?? '', t.messageId ?? '');
    const up = await svc.submit('/image/action', {
      taskId: id,
      customId: button(t, (b) => b.custom_id.startsWith('MJ::JOB::upsample::2::')),
    });
    const failed = await svc.waitTask(up);
    assert.equal(failed.status, 'FAILED');
    assert.match(failed.failReason ?? '', /no longer on Discord \(10008 Unknown Message\)/);
  } finally {
    await svc.close();
  }
});
