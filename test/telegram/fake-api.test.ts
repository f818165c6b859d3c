import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Telegraf, Telegram, TelegramError } from 'telegraf';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram-api.ts';
import { png } from './helpers.ts';

/** The fake Bot API server, driven by telegraf's own client: what a bot would see from Telegram. */
describe('fake Telegram Bot API server', () => {
  let tg: FakeTelegram;
  let api: Telegram;

  before(async () => {
    tg = await startFakeTelegram();
    tg.user(100, { username: 'alice' });
    api = new Telegram(tg.token, { apiRoot: tg.apiRoot });
  });
  after(async () => {
    await tg.close();
  });

  async function failure(p: Promise<unknown>): Promise<TelegramError> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof TelegramError, String(err));
      return err;
    }
    assert.fail('the call should have failed');
  }

  test('getMe answers the bot; a wrong token gets 401 Unauthorized', async () => {
    const me = await api.getMe();
    assert.equal(me.id, tg.botUser.id);
    assert.equal(me.username, 'mj_bridge_bot');
    const bad = new Telegram('1:wrong', { apiRoot: tg.apiRoot });
    const err = await failure(bad.getMe());
    assert.equal(err.code, 401);
    assert.equal(err.description, 'Unauthorized');
  });

  test('messages are kept with their text and keyboard; identical edits are "not modified"', async () => {
    const kb = { inline_keyboard: [[{ text: 'U1', callback_data: 'k1' }]] };
    const msg = await api.sendMessage(100, 'Queued', { reply_markup: kb });
    assert.equal(tg.message(100, msg.message_id)?.text, 'Queued');
    await api.editMessageText(100, msg.message_id, undefined, 'Submitted', { reply_markup: kb });
    assert.equal(tg.message(100, msg.message_id)?.text, 'Submitted');
    const err = await failure(
      api.editMessageText(100, msg.message_id, undefined, 'Submitted', { reply_markup: kb }),
    );
    assert.equal(err.code, 400);
    assert.match(err.description, /^Bad Request: message is not modified: specified new message content/);
    const gone = await failure(api.editMessageText(100, 9999, undefined, 'x'));
    assert.equal(gone.description, 'Bad Request: message to edit not found');
  });

  test('Telegram limits: 64-byte callback_data, 4096-char text, 1024-char caption, unknown chat', async () => {
    const long = 'x'.repeat(65);
    const e1 = await failure(
      api.sendMessage(100, 'hi', {
        reply_markup: { inline_keyboard: [[{ text: 'a', callback_data: long }]] },
      }),
    );
    assert.equal(e1.description, 'Bad Request: BUTTON_DATA_INVALID');
    const e2 = await failure(api.sendMessage(100, 'y'.repeat(4097)));
    assert.equal(e2.description, 'Bad Request: message is too long');
    const e3 = await failure(
      api.sendPhoto(100, { source: png('c'), filename: 'c.png' }, { caption: 'z'.repeat(1025) }),
    );
    assert.equal(e3.description, 'Bad Request: message caption is too long');
    const e4 = await failure(api.sendMessage(424242, 'hi'));
    assert.equal(e4.description, 'Bad Request: chat not found');
  });

  test('multipart photo upload, getFile and the file download return the same bytes', async () => {
    const bytes = png('upload', 40, 30);
    const msg = await api.sendPhoto(100, { source: bytes, filename: 'grid.png' }, { caption: 'a fox' });
    const stored = tg.message(100, msg.message_id);
    assert.equal(stored?.caption, 'a fox');
    assert.equal(stored?.photo?.width, 40);
    const call = tg.callsOf('sendPhoto').at(-1);
    assert.deepEqual(call?.params.photo, { file: 'grid.png', size: bytes.length });
    const biggest = msg.photo.at(-1);
    assert.ok(biggest);
    const link = await api.getFileLink(biggest.file_id);
    const res = await fetch(link);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    const wrong = await fetch(link.toString().replace(tg.token, '1:nope'));
    assert.equal(wrong.status, 404);
  });

  test('editMessageMedia swaps the photo through an attach:// upload; photos can be refused', async () => {
    const msg = await api.sendPhoto(100, { source: png('one'), filename: 'one.png' }, { caption: '40%' });
    const before = tg.message(100, msg.message_id)?.photo?.file_id;
    await api.editMessageMedia(100, msg.message_id, undefined, {
      type: 'photo',
      media: { source: png('two'), filename: 'two.png' },
      caption: '80%',
    });
    const after = tg.message(100, msg.message_id);
    assert.notEqual(after?.photo?.file_id, before);
    assert.equal(after?.caption, '80%');
    assert.equal(after?.editTimes.length, 1);
    tg.refusePhotos = 'too-big';
    const err = await failure(api.sendPhoto(100, { source: png('three'), filename: 'three.png' }));
    assert.equal(err.description, 'Bad Request: file is too big');
    const doc = await api.sendDocument(100, { source: png('three'), filename: 'three.png' });
    assert.equal(tg.message(100, doc.message_id)?.document?.file_name, 'three.png');
    tg.refusePhotos = false;
  });

  test('flood control answers 429 with retry_after, then lets calls through after the pause', async () => {
    const fake = await startFakeTelegram({ flood: { perChat: 3, windowMs: 1000, retryAfterS: 1 } });
    try {
      fake.user(200);
      fake.user(201);
      const client = new Telegram(fake.token, { apiRoot: fake.apiRoot });
      for (let i = 0; i < 3; i++) await client.sendMessage(200, `m${i}`);
      const err = await failure(client.sendMessage(200, 'too many'));
      assert.equal(err.code, 429);
      assert.equal(err.description, 'Too Many Requests: retry after 1');
      assert.equal(err.parameters?.retry_after, 1);
      // Other chats are not affected by one chat's flood.
      await client.sendMessage(201, 'still fine');
      await new Promise((r) => setTimeout(r, 1050));
      await client.sendMessage(200, 'after the pause');
      assert.equal(fake.botMessages(200).at(-1)?.text, 'after the pause');
    } finally {
      await fake.close();
    }
  });

  test('failNext injects an error; blocked chats answer 403', async () => {
    tg.user(300);
    tg.failNext('sendMessage', { count: 1, code: 502, description: 'Bad Gateway' });
    const e = await failure(api.sendMessage(300, 'x'));
    assert.equal(e.code, 502);
    await api.sendMessage(300, 'ok now');
    tg.block(300);
    const blocked = await failure(api.sendMessage(300, 'x'));
    assert.equal(blocked.code, 403);
    assert.equal(blocked.description, 'Forbidden: bot was blocked by the user');
  });

  test('answerCallbackQuery works once per query', async () => {
    const msg = await api.sendMessage(100, 'buttons', {
      reply_markup: { inline_keyboard: [[{ text: 'A', callback_data: 'a' }]] },
    });
    const q = tg.press({
      from: { id: 100, is_bot: false, first_name: 'A' },
      messageId: msg.message_id,
      data: 'a',
    });
    await api.answerCbQuery(q, 'Working on it…');
    assert.equal(tg.answers.get(q)?.text, 'Working on it…');
    const again = await failure(api.answerCbQuery(q, 'again'));
    assert.match(again.description, /query is too old/);
  });

  test('telegraf long polling receives injected text, photo, album and callback updates in order', async () => {
    const fake = await startFakeTelegram();
    const alice = fake.user(7, { username: 'al' });
    const bot = new Telegraf(fake.token, { telegram: { apiRoot: fake.apiRoot } });
    const seen: string[] = [];
    bot.on('message', (ctx) => {
      const m = ctx.message as {
        text?: string;
        caption?: string;
        media_group_id?: string;
        photo?: unknown[];
      };
      seen.push(m.text ?? `${m.photo ? 'photo' : '?'}:${m.caption ?? ''}:${m.media_group_id ? 'album' : ''}`);
    });
    bot.on('callback_query', (ctx) => {
      seen.push(`cb:${(ctx.callbackQuery as { data?: string }).data}`);
    });
    const launched = bot.launch();
    try {
      fake.sendText({ from: alice, text: 'hello' });
      fake.sendPhoto({ from: alice, bytes: png('p'), caption: 'a cat' });
      fake.sendAlbum({ from: alice, images: [png('a'), png('b')], caption: '/blend' });
      const own = await bot.telegram.sendMessage(7, 'pick', {
        reply_markup: { inline_keyboard: [[{ text: 'x', callback_data: 'x1' }]] },
      });
      fake.press({ from: alice, messageId: own.message_id, data: 'x1' });
      await fake.waitFor(() => seen.length >= 5, 5000, 'updates');
      assert.deepEqual(seen, ['hello', 'photo:a cat:', 'photo:/blend:album', 'photo::album', 'cb:x1']);
      const polls = fake.callsOf('getUpdates');
      assert.ok(
        polls.some((c) => c.params.timeout === 50),
        'telegraf long-polls',
      );
    } finally {
      bot.stop('test');
      await launched;
      await fake.close();
    }
  });

  test('webhook: updates are POSTed with the secret token header; getUpdates is refused meanwhile', async () => {
    const fake = await startFakeTelegram();
    const bob = fake.user(8);
    const got: { secret: string | undefined; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        got.push({ secret: req.headers['x-telegram-bot-api-secret-token'] as string | undefined, body });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const client = new Telegram(fake.token, { apiRoot: fake.apiRoot });
      await client.setWebhook(`http://127.0.0.1:${port}/tg/hook`, { secret_token: 's3cret' });
      fake.sendText({ from: bob, text: 'via hook' });
      await fake.waitFor(() => got.length === 1, 3000, 'webhook delivery');
      assert.equal(got[0]?.secret, 's3cret');
      assert.equal(
        (JSON.parse(got[0]?.body ?? '{}') as { message: { text: string } }).message.text,
        'via hook',
      );
      const err = await failure(client.getUpdates(0, 100, 0, undefined));
      assert.equal(err.code, 409);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await fake.close();
    }
  });
});
