import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { type Harness, startHarness } from './helpers.ts';

/** Webhook mode, metrics, admin alerts and behaviour under load (SPEC §7.5, §7.7, §7.8, §9). */
describe('Telegram front: running as a service', () => {
  test('webhook mode: setWebhook with a secret at start, updates arrive on the mounted path, wrong secrets are refused', async () => {
    let h: Harness | undefined;
    const server: Server = createServer((req, res) => {
      const hook = h?.front.webhook;
      if (!hook) {
        res.writeHead(503).end();
        return;
      }
      void hook.handle(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      h = await startHarness({
        telegram: { webhook: { url: `http://127.0.0.1:${port}/tg/hook`, secret: 'hook_secret_1' } },
      });
      assert.equal(h.front.webhook?.path, '/tg/hook');
      assert.deepEqual(h.tg.webhook, { url: `http://127.0.0.1:${port}/tg/hook`, secret: 'hook_secret_1' });
      const u = h.tg.user(6001);
      h.tg.sendText({ from: u, text: 'a hooked fox' });
      await h.tg.waitFor(() => h?.engine.created.length === 1, 3000, 'job via webhook');
      await h.tg.waitFor(
        () => h?.tg.botMessages(u.id).some((m) => /Queued/.test(m.text ?? '')),
        3000,
        'status',
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
        fetch(`http://127.0.0.1:${port}/tg/hook`, {
          method,
          headers: { 'content-type': 'application/json', ...headers },
          ...(method === 'POST' ? { body: JSON.stringify(forged) } : {}),
        });
      assert.equal((await post({ 'x-telegram-bot-api-secret-token': 'wrong' })).status, 403);
      assert.equal((await post({})).status, 403);
      assert.equal((await post({}, 'GET')).status, 405);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(h.engine.created.length, 1, 'forged updates start nothing');
    } finally {
      await h?.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('admins are told when an account is disabled (once per reason)', async () => {
    const h = await startHarness({ telegram: { admins: [7001, '@boss'] } });
    try {
      h.tg.user(7001);
      const boss = h.tg.user(7002, { username: 'Boss' });
      h.tg.sendText({ from: boss, text: '/help' });
      await h.tg.waitFor(() => h.tg.botMessages(boss.id).length === 1, 3000, 'boss met the bot');
      h.engine.account('1234567890', 'disabled', 'Blocked');
      h.engine.account('1234567890', 'disabled', 'Blocked');
      for (const id of [7001, 7002]) {
        const m = await h.tg.waitFor(
          () =>
            h.tg.botMessages(id).find((x) => /account 1234567890 was disabled: Blocked/.test(x.text ?? '')),
          3000,
          `alert to ${id}`,
        );
        assert.ok(m);
      }
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(h.tg.botMessages(7001).length, 1, 'no duplicate alert');
    } finally {
      await h.close();
    }
  });

  test('Telegram API calls are counted by method and status', async () => {
    const registry = new Registry();
    const h = await startHarness({ registry });
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
      let text = '';
      const deadline = Date.now() + 3000;
      while (!/method="sendMessage",status="ok"/.test(text) && Date.now() < deadline) {
        text = await registry.metrics();
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
      stepMs: 40,
      concurrency: 30,
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
