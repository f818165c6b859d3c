import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/config.ts';
import type { Task } from '../../src/engine/task.ts';
import { silentLogger } from '../../src/log.ts';
import { createTelegramFront, type TelegramFront } from '../../src/telegram/bot.ts';
import type { FakeMessage, FakeUser } from '../fakes/telegram-api.ts';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram-api.ts';
import { type Service, startService } from '../helpers/service.ts';
import { buttonData, FAST_TIMING, keyboardOf, png } from './helpers.ts';

/**
 * The real service (engine + simulated Midjourney over loopback Discord) with the Telegram front
 * on the fake Bot API: what a Telegram user sees, end to end.
 */
describe('Telegram front on the real engine and the sandbox', () => {
  let svc: Service;
  let tg: FakeTelegram;
  let front: TelegramFront;
  let nextUser = 20_000;
  const newUser = () => tg.user(nextUser++);

  const startFront = () => {
    const config = parseConfig({
      telegram: { token: tg.token, apiRoot: tg.apiRoot, maxJobsPerUser: 5 },
    }).telegram;
    return createTelegramFront({
      engine: svc.app.engine,
      config,
      kv: svc.app.store.space<unknown>('telegram'),
      logger: silentLogger(),
      registry: svc.app.metrics.registry,
      timing: FAST_TIMING,
    });
  };

  before(async () => {
    svc = await startService({ speed: 60 });
    tg = await startFakeTelegram();
    front = startFront();
    await front.start();
  });
  after(async () => {
    await front.stop();
    await tg.close();
    await svc.close();
  });

  /** A result image (status previews carry the Cancel button; results never do). */
  const isResult = (m: FakeMessage) =>
    (m.photo !== undefined || m.document !== undefined) &&
    !keyboardOf(m)
      .flat()
      .some(([t]) => t === '✖ Cancel');
  const photoWith = (chatId: number, pred: (m: FakeMessage) => boolean, what: string, timeoutMs = 15_000) =>
    tg.waitFor(() => tg.botMessages(chatId).find((m) => isResult(m) && pred(m)), timeoutMs, what);
  const textWith = (chatId: number, re: RegExp, timeoutMs = 15_000) =>
    tg.waitFor(
      () => tg.botMessages(chatId).find((m) => re.test(m.text ?? m.caption ?? '')),
      timeoutMs,
      `text ${re}`,
    );
  const engineTask = async (pred: (t: Task) => boolean, what: string): Promise<Task> => {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const found = (await svc.app.engine.list({ limit: 100 })).find(pred);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no task: ${what}`);
  };

  async function press(from: FakeUser, msg: FakeMessage, label: string): Promise<void> {
    const q = tg.press({ from, messageId: msg.message_id, data: buttonData(msg, label) });
    await tg.waitFor(() => tg.answers.get(q), 3000, `answer ${label}`);
  }

  test('a prompt in a private chat: status with progress, then the grid with Midjourney’s buttons', async () => {
    const u = newUser();
    tg.sendText({ from: u, text: 'a red fox in snow' });
    const grid = await photoWith(
      u.id,
      (m) => m.caption === 'a red fox in snow' && keyboardOf(m).length === 2,
      'grid',
    );
    assert.deepEqual(
      keyboardOf(grid).map((r) => r.map(([t]) => t)),
      [
        ['U1', 'U2', 'U3', 'U4', '🔄'],
        ['V1', 'V2', 'V3', 'V4'],
      ],
    );
    const status = tg
      .messages(u.id)
      .find((m) => m.fromBot && /a red fox in snow\n/.test(m.text ?? m.caption ?? ''));
    assert.ok(status, 'a status message was shown');
    const shownStates = tg
      .callsOf('editMessageText', u.id)
      .concat(
        tg.callsOf('sendMessage', u.id),
        tg.callsOf('editMessageCaption', u.id),
        tg.callsOf('sendPhoto', u.id),
      )
      .map((c) => String(c.params.text ?? c.params.caption ?? ''));
    assert.ok(shownStates.some((s) => /Queued|Starting|Submitted|Generating/.test(s)));
    // The task is the engine's: the HTTP API sees it finished, with the same prompt.
    const task = await engineTask((t) => t.prompt === 'a red fox in snow', 'imagine');
    assert.equal((await svc.fetchTask(task.id)).status, 'FINISHED');
    await tg.waitFor(() => tg.botMessages(u.id).length === 1, 3000, 'status message removed');
  });

  test('U1 gives the upscale (photo + buttons + document); its buttons and Custom Zoom work', async () => {
    const u = newUser();
    tg.sendText({ from: u, text: 'castle on a hill' });
    const grid = await photoWith(u.id, (m) => m.caption === 'castle on a hill', 'grid');
    await press(u, grid, 'U1');
    const up = await photoWith(
      u.id,
      (m) => m.photo !== undefined && /Upscale #1/.test(m.caption ?? ''),
      'upscale photo',
    );
    await tg.waitFor(() => tg.botMessages(u.id).find((m) => m.document), 15_000, 'full-size document');
    const labels = keyboardOf(up)
      .flat()
      .map(([t]) => t);
    assert.ok(
      labels.some((l) => /Vary \(Strong\)/.test(l)),
      labels.join(),
    );
    assert.ok(!labels.some((l) => /Vary \(Region\)/.test(l)));
    await press(u, up, 'Vary (Strong)');
    await photoWith(
      u.id,
      (m) => /Vary \(Strong\)/.test(m.caption ?? '') && keyboardOf(m).length > 0,
      'strong variation',
    );
    await press(u, up, 'Zoom Out 2x');
    await photoWith(u.id, (m) => /Zoom Out/.test(m.caption ?? ''), 'zoom out');
    await press(u, up, 'Custom Zoom');
    const ask = await textWith(u.id, /Custom Zoom: reply with a zoom/);
    tg.sendText({ from: u, text: '1.5 a castle at dusk', replyTo: ask.message_id });
    await photoWith(u.id, (m) => /Custom Zoom/.test(m.caption ?? ''), 'custom zoom result');
    const zoom = await engineTask((t) => t.action === 'ZOOMOUT_CUSTOM', 'custom zoom');
    assert.equal(zoom.status, 'FINISHED', zoom.failReason ?? '');
    assert.match(zoom.prompt, /--zoom 1\.5/);
  });

  test('a photo with a caption, /describe with a pick, and an album /blend all finish', async () => {
    const u = newUser();
    tg.sendPhoto({ from: u, bytes: png('source', 48, 48), caption: 'like this but blue' });
    await photoWith(u.id, (m) => m.caption === 'like this but blue', 'image prompt result');
    const withImage = await engineTask((t) => t.prompt.endsWith('like this but blue'), 'image prompt');
    assert.equal(withImage.images.length, 1);
    assert.match(withImage.images[0] ?? '', /^data:image\/png;\d+ bytes$/);

    tg.sendPhoto({ from: u, bytes: png('to describe', 48, 48), caption: '/describe' });
    const described = await textWith(u.id, /Prompts for your image/);
    assert.equal(keyboardOf(described)[0]?.length, 4);
    await press(u, described, '1️⃣');
    const pick = await engineTask((t) => t.action === 'PIC_READER', 'pic reader');
    assert.ok(pick.prompt.length > 0);

    tg.sendAlbum({ from: u, images: [png('left', 48, 48), png('right', 48, 48)], caption: '/blend square' });
    await photoWith(u.id, (m) => /^Blend/.test(m.caption ?? ''), 'blend result');
    const blend = await engineTask((t) => t.action === 'BLEND', 'blend');
    assert.equal(blend.status, 'FINISHED', blend.failReason ?? '');
    assert.equal(blend.params.dimensions, 'SQUARE');
  });

  test('Midjourney’s refusal and a banned word end in friendly messages; /cancel cancels', async () => {
    const u = newUser();
    tg.sendText({ from: u, text: 'a harbour --fail Banned prompt detected' });
    await textWith(u.id, /Midjourney refused the prompt: Banned prompt detected/);
    tg.sendText({ from: u, text: 'a nude statue' });
    await textWith(u.id, /banned word “nude”/);
    tg.sendText({ from: u, text: 'a slow sunrise' });
    await textWith(u.id, /a slow sunrise\n/);
    tg.sendText({ from: u, text: '/cancel' });
    await textWith(u.id, /a slow sunrise\n❌ Cancelled\./);
    const task = await engineTask((t) => t.prompt === 'a slow sunrise', 'cancelled');
    assert.equal(task.failReason, 'cancelled');
  });

  test('after a restart of the front, old buttons still work', async () => {
    const u = newUser();
    tg.sendText({ from: u, text: 'before the restart' });
    const grid = await photoWith(u.id, (m) => m.caption === 'before the restart', 'grid');
    await front.stop();
    front = startFront();
    await front.start();
    await press(u, grid, 'V2');
    await photoWith(u.id, (m) => /Variations #2/.test(m.caption ?? ''), 'variation after restart');
  });
});
