import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram-api.ts';
import { freePort } from '../helpers/free-port.ts';
import { type Service, startService } from '../helpers/service.ts';
import { FAST_TIMING } from './helpers.ts';

/** Telegram being down or the token being wrong must never keep the API from serving. */
describe('Telegram bot start-up', () => {
  const open: { svc?: Service; tg?: FakeTelegram }[] = [];
  after(async () => {
    for (const o of open) {
      await o.svc?.close();
      await o.tg?.close();
    }
  });

  test('Telegram failing at start: the API serves at once, the bot comes up on a later try', async () => {
    const tg = await startFakeTelegram();
    tg.failNext('getMe', { count: 2, code: 502, description: 'Bad Gateway' });
    const svc = await startService({
      speed: 300,
      config: { telegram: { token: tg.token, apiRoot: tg.apiRoot } },
      telegramTiming: FAST_TIMING,
      telegramRetryMs: 50,
    });
    open.push({ svc, tg });
    const health = await svc.call('/health');
    assert.equal(health.status, 200);
    await tg.waitFor(() => tg.callsOf('getMe').filter((c) => c.ok).length === 1, 5000, 'getMe answered');
    assert.equal(tg.callsOf('getMe').filter((c) => !c.ok).length, 2);
    const user = tg.user(8101);
    tg.sendText({ from: user, text: 'a kite over dunes' });
    const grid = await tg.waitFor(
      () =>
        tg.botMessages(user.id).find((m) => m.photo && JSON.stringify(m.reply_markup ?? {}).includes('"U1"')),
      15_000,
      'the grid photo',
    );
    assert.ok(grid.caption?.includes('a kite over dunes'));
  });

  test('a token Telegram refuses: the API serves, the bot is not retried', async () => {
    const tg = await startFakeTelegram();
    const svc = await startService({
      speed: 300,
      config: { telegram: { token: '12345:not-the-right-token', apiRoot: tg.apiRoot } },
      telegramTiming: FAST_TIMING,
      telegramRetryMs: 20,
    });
    open.push({ svc, tg });
    const imagine = await svc.call('/image/imagine', { prompt: 'still works' });
    assert.equal(imagine.body.code, 0);
    await new Promise((r) => setTimeout(r, 300));
    const refused = tg.calls.filter((c) => c.errorCode === 401);
    assert.equal(refused.length, 1, 'one getMe, refused, and no retry');
  });

  test('setWebhook failing once: the start is retried and the webhook bot (its URL ending in /) answers with one status message per job', async () => {
    const tg = await startFakeTelegram();
    tg.failNext('setWebhook', { count: 1, code: 500, description: 'Internal Server Error' });
    const base = `http://127.0.0.1:${await freePort()}`;
    const svc = await startService({
      speed: 300,
      config: {
        listen: base,
        telegram: {
          token: tg.token,
          apiRoot: tg.apiRoot,
          webhook: { url: `${base}/tg/hook/`, secret: 's3cret' },
        },
      },
      telegramTiming: FAST_TIMING,
      telegramRetryMs: 50,
    });
    open.push({ svc, tg });
    await tg.waitFor(() => tg.callsOf('setWebhook').some((c) => c.ok), 5000, 'setWebhook accepted');
    const user = tg.user(8102);
    tg.sendText({ from: user, text: 'a heron at dawn' });
    await tg.waitFor(
      () =>
        tg.botMessages(user.id).find((m) => m.photo && JSON.stringify(m.reply_markup ?? {}).includes('"U1"')),
      15_000,
      'the grid photo',
    );
    const statusMessages = tg.callsOf('sendMessage', user.id).filter((c) => c.ok);
    assert.equal(statusMessages.length, 1, 'one status message, not one per start attempt');
    const grids = tg.callsOf('sendPhoto', user.id).filter((c) => /U1/.test(JSON.stringify(c.params)));
    assert.equal(grids.length, 1, 'one grid');
  });

  test('a webhook update that arrives before the bot has started (a restart: the webhook is still set) waits and is handled', async () => {
    const tg = await startFakeTelegram();
    const base = `http://127.0.0.1:${await freePort()}`;
    const hook = `${base}/tg/hook`;
    // The webhook a previous run left: Telegram delivers as soon as this process listens.
    await fetch(`${tg.apiRoot}/bot${tg.token}/setWebhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: hook, secret_token: 's3cret' }),
    });
    // The bot's own start comes late: Telegram fails its first getMe calls.
    tg.failNext('getMe', { count: 4, code: 502, description: 'Bad Gateway' });
    const svc = await startService({
      speed: 300,
      config: {
        listen: base,
        telegram: { token: tg.token, apiRoot: tg.apiRoot, webhook: { url: hook, secret: 's3cret' } },
      },
      telegramTiming: FAST_TIMING,
      telegramRetryMs: 150,
    });
    open.push({ svc, tg });
    const user = tg.user(8103);
    tg.sendText({ from: user, text: 'an early swallow' });
    await tg.waitFor(() => tg.webhookDeliveries.length === 1, 15_000, 'the delivery answered');
    assert.ok(
      tg.callsOf('getMe').some((c) => !c.ok),
      'the update came while the bot was still starting',
    );
    assert.deepEqual(
      tg.webhookDeliveries.map((d) => d.status),
      [200],
      'answered 200 once the bot was up, not dropped',
    );
    await tg.waitFor(
      () => tg.botMessages(user.id).find((m) => m.photo && m.caption?.includes('an early swallow')),
      15_000,
      'the grid photo',
    );
    assert.equal(tg.callsOf('sendMessage', user.id).filter((c) => c.ok).length, 1, 'one status message');
  });

  test('a Telegram that never answers does not hold up start-up or shutdown', async () => {
    // Accepts connections and says nothing, like a black-holed proxy.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const began = Date.now();
      const svc = await startService({
        speed: 300,
        config: { telegram: { token: '12345:abc', apiRoot: `http://127.0.0.1:${port}` } },
        telegramTiming: FAST_TIMING,
        telegramStartWaitMs: 200,
      });
      assert.ok(Date.now() - began < 5000, 'start-up did not wait for Telegram');
      assert.equal((await svc.call('/health')).status, 200);
      const closing = Date.now();
      await svc.close();
      assert.ok(Date.now() - closing < 5000, 'shutdown did not wait for Telegram');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
