import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Telegram } from 'telegraf';
import { EngineError } from '../../src/engine/errors.ts';
import { TaskStore } from '../../src/engine/store.ts';
import { blankTask, type Task, type TaskButton } from '../../src/engine/task.ts';
import { silentLogger } from '../../src/log.ts';
import { resultButtons as midjourneyButtons } from '../../src/midjourney/message.ts';
import { gridRows, singleRows } from '../../src/sandbox/midjourney/messages.ts';
import { CallbackKeys, newKey, OWN } from '../../src/telegram/callback-keys.ts';
import { parseZoomReply } from '../../src/telegram/handlers/zoom.ts';
import { tr } from '../../src/telegram/i18n/index.ts';
import { inlineKeyboard, resultButtons } from '../../src/telegram/keyboard.ts';
import { statusView } from '../../src/telegram/progress.ts';
import { Sender, SupersededError } from '../../src/telegram/sender.ts';
import {
  cut,
  friendlyError,
  friendlyFailReason,
  normalisePrompt,
  progressBar,
  resultCaption,
} from '../../src/telegram/texts.ts';
import { parseCommand } from '../../src/telegram/updates.ts';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram-api.ts';

const en = tr('en');

const HASH = 'a7cb1552-f779-4094-9afe-2acf22dae280';

/** A task's buttons as the engine reads them off the sandbox Midjourney's result messages. */
const gridButtons = (hash: string) => midjourneyButtons({ components: gridRows(hash) }) as TaskButton[][];
const upscaleButtons = (hash: string) =>
  midjourneyButtons({ components: singleRows(hash) }) as TaskButton[][];

function task(over: Partial<Task>): Task {
  return {
    ...blankTask('1732000000000000001', 'IMAGINE'),
    status: 'FINISHED',
    submitTime: 1,
    startTime: 1,
    finishTime: 1,
    progress: '100%',
    prompt: 'a red fox',
    messageHash: HASH,
    messageId: '1',
    ...over,
  };
}

describe('keyboards', () => {
  test('a grid keeps Midjourney rows: U1–U4 + 🔄, then V1–V4', () => {
    const rows = resultButtons(task({ buttons: gridButtons(HASH) }));
    assert.deepEqual(
      rows.map((r) => r.map((b) => b.text)),
      [
        ['U1', 'U2', 'U3', 'U4', '🔄'],
        ['V1', 'V2', 'V3', 'V4'],
      ],
    );
    assert.equal(rows[0]?.[0]?.customId, `MJ::JOB::upsample::1::${HASH}`);
  });

  test('an upscale shows its buttons without Vary (Region) and the bookmark', () => {
    const rows = resultButtons(task({ action: 'UPSCALE', buttons: upscaleButtons(HASH) }));
    const labels = rows.map((r) => r.map((b) => b.text));
    assert.deepEqual(labels, [
      ['Upscale (Subtle)', 'Upscale (Creative)'],
      ['🪄 Vary (Strong)', '🪄 Vary (Subtle)', '🎞️ Animate (High motion)', '🎞️ Animate (Low motion)'],
      ['🔍 Zoom Out 2x', '🔍 Zoom Out 1.5x', '🔍 Custom Zoom', '↔️ Make Square'],
      ['⬅️', '➡️', '⬆️', '⬇️'],
    ]);
    assert.ok(!rows.flat().some((b) => b.customId.startsWith('MJ::Inpaint')));
  });

  test('a describe result gets 1–4: PicReader buttons when present, the own imagine otherwise', () => {
    const prompts = ['p1', 'p2', 'p3', 'p4'];
    const withPr = resultButtons(
      task({
        action: 'DESCRIBE',
        prompts,
        buttons: [[1, 2, 3, 4].map((i) => ({ type: 2, custom_id: `MJ::Job::PicReader::${i}` }))],
      }),
    );
    assert.deepEqual(
      withPr[0]?.map((b) => [b.text, b.customId]),
      [1, 2, 3, 4].map((i) => [`${i}️⃣`, `MJ::Job::PicReader::${i}`]),
    );
    const own = resultButtons(task({ action: 'DESCRIBE', prompts, buttons: [] }));
    assert.deepEqual(
      own[0]?.map((b) => b.customId),
      [1, 2, 3, 4].map((i) => OWN.imagine(i)),
    );
  });

  test('callback keys are short, random, stored, and resolve back to the button', async (t) => {
    // The engine's store, as the app gives it to the front.
    const store = new TaskStore({
      url: `sqlite://${join(mkdtempSync(join(tmpdir(), 'mjb-keys-')), 'kv.sqlite')}`,
      expiredDays: 1,
    });
    t.after(() => store.close());
    const keys = new CallbackKeys(store.space<unknown>('telegram'), silentLogger());
    const rows = resultButtons(task({ buttons: gridButtons(HASH) }));
    const kb = await inlineKeyboard(rows, (customId) =>
      keys.create({ taskId: 't1', customId, ownerId: 5, chatId: 5 }),
    );
    const datas = kb?.inline_keyboard.flat().map((b) => b.callback_data) ?? [];
    assert.equal(datas.length, 9);
    assert.equal(new Set(datas).size, 9);
    for (const d of datas) assert.ok(Buffer.byteLength(d) < 64 && d.length === 12, d);
    const entry = await keys.resolve(datas[4]);
    assert.deepEqual(entry, {
      taskId: 't1',
      customId: `MJ::JOB::reroll::0::${HASH}::SOLO`,
      ownerId: 5,
      chatId: 5,
    });
    assert.equal(await keys.resolve('nonexistent0'), undefined);
    assert.equal(await keys.resolve('../../etc'), undefined);
    assert.match(newKey(), /^[0-9A-Za-z]{12}$/);
  });
});

