import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import { type Service, startService } from '../helpers/service.ts';

const PNG_1PX =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

describe('the engine against a Midjourney and Discord that misbehave like the real ones', () => {
  let svc: Service;
  before(async () => {
    svc = await startService({ speed: 20 });
  });
  after(async () => {
    svc.sandbox.bot.faults.cancelOnEphemeralReply(false);
    await svc.close();
  });

  const running = (id: string) =>
    svc.waitTask(id, (t) => t.status === 'RUNNING' && t.messageHash !== null, 20_000);

  test('cancel clicks the Cancel Job button on the ephemeral reply that carries it', async () => {
    svc.sandbox.bot.faults.cancelOnEphemeralReply(true);
    const id = await svc.submit('/image/imagine', { prompt: 'cancel me on the reply' });
    const t = await running(id);
    const job = svc.sandbox.bot.jobByHash(t.messageHash ?? '');
    assert.ok(job?.cancelMessageId, 'the sandbox put the button on an ephemeral reply');
    const res = await svc.call('/task/cancel', { taskId: id });
    assert.equal(res.status, 200, res.body.msg);
    assert.equal((res.body.data as Task).status, 'FAILED');
    assert.equal((res.body.data as Task).failReason, 'cancelled');
    // Midjourney stopped the job: only a click on the reply that carries the button does that.
    assert.equal(job.state, 'cancelled');
    svc.sandbox.bot.faults.cancelOnEphemeralReply(false);
  });

  test('a cancel Discord refuses answers 502 with its reason; the job stays tracked and finishes', async () => {
    svc.sandbox.bot.faults.cancelOnEphemeralReply(true);
    const id = await svc.submit('/image/imagine', { prompt: 'cancel refused' });
    const t = await running(id);
    const job = svc.sandbox.bot.jobByHash(t.messageHash ?? '');
    assert.ok(job?.cancelMessageId);
    // The reply lost its button (it timed out on Discord): a click on it is refused.
    svc.sandbox.discord.editMessage(job.channelId, job.cancelMessageId, { components: [] });
    await new Promise((r) => setTimeout(r, 50));
    const res = await svc.call('/task/cancel', { taskId: id });
    assert.equal(res.status, 502);
    assert.match(res.body.msg, /Component validation failed/);
    assert.equal((await svc.fetchTask(id)).status, 'RUNNING');
    const done = await svc.waitTask(id);
    assert.equal(done.status, 'FINISHED', done.failReason ?? '');
    assert.equal(job.state, 'done');
    svc.sandbox.bot.faults.cancelOnEphemeralReply(false);
  });

  test('an error embed replying to the task’s own progress message fails it at once, on one line', async () => {
    const started = Date.now();
    const id = await svc.submit('/image/imagine', {
      prompt: 'https://s.mj.run/broken a cat --fail-reply Invalid link',
    });
    const t = await svc.waitTask(id, undefined, 15_000);
    assert.equal(t.status, 'FAILED');
    assert.equal(
      t.failReason,
      '[Invalid link] The link in https://s.mj.run/broken a cat could not be read. Check it and try again.',
    );
    // At once: long before the account's ten-minute timeout.
    assert.ok(Date.now() - started < 10_000);
  });

  test('an attachment upload that Discord answers with 500 fails with "upload failed: …"', async () => {
    svc.sandbox.discord.faults.serverErrorNext(20, '/attachments');
    const before = svc.sandbox.discord.stats().interactions;
    const id = await svc.submit('/image/imagine', { prompt: 'with an image', images: [PNG_1PX] });
    const t = await svc.waitTask(id, undefined, 30_000);
    assert.equal(t.status, 'FAILED');
    assert.match(t.failReason ?? '', /^upload failed: Discord answered 500 /);
    assert.equal(svc.sandbox.discord.stats().interactions, before, 'no interaction was sent');
  });
});

describe('settings.maxQueue under concurrency', () => {
  test('20 submissions at once with maxQueue 3: at most 3 wait, the rest get 429', async () => {
    const svc = await startService({ speed: 20, settings: { maxQueue: 3 } });
    try {
      svc.sandbox.bot.faults.holdJobs(true);
      let maxWaiting = 0;
      const onTask = () => {
        maxWaiting = Math.max(maxWaiting, svc.app.engine.health().queue);
      };
      svc.app.engine.on('task', onTask);
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => svc.call('/image/imagine', { prompt: `together ${i}` })),
      );
      const ok = answers.filter((a) => a.status === 200).length;
      const full = answers.filter((a) => a.status === 429);
      assert.equal(ok + full.length, 20);
      // 3 slots of the one account run, at most 3 more wait.
      assert.ok(ok <= 6, `${ok} accepted`);
      assert.ok(full.length >= 14, `${full.length} refused`);
      for (const a of full) assert.equal(a.body.msg, 'queue is full');
      assert.ok(maxWaiting <= 3, `${maxWaiting} waiting at most`);
      assert.ok(svc.app.engine.health().queue <= 3);
      svc.app.engine.off('task', onTask);
      svc.sandbox.bot.faults.holdJobs(false);
    } finally {
      await svc.close();
    }
  });
});

describe('/health and /metrics with an apiPrefix', () => {
  test('are served at the root too, and the API only under the prefix', async () => {
    const svc = await startService({ settings: { apiPrefix: 'api' } });
    try {
      const health = await fetch(`${svc.app.url}/health`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { status: string }).status, 'ok');
      const metrics = await fetch(`${svc.app.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /# TYPE /);
      assert.equal((await fetch(`${svc.app.url}/api/health`)).status, 200);
      assert.equal((await svc.call('/task/list')).status, 404);
      assert.equal((await svc.call('/api/task/list')).status, 200);
    } finally {
      await svc.close();
    }
  });
});
