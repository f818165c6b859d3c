import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FakeMessage } from '../fakes/telegram-api.ts';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram-api.ts';
import { type Service, startService } from '../helpers/service.ts';
import { buttonData, FAST_TIMING, keyboardOf } from './helpers.ts';

/**
 * The whole service as `src/app.ts` wires it — engine, store, HTTP API, and the Telegram front it
 * starts because a bot token is configured — on the simulated Midjourney over loopback Discord and
 * the fake Bot API: a user's journey end to end, and both fronts seeing the same tasks.
 */
describe('Telegram end to end: the service the app wires', () => {
  let tg: FakeTelegram;
  let svc: Service;
  before(async () => {
    tg = await startFakeTelegram();
    svc = await startService({
      speed: 100,
      config: { telegram: { token: tg.token, apiRoot: tg.apiRoot, maxJobsPerUser: 5 } },
      telegramTiming: FAST_TIMING,
    });
  });
  after(async () => {
    await svc.close();
    await tg.close();
  });

  /** A result image (status previews carry the Cancel button; results never do). */
  const isResult = (m: FakeMessage) =>
    (m.photo !== undefined || m.document !== undefined) &&
    !keyboardOf(m)
      .flat()
      .some(([t]) => t === '✖ Cancel');
  const result = (chatId: number, pred: (m: FakeMessage) => boolean, what: string) =>
    tg.waitFor(() => tg.botMessages(chatId).find((m) => isResult(m) && pred(m)), 15_000, what);

  test('a prompt in a chat: progress, the grid with Midjourney’s buttons, U1’s upscale; the HTTP API sees the same tasks', async () => {
    assert.ok(svc.app.telegram, 'the app started the Telegram front');
    const user = tg.user(7001);
    const asked = tg.sendText({ from: user, text: 'a lighthouse in fog' });
    const grid = await result(user.id, (m) => m.caption === 'a lighthouse in fog', 'the grid');
    assert.deepEqual(
      keyboardOf(grid).map((r) => r.map(([t]) => t)),
      [
        ['U1', 'U2', 'U3', 'U4', '🔄'],
        ['V1', 'V2', 'V3', 'V4'],
      ],
    );
    // The status message showed the job's state (which states it went through depends on the
    // chat's edit pace against the job's speed), then made way for the result.
    const states = tg
      .callsOf('sendMessage', user.id)
      .concat(
        tg.callsOf('editMessageText', user.id),
        tg.callsOf('sendPhoto', user.id),
        tg.callsOf('editMessageCaption', user.id),
      )
      .map((c) => String(c.params.text ?? c.params.caption ?? ''));
    assert.ok(
      states.some((s) =>
        /^🎨 Imagine: a lighthouse in fog\n(⏳ Queued|🚀 Starting|📨 Submitted|🖌 Generating)/.test(s),
      ),
      states.join(' | '),
    );
    await tg.waitFor(() => tg.botMessages(user.id).length === 1, 15_000, 'status message removed');

    // The task is the engine's: the HTTP API serves it, finished, with the Telegram origin.
    const [task] = (await svc.app.engine.list({ limit: 10 })).filter(
      (t) => t.prompt === 'a lighthouse in fog',
    );
    assert.ok(task);
    const fetched = await svc.fetchTask(task.id);
    assert.equal(fetched.status, 'FINISHED');
    assert.equal(fetched.messageHash, task.messageHash);
    assert.deepEqual(svc.app.engine.originOf(task.id), {
      kind: 'telegram',
      chatId: user.id,
      userId: user.id,
      lang: 'en',
      replyTo: asked.message_id,
    });

    tg.press({ from: user, messageId: grid.message_id, data: buttonData(grid, 'U1') });
    const up = await result(
      user.id,
      (m) => m.photo !== undefined && /^Upscale #1\n/.test(m.caption ?? ''),
      'upscale',
    );
    assert.ok(
      keyboardOf(up)
        .flat()
        .some(([t]) => /Vary \(Strong\)/.test(t)),
    );
    await result(user.id, (m) => m.document !== undefined, 'the full-size document');
    const upscale = (await svc.app.engine.list({ limit: 10 })).find((t) => t.action === 'UPSCALE');
    assert.ok(upscale);
    const upscaleOverHttp = await svc.fetchTask(upscale.id);
    assert.equal(upscaleOverHttp.status, 'FINISHED');
    assert.equal(upscaleOverHttp.params.parentId, task.id);
  });

  test('a job started over the HTTP API runs on the same engine and shows nothing in Telegram', async () => {
    const shown = () => tg.calls.filter((c) => /^(send|edit)/.test(c.method)).length;
    const before = shown();
    const id = await svc.submit('/image/imagine', { prompt: 'an API-only painting' });
    const done = await svc.waitTask(id);
    assert.equal(done.status, 'FINISHED', done.failReason ?? '');
    assert.notEqual(svc.app.engine.originOf(id)?.kind, 'telegram');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(shown(), before);
  });
});

describe('Telegram end to end: the app’s lifecycle', () => {
  test('the app registers the bot and polls; closing the app stops polling and answering', async () => {
    const tg = await startFakeTelegram();
    const svc = await startService({
      speed: 200,
      config: { telegram: { token: tg.token, apiRoot: tg.apiRoot } },
      telegramTiming: FAST_TIMING,
    });
    try {
      // Once without a language and once per catalogue language.
      assert.equal(tg.callsOf('setMyCommands').length, 5);
      await tg.waitFor(() => tg.callsOf('getUpdates').length > 0, 3000, 'polling');
      const u = tg.user(7101);
      tg.sendText({ from: u, text: '/help' });
      await tg.waitFor(() => tg.botMessages(u.id).length === 1, 3000, 'the guide');
      await svc.app.close();
      const polls = tg.callsOf('getUpdates').length;
      tg.sendText({ from: u, text: '/help' });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(tg.callsOf('getUpdates').length, polls, 'no polling after close');
      assert.equal(tg.botMessages(u.id).length, 1, 'nobody answers');
    } finally {
      await svc.sandbox.close();
      await tg.close();
    }
  });

  test('an app closed the moment it has started still stops its bot', async () => {
    const tg = await startFakeTelegram();
    const svc = await startService({
      speed: 200,
      config: { telegram: { token: tg.token, apiRoot: tg.apiRoot } },
      telegramTiming: FAST_TIMING,
    });
    try {
      // The bot's polling is still being set up (deleteWebhook in flight) when close() comes.
      let timer: NodeJS.Timeout | undefined;
      const closed = await Promise.race([
        svc.app.close().then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), 5000);
        }),
      ]);
      clearTimeout(timer);
      assert.ok(closed, 'close() returned');
      const polls = tg.callsOf('getUpdates').length;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(tg.callsOf('getUpdates').length, polls, 'no polling left behind');
    } finally {
      await svc.sandbox.close();
      await tg.close();
    }
  });
});