describe('texts', () => {
  test('status lines: queue position, submitted, progress with a bar, preview only while running', () => {
    assert.match(statusView(task({ status: 'PENDING', queuePosition: 3 }), en).text, /Queued — position 3/);
    assert.match(statusView(task({ status: 'SUBMITTED' }), en).text, /Submitted/);
    const running = statusView(task({ status: 'RUNNING', progress: '46%', imageUrl: 'http://x/p.png' }), en);
    assert.match(running.text, /Generating… 46%\n▓▓▓▓▓░░░░░/);
    assert.equal(running.image, 'http://x/p.png');
    assert.equal(statusView(task({ status: 'SUBMITTED', imageUrl: 'http://x/p.png' }), en).image, null);
    assert.equal(progressBar(100), '▓▓▓▓▓▓▓▓▓▓');
  });

  test('friendly errors name the banned word and never show internals', () => {
    assert.match(
      friendlyError(en, new EngineError('BANNED_WORD', 'x', { 'ban-words': 'nude' })),
      /banned word “nude”/,
    );
    assert.match(friendlyError(en, new EngineError('QUEUE_FULL', 'queue is full')), /queue is full/i);
    assert.match(friendlyError(en, new EngineError('NO_ACCOUNT', 'x')), /No Midjourney account/);
    assert.equal(
      friendlyError(en, new TypeError('Cannot read properties of undefined')),
      'Something went wrong on our side. Please try again in a moment.',
    );
    assert.match(
      friendlyFailReason(en, '[Banned prompt detected] Sorry! Our AI moderator...'),
      /refused the prompt: Banned prompt detected/,
    );
    assert.match(
      friendlyFailReason(en, '[Invalid parameter] Unrecognized parameter(s): `--foo`'),
      /^Invalid parameter: Unrecognized/,
    );
    assert.match(friendlyFailReason(en, 'timeout after 10 minutes'), /Timed out/);
    assert.equal(friendlyFailReason(en, 'cancelled'), 'Cancelled.');
  });

  test('captions are cut to 1024 characters; uploaded image URLs are not shown as prompt', () => {
    const long = resultCaption(en, task({ prompt: 'word '.repeat(400) }));
    assert.ok([...long].length <= 1024);
    assert.ok(long.endsWith('…'));
    assert.equal(
      resultCaption(en, task({ prompt: 'https://cdn.example/a.png https://cdn.example/b.png a cat' })),
      'a cat',
    );
    assert.equal(cut('abc', 5), 'abc');
  });

  test('prompts: autocorrected dashes become parameters again; commands and zoom replies parse', () => {
    assert.equal(normalisePrompt('a cat  —ar 16:9 –v 6'), 'a cat --ar 16:9 --v 6');
    assert.deepEqual(parseCommand('/imagine@mj_bridge_bot a fox'), {
      name: 'imagine',
      target: 'mj_bridge_bot',
      args: 'a fox',
    });
    assert.deepEqual(parseCommand('/blend portrait'), { name: 'blend', target: undefined, args: 'portrait' });
    assert.equal(parseCommand('hello'), undefined);
    assert.deepEqual(parseZoomReply('1.5 a castle'), { zoom: 1.5, prompt: 'a castle' });
    assert.deepEqual(parseZoomReply('2'), { zoom: 2, prompt: '' });
    assert.deepEqual(parseZoomReply('1,25'), { zoom: 1.25, prompt: '' });
    assert.equal(parseZoomReply('3 big'), null);
    assert.equal(parseZoomReply('zoom please'), null);
  });
});

