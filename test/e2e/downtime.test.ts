import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { startService } from '../helpers/service.ts';

test('a result Midjourney posts while the service is down is found in the channel history after the restart', async () => {
  const sandbox = await startSandbox({ speed: 50, logger: silentLogger() });
  const storeFile = join(mkdtempSync(join(tmpdir(), 'mjb-down-')), 'tasks.sqlite');
  try {
    const first = await startService({ sandbox, storeFile });
    const id = await first.submit('/image/imagine', { prompt: 'finished while nobody listened' });
    const running = await first.waitTask(id, (t) => t.status === 'RUNNING' && t.messageHash !== null);
    await first.close();

    // The job goes on without the service and posts its result.
    const job = sandbox.bot.jobByHash(running.messageHash ?? '');
    assert.ok(job);
    for (const deadline = Date.now() + 20_000; job.state !== 'done' && Date.now() < deadline; )
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(job.state, 'done');

    const second = await startService({ sandbox, storeFile });
    try {
      const done = await second.waitTask(id, undefined, 20_000);
      assert.equal(done.status, 'FINISHED', done.failReason ?? '');
      assert.equal(done.messageId, job.resultMessageId);
      assert.ok(done.buttons.length > 0);
    } finally {
      await second.close();
    }
  } finally {
    await sandbox.close();
  }
});
