import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AccountHealth } from '../../src/engine/api.ts';
import { NIJI_APP_ID } from '../../src/midjourney/index.ts';
import { button, type Service, startService } from '../helpers/service.ts';

async function until<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('niji, shorten, seed and /info against the sandbox (SPEC §14)', () => {
  let svc: Service;

  before(async () => {
    svc = await startService({ speed: 300, infoRefreshMs: 60_000 });
  });
  after(async () => {
    await svc.close();
  });

  test('/health shows what /info and /settings said: mode, fast hours, plan, remix', async () => {
    const health = await until(
      async () => (await svc.call('/health')).body as unknown as { accounts: AccountHealth[] },
      (h) => h.accounts[0]?.fastTimeRemaining !== undefined && h.accounts[0]?.remix !== undefined,
    );
    const acc = health.accounts[0] as AccountHealth;
    assert.equal(acc.state, 'ready');
    assert.equal(acc.mode, 'fast');
    assert.equal(acc.fastTimeRemaining, 14.5);
    assert.match(acc.subscription ?? '', /^Standard \(Active monthly, renews next on \d{4}-\d\d-\d\dT/);
    assert.equal(acc.remix, false);
  });

  test('"bot": "niji" sends /imagine to the niji bot, and its buttons stay with niji', async () => {
    const id = await svc.submit('/image/imagine', {
      prompt: 'a fox spirit in the rain --niji 7',
      bot: 'niji',
    });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.equal(t.bot, 'niji');
    const hash = t.messageHash as string;
    assert.ok(svc.sandbox.niji.jobByHash(hash), 'the niji bot ran it');
    assert.equal(svc.sandbox.bot.jobByHash(hash), undefined, 'Midjourney did not');
    const msg = svc.sandbox.discord.getMessage(t.discordId as string, t.messageId as string);
    assert.equal(msg?.author?.id, NIJI_APP_ID, 'the result is authored by niji');
    const up = await svc.waitTask(
      await svc.submit('/image/action', { taskId: id, customId: button(t, (b) => b.label === 'U2') }),
    );
    assert.equal(up.status, 'FINISHED', up.failReason ?? '');
    assert.equal(up.bot, 'niji');
    assert.ok(svc.sandbox.niji.jobByHash(up.messageHash as string));
  });

  test('a bot other than midjourney or niji is refused with the field named', async () => {
    const res = await svc.call('/image/imagine', { prompt: 'x', bot: 'dalle' });
    assert.equal(res.status, 400);
    assert.equal(res.body.msg, 'bot must be "midjourney" or "niji"');
  });

  test('shorten gives five prompts; pressing one imagines it', async () => {
    const long =
      'an extremely detailed oil painting of an old lighthouse keeper reading by lamplight --ar 3:2';
    const id = await svc.submit('/image/shorten', { prompt: long });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.equal(t.action, 'SHORTEN');
    assert.equal(t.prompts.length, 5, JSON.stringify(t.prompts));
    for (const p of t.prompts) assert.match(p, /--ar 3:2$/);
    assert.ok((t.prompts[4] ?? '').length < (t.prompts[0] ?? '').length, 'shorter and shorter');
    assert.match(t.description ?? '', /SHORTENED PROMPTS/);
    const pick = button(t, (b) => b.custom_id === 'MJ::Job::PromptAnalyzer::3');
    const img = await svc.waitTask(await svc.submit('/image/action', { taskId: id, customId: pick }));
    assert.equal(img.status, 'FINISHED', img.failReason ?? '');
    assert.equal(img.action, 'IMAGINE');
    assert.equal(img.prompt, t.prompts[2]);
    assert.equal(img.finalPrompt, t.prompts[2]);
    assert.ok(
      img.buttons.flat().some((b) => b.label === 'U1'),
      'a grid with buttons',
    );
  });

  test('the seed is read once through ✉️ and the DM, then served from the task', async () => {
    const id = await svc.submit('/image/imagine', { prompt: 'a seed to remember' });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    const before = svc.sandbox.discord.stats().restCalls;
    const [a, b] = await Promise.all([
      svc.call(`/task/seed?taskId=${id}`),
      svc.call(`/task/seed?taskId=${id}`),
    ]);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.match(String(a.body.data), /^\d+$/);
    assert.equal(b.body.data, a.body.data, 'two readers at once share one reading');
    assert.equal(svc.sandbox.discord.stats().restCalls - before, 1, 'one ✉️ reaction for both');
    const again = await svc.call(`/task/seed?taskId=${id}`);
    assert.equal(again.body.data, a.body.data);
    assert.equal(svc.sandbox.discord.stats().restCalls - before, 1, 'the cached seed needs no Discord call');
    assert.equal((await svc.fetchTask(id)).seed, a.body.data, 'cached on the task');
  });

  test('seed of an unknown or unfinished task: 404 / 409 / 400', async () => {
    assert.equal((await svc.call('/task/seed?taskId=1234567890123456789')).status, 404);
    assert.equal((await svc.call('/task/seed')).status, 400);
    svc.sandbox.bot.faults.holdJobs(true);
    try {
      const id = await svc.submit('/image/imagine', { prompt: 'still running' });
      await svc.waitTask(id, (t) => t.status === 'SUBMITTED' || t.status === 'RUNNING');
      const res = await svc.call(`/task/seed?taskId=${id}`);
      assert.equal(res.status, 409);
      assert.match(res.body.msg, /has no result to read a seed from/);
    } finally {
      svc.sandbox.bot.faults.holdJobs(false);
    }
  });
});
