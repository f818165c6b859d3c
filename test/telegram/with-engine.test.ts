import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram-api.ts';
import { type Service, startService } from '../helpers/service.ts';
import { FAST_TIMING } from './helpers.ts';

/** The whole service — real engine, real sandbox Midjourney, real telegraf — driven from a chat. */
describe('Telegram with the real engine and the simulated Midjourney', () => {
  let tg: FakeTelegram;
  let svc: Service;
  before(async () => {
    tg = await startFakeTelegram();
    svc = await startService({
      speed: 300,
      config: { telegram: { token: tg.token, apiRoot: tg.apiRoot } },
      telegramTiming: FAST_TIMING,
    });
  });
  after(async () => {
    await svc.close();
    await tg.close();
  });

  test('a prompt in a private chat ends as a photo with U/V buttons; U1 brings the upscale', async () => {
    const user = tg.user(7001);
    tg.sendText({ from: user, text: 'a lighthouse in fog' });
    const grid = await tg.waitFor(
      () =>
        tg.botMessages(user.id).find((m) => m.photo && JSON.stringify(m.reply_markup ?? {}).includes('U1')),
      15_000,
      'the grid photo with its keyboard',
    );
    assert.ok(grid.caption?.includes('a lighthouse in fog'));
    const tasks = await svc.app.engine.list({ limit: 5 });
    const task = tasks.find((t) => t.prompt === 'a lighthouse in fog');
    assert.equal(task?.status, 'FINISHED');
    assert.deepEqual(svc.app.engine.originOf(task?.id ?? ''), {
      kind: 'telegram',
      chatId: user.id,
      userId: user.id,
    });
    const rows = (grid.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] })
      .inline_keyboard;
    const u1 = rows.flat().find((b) => b.text === 'U1');
    assert.ok(u1 && Buffer.byteLength(u1.callback_data) <= 64);
    tg.press({ from: user, messageId: grid.message_id, data: u1.callback_data });
    const up = await tg.waitFor(
      () =>
        tg
          .botMessages(user.id)
          .find(
            (m) =>
              m.message_id !== grid.message_id &&
              m.photo &&
              /Vary|Zoom/.test(JSON.stringify(m.reply_markup ?? {})),
          ),
      15_000,
      'the upscale photo',
    );
    assert.ok(up);
    const upscale = (await svc.app.engine.list({ limit: 5 })).find((t) => t.action === 'UPSCALE');
    assert.equal(upscale?.status, 'FINISHED');
    assert.equal(upscale?.params.parentId, task?.id);
  });
});
