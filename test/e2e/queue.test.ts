import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import { button, startService } from '../helpers/service.ts';

/** Samples every account's slot count on every task event and remembers the peak per account. */
function slotWatcher(svc: Awaited<ReturnType<typeof startService>>) {
  const peak = new Map<string, number>();
  svc.app.engine.on('task', () => {
    for (const a of svc.app.engine.health().accounts)
      peak.set(a.id, Math.max(peak.get(a.id) ?? 0, a.running));
  });
  return peak;
}

describe('queue and account pool', () => {
  test('an account never runs more jobs than its concurrency; the rest wait and then finish', async () => {
    const svc = await startService({ speed: 300 });
    try {
      const peak = slotWatcher(svc);
      const ids: string[] = [];
      for (let i = 0; i < 7; i++)
        ids.push(await svc.submit('/image/imagine', { prompt: `queued painting ${i}` }));
      const queued = await svc.fetchTask(ids[6] as string);
      assert.equal(queued.status, 'PENDING');
      assert.ok((queued.queuePosition ?? 0) >= 1, 'a waiting task shows its place in the queue');
      const done = await Promise.all(ids.map((id) => svc.waitTask(id)));
      assert.ok(done.every((t) => t.status === 'FINISHED'));
      assert.equal(Math.max(...peak.values()), 3);
    } finally {
      await svc.close();
    }
  });

  test('past maxQueue new work gets 429 "queue is full"; a cancel or a failure drains the queue', async () => {
    const svc = await startService({ speed: 2, settings: { maxQueue: 1 } });
    try {
      const long: string[] = [];
      for (let i = 0; i < 3; i++) long.push(await svc.submit('/image/imagine', { prompt: `long job ${i}` }));
      await Promise.all(long.map((id) => svc.waitTask(id, (t) => t.status !== 'PENDING')));
      const waiting = await svc.submit('/image/imagine', { prompt: 'short --fail Banned prompt detected' });
      const full = await svc.call('/image/imagine', { prompt: 'one too many' });
      assert.equal(full.status, 429);
      assert.equal(full.body.code, 429);
      assert.equal(full.body.msg, 'queue is full');
      assert.equal((await svc.call('/task/cancel', { taskId: long[0] })).status, 200);
      const failed = await svc.waitTask(waiting, undefined, 5000);
      assert.equal(failed.status, 'FAILED');
      assert.match(failed.failReason ?? '', /^\[Banned prompt detected\] /);
      const next = await svc.submit('/image/imagine', { prompt: 'after the failure' });
      await svc.waitTask(next, (t) => t.status !== 'PENDING', 5000);
    } finally {
      await svc.close();
    }
  });

  test('new work spreads over accounts by free slots; follow-ups run on their parent account', async () => {
    const svc = await startService({ speed: 300, accounts: 2 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await svc.submit('/image/imagine', { prompt: `spread ${i}` }));
      const done = await Promise.all(ids.map((id) => svc.waitTask(id)));
      const per = new Map<string, number>();
      for (const t of done) per.set(t.discordId ?? '', (per.get(t.discordId ?? '') ?? 0) + 1);
      assert.deepEqual([...per.values()].sort(), [2, 2]);
      const parent = done[1] as Task;
      const child = await svc.waitTask(
        await svc.submit('/image/action', {
          taskId: parent.id,
          customId: button(parent, (b) => b.label === 'U3'),
        }),
      );
      assert.equal(child.status, 'FINISHED', child.failReason ?? '');
      assert.equal(child.discordId, parent.discordId);
    } finally {
      await svc.close();
    }
  });

  test('4004 disables the account: running work fails with the reason, health is 503, submissions 503', async () => {
    const svc = await startService({ speed: 5 });
    try {
      const id = await svc.submit('/image/imagine', { prompt: 'doomed' });
      await svc.waitTask(id, (t) => t.status === 'RUNNING');
      svc.sandbox.discord.faults.closeWith(4004);
      const t = await svc.waitTask(id);
      assert.equal(t.status, 'FAILED');
      assert.match(t.failReason ?? '', /^account \d+ unavailable: token invalid$/);
      const health = await svc.call('/health');
      assert.equal(health.status, 503);
      assert.equal(health.body.status, 'degraded');
      const accounts = health.body.accounts as { state: string; reason: string }[];
      assert.equal(accounts[0]?.state, 'disabled');
      assert.equal(accounts[0]?.reason, 'token invalid');
      const refused = await svc.call('/image/imagine', { prompt: 'anyone there?' });
      assert.equal(refused.status, 503);
      assert.equal(refused.body.msg, 'no Midjourney account available');
    } finally {
      await svc.close();
    }
  });

  test('a task waiting longer than 3 × the longest timeoutMinutes fails with "queue timeout"', async () => {
    const svc = await startService({ speed: 2 });
    try {
      for (let i = 0; i < 3; i++) await svc.submit('/image/imagine', { prompt: `slot holder ${i}` });
      const id = await svc.submit('/image/imagine', { prompt: 'waits too long' });
      // Running jobs keep the timeout they started with; the queue limit follows the account's current one.
      for (const a of svc.app.engine.accounts.values())
        (a.config as { timeoutMinutes: number }).timeoutMinutes = 0.01;
      const t = await svc.waitTask(id, undefined, 10_000);
      assert.equal(t.status, 'FAILED');
      assert.equal(t.failReason, 'queue timeout');
    } finally {
      await svc.close();
    }
  });

  test('a queued task can be cancelled before it starts', async () => {
    const svc = await startService({ speed: 5 });
    try {
      for (let i = 0; i < 3; i++) await svc.submit('/image/imagine', { prompt: `filler ${i}` });
      const id = await svc.submit('/image/imagine', { prompt: 'never mind' });
      const res = await svc.call('/task/cancel', { taskId: id });
      assert.equal(res.status, 200);
      const t = await svc.fetchTask(id);
      assert.equal(t.status, 'FAILED');
      assert.equal(t.failReason, 'cancelled');
    } finally {
      await svc.close();
    }
  });
});
