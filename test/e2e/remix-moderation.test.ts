import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AccountHealth } from '../../src/engine/api.ts';
import { button, type Service, startService } from '../helpers/service.ts';

async function until<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function accountsOf(svc: Service): Promise<AccountHealth[]> {
  return ((await svc.call('/health')).body as unknown as { accounts: AccountHealth[] }).accounts;
}

describe('remix mode (issue 10 item 3, SPEC §14)', () => {
  let svc: Service;

  before(async () => {
    svc = await startService({ speed: 300, infoRefreshMs: 60_000 });
    const user = svc.sandbox.accounts[0]?.user_id as string;
    // Remix switched on in Midjourney's /settings: the account learns it from /settings at start.
    svc.sandbox.bot.controls.setRemix(user, true);
    svc.sandbox.niji.controls.setRemix(user, true);
  });
  after(async () => {
    await svc.close();
  });

  test('with remix on, V1 answers the form with the parent prompt and finishes', async () => {
    const grid = await svc.waitTask(await svc.submit('/image/imagine', { prompt: 'a glass teapot' }));
    assert.equal(grid.status, 'FINISHED', grid.failReason ?? '');
    const health = await until(
      () => accountsOf(svc),
      (a) => a[0]?.remix === true,
    );
    assert.equal(health[0]?.remix, true, '/health shows remix on');
    const v1 = await svc.waitTask(
      await svc.submit('/image/action', { taskId: grid.id, customId: button(grid, (b) => b.label === 'V1') }),
    );
    assert.equal(v1.status, 'FINISHED', v1.failReason ?? '');
    assert.equal(v1.action, 'VARIATION');
    assert.equal(v1.finalPrompt, 'a glass teapot', 'the form was answered with the parent prompt');
    const msg = svc.sandbox.discord.getMessage(v1.discordId as string, v1.messageId as string);
    assert.match(msg?.content ?? '', / - Remix by <@\d+> \(fast\)$/, 'Midjourney ran it as a remix');
  });

  test("with remix on, the caller's prompt replaces the parent's (V2, reroll and pan)", async () => {
    const grid = await svc.waitTask(await svc.submit('/image/imagine', { prompt: 'a copper kettle' }));
    assert.equal(grid.status, 'FINISHED', grid.failReason ?? '');
    const v2 = await svc.waitTask(
      await svc.submit('/image/action', {
        taskId: grid.id,
        customId: button(grid, (b) => b.label === 'V2'),
        prompt: 'a copper kettle, steam —ar 3:2',
      }),
    );
    assert.equal(v2.status, 'FINISHED', v2.failReason ?? '');
    assert.equal(v2.finalPrompt, 'a copper kettle, steam --ar 3:2');
    const reroll = await svc.waitTask(
      await svc.submit('/image/action', {
        taskId: grid.id,
        customId: button(grid, (b) => b.custom_id.startsWith('MJ::JOB::reroll::')),
        prompt: 'a silver kettle',
      }),
    );
    assert.equal(reroll.status, 'FINISHED', reroll.failReason ?? '');
    assert.equal(reroll.action, 'REROLL');
    assert.equal(reroll.finalPrompt, 'a silver kettle');
    const up = await svc.waitTask(
      await svc.submit('/image/action', { taskId: grid.id, customId: button(grid, (b) => b.label === 'U1') }),
    );
    const pan = await svc.waitTask(
      await svc.submit('/image/action', {
        taskId: up.id,
        customId: button(up, (b) => b.custom_id.startsWith('MJ::JOB::pan_left::')),
      }),
    );
    assert.equal(pan.status, 'FINISHED', pan.failReason ?? '');
    assert.equal(pan.action, 'PANLEFT');
    assert.equal(pan.finalPrompt, 'a copper kettle');
  });
});

describe('moderation, timed blocks and fast hours (SPEC §14)', () => {
  const speed = 60;
  let svc: Service;

  before(async () => {
    svc = await startService({ speed, accounts: 2 });
  });
  after(async () => {
    await svc.close();
  });

  test('a Pending mod message is acknowledged and the task fails with its text', async () => {
    const t = await svc.waitTask(
      await svc.submit('/image/imagine', { prompt: 'a flagged prompt --fail Pending mod message' }),
    );
    assert.equal(t.status, 'FAILED');
    assert.equal(
      t.failReason,
      '[Pending mod message] You have a pending moderation message. Please acknowledge it before using the bot further.',
    );
    const user = svc.sandbox.accounts.find((a) => a.channel_id === t.discordId)?.user_id as string;
    const seen = await until(
      () => svc.sandbox.bot.controls.user(user),
      (u) => u.acknowledged === 1,
    );
    assert.equal(seen.acknowledged, 1, 'the Acknowledge button was pressed');
    assert.equal(seen.pendingMod, false);
    const accounts = await accountsOf(svc);
    assert.ok(
      accounts.every((a) => a.state === 'ready'),
      'no account was disabled',
    );
  });

  test('a timed block (5 minutes, 5 s at speed 60) pauses the account; new work goes to the other; it is ready again by itself', async () => {
    const blocked = await svc.waitTask(
      await svc.submit('/image/imagine', { prompt: 'a prompt that gets blocked --fail Blocked 5 minutes' }),
    );
    assert.equal(blocked.status, 'FAILED');
    assert.match(
      blocked.failReason ?? '',
      /^\[Blocked\] You have been blocked from accessing Midjourney for 5 minutes\./,
    );
    const paused = blocked.discordId as string;
    const during = await until(
      () => accountsOf(svc),
      (a) => a.find((x) => x.id === paused)?.state === 'paused',
    );
    const p = during.find((x) => x.id === paused) as AccountHealth;
    assert.equal(p.state, 'paused');
    assert.ok(p.pausedUntil && p.pausedUntil >= Math.floor(Date.now() / 1000), 'pausedUntil is shown');
    assert.equal((await svc.call('/health')).status, 200, 'the other account still takes work');
    const ids = await Promise.all(
      [1, 2, 3, 4].map((i) => svc.submit('/image/imagine', { prompt: `work during the block ${i}` })),
    );
    const done = await Promise.all(ids.map((id) => svc.waitTask(id)));
    for (const t of done) {
      assert.equal(t.status, 'FINISHED', t.failReason ?? '');
      assert.notEqual(t.discordId, paused, 'the paused account took no new work');
    }
    // 5 minutes at sandbox speed 60 are 5 s of real time.
    const after = await until(
      () => accountsOf(svc),
      (a) => a.find((x) => x.id === paused)?.state === 'ready',
      20_000,
    );
    const back = after.find((x) => x.id === paused) as AccountHealth;
    assert.equal(back.state, 'ready', 'back by itself');
    assert.equal(back.pausedUntil, undefined);
  });

  test('out of fast hours, the account switches to relax and the job still finishes', async () => {
    for (const a of svc.sandbox.accounts) svc.sandbox.bot.controls.setFastHours(a.user_id, 0);
    const t = await svc.waitTask(
      await svc.submit('/image/imagine', { prompt: 'a slow but sure job' }),
      undefined,
      20_000,
    );
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    const user = svc.sandbox.accounts.find((a) => a.channel_id === t.discordId)?.user_id as string;
    assert.equal(svc.sandbox.bot.controls.user(user).mode, 'relax', 'the bridge sent /relax');
    const acc = (await accountsOf(svc)).find((a) => a.id === t.discordId);
    assert.equal(acc?.mode, 'relax');
  });
});
