import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import { type Service, startService } from '../helpers/service.ts';

describe('results never go to the wrong job when Discord and Midjourney misbehave', () => {
  let svc: Service;
  before(async () => {
    svc = await startService({ speed: 300 });
  });
  after(async () => {
    await svc.close();
  });

  async function imagineAll(prompts: string[]): Promise<Task[]> {
    const ids: string[] = [];
    for (const prompt of prompts) ids.push(await svc.submit('/image/imagine', { prompt }));
    return Promise.all(ids.map((id) => svc.waitTask(id)));
  }

  /**
   * Each finished task's result is the job its own interaction started: the sandbox remembers the
   * nonce of the interaction behind every job, the store remembers the nonce each task sent.
   */
  async function assertOwnResults(tasks: Task[]): Promise<void> {
    const hashes = new Set<string>();
    for (const t of tasks) {
      assert.equal(t.status, 'FINISHED', `${t.id}: ${t.failReason}`);
      assert.ok(t.messageHash && !hashes.has(t.messageHash), 'two tasks got the same result');
      hashes.add(t.messageHash);
      const job = svc.sandbox.bot.jobByHash(t.messageHash);
      assert.ok(job, 'the result is a real job of the sandbox');
      assert.equal(job.userId, svc.sandbox.accounts[0]?.user_id, 'the result is a job of our account');
      const rec = await svc.app.store.get(t.id);
      assert.equal(job.nonce, rec?.meta.nonce, 'the result is the job this task started');
      assert.ok(t.finalPrompt?.includes(t.prompt), `${t.finalPrompt} vs ${t.prompt}`);
    }
  }

  test('two jobs with the same prompt finishing in reverse order each get their own result', async () => {
    svc.sandbox.bot.faults.reverseOrder(true);
    try {
      await assertOwnResults(await imagineAll(['twin lighthouse at dusk', 'twin lighthouse at dusk']));
    } finally {
      svc.sandbox.bot.faults.reverseOrder(false);
    }
  });

  test("another user's jobs with the same prompts, interleaved, are never taken for ours", async () => {
    svc.sandbox.bot.faults.interleaveOtherUsers(true);
    svc.sandbox.bot.faults.postToOtherChannel(true);
    try {
      const before = Number((await svc.app.metrics.unmatchedMessages.get()).values[0]?.value ?? 0);
      const tasks = await imagineAll(['a blue whale', 'a green owl', 'a blue whale']);
      await assertOwnResults(tasks);
      const afterCount = Number((await svc.app.metrics.unmatchedMessages.get()).values[0]?.value ?? 0);
      assert.ok(afterCount > before, 'the other user messages were seen and counted as unmatched');
    } finally {
      svc.sandbox.bot.faults.interleaveOtherUsers(false);
      svc.sandbox.bot.faults.postToOtherChannel(false);
    }
  });

  test('2023-style results without interaction metadata are matched by hash', async () => {
    svc.sandbox.bot.faults.omitInteractionMetadata(true);
    try {
      await assertOwnResults(await imagineAll(['an old style job', 'another old style job']));
    } finally {
      svc.sandbox.bot.faults.omitInteractionMetadata(false);
    }
  });

  test('an error embed fails the task with "[title] description"', async () => {
    const id = await svc.submit('/image/imagine', { prompt: 'a cat --fail Invalid parameter' });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FAILED');
    assert.match(t.failReason ?? '', /^\[Invalid parameter\] \S/);
  });

  test('parameters Midjourney refuses fail the task with its "Invalid parameter" answer', async () => {
    const [ratio, unknown] = await Promise.all(
      ['a cat --ar banana', 'a cat --foo 3 --v 6'].map(async (prompt) =>
        svc.waitTask(await svc.submit('/image/imagine', { prompt })),
      ),
    );
    assert.equal(ratio?.status, 'FAILED');
    assert.match(ratio?.failReason ?? '', /^\[Invalid parameter\] Invalid aspect ratio banana:/);
    assert.equal(unknown?.status, 'FAILED');
    assert.match(unknown?.failReason ?? '', /^\[Invalid parameter\] Unrecognized parameter\(s\): --foo$/);
  });

  test('"Job queued" keeps waiting, then the job succeeds', async () => {
    const id = await svc.submit('/image/imagine', { prompt: 'a patient dog --fail Job queued' });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
  });

  test('429 on the interaction is waited out; the task still finishes', async () => {
    svc.sandbox.discord.faults.rateLimitNext(2, { retryAfterSec: 0.2, pathPart: '/interactions' });
    const started = Date.now();
    const id = await svc.submit('/image/imagine', { prompt: 'rate limited river' });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.ok(Date.now() - started >= 400, 'two retry_after waits happened');
  });

  test('an outdated command version is refreshed from the command index and retried', async () => {
    svc.sandbox.discord.faults.outdatedCommandNext(1);
    const id = await svc.submit('/image/imagine', { prompt: 'fresh command please' });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
  });

  test('a socket dropped mid-job is resumed and the job finishes', async () => {
    const id = await svc.submit('/image/imagine', { prompt: 'through the storm' });
    await svc.waitTask(id, (t) => t.status === 'RUNNING');
    svc.sandbox.discord.faults.dropSocket();
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    const metrics = await (await fetch(`${svc.app.url}/metrics`)).text();
    assert.match(metrics, /mjb_gateway_reconnects_total\{kind="resume"\} [1-9]/);
  });

  test('a job Midjourney never answers times out', async () => {
    const quick = await startService({ speed: 300, config: {}, settings: {} });
    try {
      // timeoutMinutes is per account; the sandbox accounts use 10 minutes, so drive it from the engine's config.
      const account = [...quick.app.engine.accounts.values()][0];
      assert.ok(account);
      (account.config as { timeoutMinutes: number }).timeoutMinutes = 0.01;
      quick.sandbox.bot.faults.neverAnswer(1);
      const id = await quick.submit('/image/imagine', { prompt: 'into the void' });
      const t = await quick.waitTask(id, undefined, 10_000);
      assert.equal(t.status, 'FAILED');
      assert.equal(t.failReason, 'timeout after 0.01 minutes');
    } finally {
      await quick.close();
    }
  });
});
