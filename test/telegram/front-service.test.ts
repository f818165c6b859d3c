import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freePort } from '../helpers/free-port.ts';
import { type Harness, startHarness } from './helpers.ts';

/** Webhook mode, metrics, admin alerts and behaviour under load (SPEC §7.5, §7.7, §7.8, §9). */
describe('Telegram front: running as a service', () => {
  test('webhook mode: setWebhook with a secret at start, updates arrive on the API server’s path, wrong secrets are refused', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const h: Harness = await startHarness({
      config: { listen: base },
      telegram: { webhook: { url: `${base}/tg/hook`, secret: 'hook_secret_1' } },
    });
    try {
      assert.equal(h.svc.app.url, base);
      assert.equal(h.front.webhook?.path, '/tg/hook');
      assert.deepEqual(h.tg.webhook, { url: `${base}/tg/hook`, secret: 'hook_secret_1' });
      const u = h.tg.user(6001);
      const asked = h.tg.sendText({ from: u, text: 'a hooked fox' });
      const task = await h.task((t) => t.prompt === 'a hooked fox', 'job via webhook');
      assert.deepEqual(h.engine.originOf(task.id), {
        kind: 'telegram',
        chatId: u.id,
        userId: u.id,
        lang: 'en',
        replyTo: asked.message_id,
      });
      await h.tg.waitFor(
        () => h.tg.botMessages(u.id).find((m) => m.photo && m.caption === 'a hooked fox'),
        10_000,
        'the grid',
      );
      assert.deepEqual(
        h.tg.webhookDeliveries.map((d) => d.status),
        [200],
      );
      assert.equal(h.tg.callsOf('getUpdates').length, 0, 'no polling in webhook mode');
      const forged = {
        update_id: 999,
        message: { message_id: 1, chat: { id: u.id, type: 'private' }, from: u, text: 'forged' },
      };
      const post = (headers: Record<string, string>, method = 'POST') =>
        fetch(`${base}/tg/hook`, {
          method,
          headers: { 'content-type': 'application/json', ...headers },
          ...(method === 'POST' ? { body: JSON.stringify(forged) } : {}),
        });
      assert.equal((await post({ 'x-telegram-bot-api-secret-token': 'wrong' })).status, 403);
      assert.equal((await post({})).status, 403);
      assert.equal((await post({}, 'GET')).status, 405);
      // The rest of the API is still served beside the hook.
      assert.equal((await fetch(`${base}/health`)).status, 200);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await h.tasks()).length, 1, 'forged updates start nothing');
    } finally {
      await h.close();
    }
  });

  test('admins are told when an account is disabled, once per account', async () => {
    const h = await startHarness({ accounts: 2, telegram: { admins: [7001, '@boss'] } });
    try {
      await h.tg.waitFor(
        () => h.engine.health().accounts.every((a) => a.state === 'ready'),
        5000,
        'both accounts ready',
      );
      h.tg.user(7001);
      const boss = h.tg.user(7002, { username: 'Boss' });
      h.tg.sendText({ from: boss, text: '/help' });
      await h.tg.waitFor(() => h.tg.botMessages(boss.id).length === 1, 3000, 'boss met the bot');
      // Discord refuses the first account's token (gateway close 4004).
      const [first, second] = h.sandbox.accounts;
      assert.ok(first && second);
      h.sandbox.discord.faults.closeWith(4004, first.user_id);
      const alert = (chatId: number, account: string) =>
        h.tg.waitFor(
          () =>
            h.tg
              .botMessages(chatId)
              .find((x) => new RegExp(`account ${account} was disabled: token invalid`).test(x.text ?? '')),
          5000,
          `alert to ${chatId} about ${account}`,
        );
      for (const id of [7001, 7002]) await alert(id, first.channel_id);
      // The other account still works; when it goes too, that is a second alert.
      const u = h.tg.user(7003);
      h.tg.sendText({ from: u, text: 'still drawing' });
      await h.tg.waitFor(
        () => h.tg.botMessages(u.id).find((m) => m.photo && m.caption === 'still drawing'),
        10_000,
        'a result from the other account',
      );
      h.sandbox.discord.faults.closeWith(4004, second.user_id);
      for (const id of [7001, 7002]) await alert(id, second.channel_id);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(h.tg.botMessages(7001).length, 2, 'one alert per account, no duplicate');
      assert.equal(h.tg.botMessages(7002).length, 3, 'the guide and one alert per account');
      assert.equal(h.tg.botMessages(u.id).length, 1, 'only admins are alerted');
    } finally {
      await h.close();
    }
  });

  test('Telegram API calls are counted by method and status, on the service’s /metrics', async () => {
    const h = await startHarness();
    try {
      const u = h.tg.user(8001);
      h.tg.failNext('sendMessage', {
        count: 1,
        code: 429,
        description: 'Too Many Requests: retry after 1',
        retryAfterS: 1,
      });
      h.tg.sendText({ from: u, text: '/help' });
      await h.tg.waitFor(() => h.tg.botMessages(u.id).length === 1, 4000, 'help after a 429');
      // The counter moves when telegraf has read the answer, a moment after the fake stored it.
      const metrics = async () => (await fetch(`${h.svc.app.url}/metrics`)).text();
      let text = '';
      const deadline = Date.now() + 3000;
      while (!/method="sendMessage",status="ok"/.test(text) && Date.now() < deadline) {
        text = await metrics();
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.match(text, /mjb_telegram_api_calls_total\{method="sendMessage",status="429"\} 1/);
      assert.match(text, /mjb_telegram_api_calls_total\{method="sendMessage",status="ok"\} 1/);
      assert.match(text, /mjb_telegram_api_calls_total\{method="getMe",status="ok"\} 1/);
      assert.doesNotMatch(text, new RegExp(h.tg.token.split(':')[1] ?? 'x'));
    } finally {
      await h.close();
    }
  });

  test('30 chats with a running job each: inside the flood limits, every final delivered, edits paced', async () => {
    const h = await startHarness({
      // 10 accounts × 3 slots: every job runs at once.
      accounts: 10,
      speed: 50,
      // One call per 100 ms per chat (Telegram: per second, scaled for a fast test), 30 a second overall.
      flood: { perChat: 1, windowMs: 100, global: 30, globalWindowMs: 1000, retryAfterS: 1 },
      timing: {
        privateEditMs: 300,
        previewEditMs: 600,
        pacing: { privateIntervalMs: 110, globalPerSecond: 25 },
      },
    });
    try {
      const users = Array.from({ length: 30 }, (_, i) => h.tg.user(9000 + i));
      for (const u of users) h.tg.sendText({ from: u, text: `load fox ${u.id}` });
      await h.tg.waitFor(
        () =>
          users.every((u) => h.tg.botMessages(u.id).some((m) => m.photo && m.caption === `load fox ${u.id}`)),
        30_000,
        'every final',
      );
      const tasks = await h.tasks();
      assert.equal(tasks.length, 30);
      assert.ok(tasks.every((t) => t.status === 'FINISHED'));
      const limited = h.tg.calls.filter((c) => c.errorCode === 429);
      assert.equal(limited.length, 0, `429s: ${limited.map((c) => `${c.method}@${c.chatId}`).join(', ')}`);
      for (const u of users) {
        for (const m of h.tg.messages(u.id).filter((x) => x.fromBot)) {
          const times = [m.sentAt, ...m.editTimes];
          for (let i = 1; i < times.length; i++) assert.ok((times[i] ?? 0) - (times[i - 1] ?? 0) >= 300);
        }
      }
    } finally {
      await h.close();
    }
  });
});