describe('paced sender against the fake Bot API', () => {
  let tg: FakeTelegram;
  let api: Telegram;
  before(async () => {
    tg = await startFakeTelegram();
    for (const id of [1, 2, 3, 4, 5, 6]) tg.user(id);
    tg.group(-100);
    api = new Telegram(tg.token, { apiRoot: tg.apiRoot });
  });
  after(async () => {
    await tg.close();
  });

  const transport = (method: string, payload: Record<string, unknown>) =>
    (api.callApi as unknown as (m: string, p: Record<string, unknown>) => Promise<unknown>).call(
      api,
      method,
      payload,
    );

  test('calls to one chat are spaced by the chat interval (longer in groups); chats do not wait for each other', async () => {
    const sender = new Sender(transport, silentLogger(), {
      privateIntervalMs: 100,
      groupIntervalMs: 200,
      globalPerSecond: 100,
    });
    const sends = [
      ...[0, 1, 2].map((i) =>
        sender.call('sendMessage', { chat_id: 1, text: `a${i}` }, { chatId: 1, priority: 'message' }),
      ),
      ...[0, 1, 2].map((i) =>
        sender.call('sendMessage', { chat_id: -100, text: `g${i}` }, { chatId: -100, priority: 'message' }),
      ),
      sender.call('sendMessage', { chat_id: 2, text: 'b' }, { chatId: 2, priority: 'message' }),
    ];
    await Promise.all(sends);
    const at = (chat: number) => tg.callsOf('sendMessage', chat).map((c) => c.at);
    const gaps = (xs: number[]) => xs.slice(1).map((x, i) => x - (xs[i] ?? 0));
    for (const g of gaps(at(1))) assert.ok(g >= 95, `private gap ${g}`);
    for (const g of gaps(at(-100))) assert.ok(g >= 195, `group gap ${g}`);
    assert.ok(
      (at(2)[0] ?? 0) < (at(1)[1] ?? 0),
      'another chat does not wait behind the first chat’s interval',
    );
    assert.deepEqual(
      tg.botMessages(1).map((m) => m.text),
      ['a0', 'a1', 'a2'],
    );
    await sender.stop();
  });

  test('the global budget caps calls per second over all chats', async () => {
    const sender = new Sender(transport, silentLogger(), { privateIntervalMs: 0, globalPerSecond: 5 });
    const start = Date.now();
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        sender.call('sendMessage', { chat_id: 3, text: `x${i}` }, { chatId: 3, priority: 'message' }),
      ),
    );
    const times = tg.callsOf('sendMessage', 3).map((c) => c.at);
    for (let i = 5; i < times.length; i++) {
      assert.ok((times[i] ?? 0) - (times[i - 5] ?? 0) >= 990, 'never more than 5 calls in one second');
    }
    assert.ok(Date.now() - start >= 1900);
    await sender.stop();
  });

  test('queued calls of a chat go out by priority: finals, then messages, then progress edits', async () => {
    const sender = new Sender(transport, silentLogger(), { privateIntervalMs: 60 });
    const first = await api.sendMessage(4, 'status');
    const order: string[] = [];
    const p1 = sender
      .call('sendMessage', { chat_id: 4, text: 'm1' }, { chatId: 4, priority: 'message' })
      .then(() => order.push('m1'));
    const e1 = sender
      .call(
        'editMessageText',
        { chat_id: 4, message_id: first.message_id, text: 'edit' },
        { chatId: 4, priority: 'progress' },
      )
      .then(() => order.push('edit'));
    const f1 = sender
      .call('sendMessage', { chat_id: 4, text: 'final' }, { chatId: 4, priority: 'final' })
      .then(() => order.push('final'));
    await Promise.all([p1, e1, f1]);
    assert.deepEqual(order, ['final', 'm1', 'edit']);
    await sender.stop();
  });

  test("a job's status edit still waiting is taken back for its final; another job's edit still goes", async () => {
    const sender = new Sender(transport, silentLogger(), { privateIntervalMs: 150 });
    const status = await api.sendMessage(6, 'status');
    const other = await api.sendMessage(6, 'other status');
    // The chat's interval holds what follows this first call.
    await sender.call('sendMessage', { chat_id: 6, text: 'reply' }, { chatId: 6, priority: 'message' });
    const stale = sender.call(
      'editMessageText',
      { chat_id: 6, message_id: status.message_id, text: 'Generating… 90%' },
      { chatId: 6, priority: 'progress', tag: 'job-a' },
    );
    const kept = sender.call(
      'editMessageText',
      { chat_id: 6, message_id: other.message_id, text: 'Generating… 40%' },
      { chatId: 6, priority: 'progress', tag: 'job-b' },
    );
    sender.dropProgress('job-a');
    await assert.rejects(stale, SupersededError);
    await sender.call(
      'sendMessage',
      { chat_id: 6, text: 'final of job a' },
      { chatId: 6, priority: 'final' },
    );
    await kept;
    const edits = tg.callsOf('editMessageText', 6).map((c) => c.params.text);
    assert.deepEqual(edits, ['Generating… 40%'], 'only the other job’s edit reached Telegram');
    await sender.stop();
  });

  test('a 429 is waited out (retry_after) and the final message still arrives', async () => {
    const sender = new Sender(transport, silentLogger(), { privateIntervalMs: 0 });
    tg.failNext('sendMessage', {
      count: 1,
      code: 429,
      description: 'Too Many Requests: retry after 1',
      retryAfterS: 1,
    });
    const start = Date.now();
    await sender.call('sendMessage', { chat_id: 5, text: 'the result' }, { chatId: 5, priority: 'final' });
    const calls = tg.callsOf('sendMessage', 5);
    assert.equal(calls.length, 2);
    assert.equal(calls[0]?.errorCode, 429);
    assert.ok((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0) >= 990, 'waited retry_after');
    assert.ok(Date.now() - start >= 990);
    assert.equal(tg.botMessages(5).at(-1)?.text, 'the result');
    // A progress edit hit by 429 is handed back (its owner re-sends only the newest state).
    tg.failNext('sendMessage', {
      count: 1,
      code: 429,
      description: 'Too Many Requests: retry after 1',
      retryAfterS: 1,
    });
    await assert.rejects(
      sender.call('sendMessage', { chat_id: 5, text: 'progress' }, { chatId: 5, priority: 'progress' }),
      /429/,
    );
    await sender.stop();
  });
});
