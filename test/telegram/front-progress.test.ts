import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FakeMessage } from '../fakes/telegram-api.ts';
import { buttonData, type Harness, keyboardOf, startHarness } from './helpers.ts';

/** The status message of a job (SPEC §7.2) and its final messages (SPEC §7.3). */
describe('Telegram front: progress and results', () => {
  let h: Harness;
  let nextUser = 2000;
  const newUser = () => h.tg.user(nextUser++);

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  const taskOf = (prompt: string) =>
    h.tg.waitFor(() => [...h.engine.tasks.values()].find((t) => t.prompt === prompt), 3000, `task ${prompt}`);
  const shown = (chatId: number, re: RegExp) =>
    h.tg.waitFor(
      () => h.tg.botMessages(chatId).find((m) => re.test(m.text ?? m.caption ?? '')),
      4000,
      `a message showing ${re}`,
    );

  test('one status message follows the job: queued, submitted, percent with a bar, preview photo, then the grid', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'a red fox' });
    const task = await taskOf('a red fox');
    const status = await shown(u.id, /Queued — position/);
    assert.deepEqual(
      keyboardOf(status).map((r) => r.map(([t]) => t)),
      [['✖ Cancel']],
    );
    h.engine.update(task.id, { status: 'SUBMITTED' });
    await shown(u.id, /📨 Submitted/);
    assert.equal(h.tg.botMessages(u.id).length, 1, 'the same message was edited');
    h.engine.update(task.id, { status: 'RUNNING', progress: '46%' });
    const running = await shown(u.id, /Generating… 46%\n▓▓▓▓▓░░░░░/);
    assert.equal(running.message_id, status.message_id);
    h.engine.update(task.id, { progress: '62%', imageUrl: `${h.images.url}/preview/a.png` });
    const photo = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => m.photo),
      3000,
      'preview photo',
    );
    assert.match(photo.caption ?? '', /Generating… 62%/);
    await h.tg.waitFor(() => h.tg.message(u.id, status.message_id)?.deleted, 3000, 'text status replaced');
    await new Promise((r) => setTimeout(r, 350));
    h.engine.update(task.id, { progress: '80%', imageUrl: `${h.images.url}/preview/b.png` });
    await h.tg.waitFor(
      () => /80%/.test(h.tg.message(u.id, photo.message_id)?.caption ?? ''),
      3000,
      'second preview',
    );
    assert.ok(h.tg.callsOf('editMessageMedia', u.id).length >= 1, 'the preview image was swapped in place');
    h.engine.finish(task.id);
    const grid = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => m.photo && m.caption === 'a red fox'),
      3000,
      'grid photo',
    );
    assert.deepEqual(
      keyboardOf(grid).map((r) => r.map(([t]) => t)),
      [
        ['U1', 'U2', 'U3', 'U4', '🔄'],
        ['V1', 'V2', 'V3', 'V4'],
      ],
    );
    for (const [, data] of keyboardOf(grid).flat()) assert.ok(Buffer.byteLength(data) < 64);
    await h.tg.waitFor(() => h.tg.message(u.id, photo.message_id)?.deleted, 3000, 'status message removed');
    assert.deepEqual(
      h.tg.botMessages(u.id).map((m) => m.message_id),
      [grid.message_id],
    );
  });

  test('queued jobs show their place and move up when the queue moves', async () => {
    const u = newUser();
    const v = newUser();
    h.tg.sendText({ from: u, text: 'queue first' });
    h.tg.sendText({ from: v, text: 'queue second' });
    const first = await taskOf('queue first');
    await taskOf('queue second');
    const waiting = await shown(v.id, /Queued — position \d+/);
    const before = Number(/position (\d+)/.exec(waiting.text ?? '')?.[1]);
    h.engine.update(first.id, { status: 'STARTED' });
    await h.tg.waitFor(
      () => new RegExp(`position ${before - 1}\\b`).test(h.tg.message(v.id, waiting.message_id)?.text ?? ''),
      3000,
      'moved up',
    );
  });

  test('states are coalesced (latest wins) and edits of one message keep the pacing interval', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'paced fox' });
    const task = await taskOf('paced fox');
    const status = await shown(u.id, /Queued/);
    for (let p = 1; p <= 30; p++) {
      h.engine.update(task.id, { status: 'RUNNING', progress: `${p}%` });
      await new Promise((r) => setTimeout(r, 10));
    }
    await shown(u.id, /Generating… 30%/);
    const m = h.tg.message(u.id, status.message_id) as FakeMessage;
    assert.ok(m.editTimes.length < 10, `30 states → ${m.editTimes.length} edits`);
    const all = [m.sentAt, ...m.editTimes];
    for (let i = 1; i < all.length; i++) {
      assert.ok(
        (all[i] ?? 0) - (all[i - 1] ?? 0) >= 150,
        `edits ${(all[i] ?? 0) - (all[i - 1] ?? 0)} ms apart`,
      );
    }
    // An unchanged state sends nothing.
    const calls = h.tg.callsOf('editMessageText', u.id).length;
    h.engine.update(task.id, { progress: '30%', discordId: 'x' });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(h.tg.callsOf('editMessageText', u.id).length, calls);
  });

  test('a group job is paced at the group interval', async () => {
    const u = newUser();
    const g = h.tg.group(-7001);
    h.tg.sendText({ chatId: g.id, from: u, text: '/imagine group pacing' });
    const task = await taskOf('group pacing');
    const status = await shown(g.id, /Queued/);
    for (let p = 1; p <= 20; p++) {
      h.engine.update(task.id, { status: 'RUNNING', progress: `${p * 5}%` });
      await new Promise((r) => setTimeout(r, 25));
    }
    await shown(g.id, /Generating… 100%/);
    const m = h.tg.message(g.id, status.message_id) as FakeMessage;
    const all = [m.sentAt, ...m.editTimes];
    for (let i = 1; i < all.length; i++) assert.ok((all[i] ?? 0) - (all[i - 1] ?? 0) >= 250);
  });

  test('"message is not modified" counts as success; a 429 on an edit is waited out and only the newest state is sent', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'flood fox' });
    const task = await taskOf('flood fox');
    const status = await shown(u.id, /Queued/);
    h.tg.failNext('editMessageText', {
      count: 1,
      code: 400,
      description:
        'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    });
    h.engine.update(task.id, { status: 'SUBMITTED' });
    await h.tg.waitFor(() => h.tg.callsOf('editMessageText', u.id).length === 1, 3000, 'first edit');
    h.tg.failNext('editMessageText', {
      count: 1,
      code: 429,
      description: 'Too Many Requests: retry after 1',
      retryAfterS: 1,
    });
    h.engine.update(task.id, { status: 'RUNNING', progress: '10%' });
    const limited = await h.tg.waitFor(
      () => h.tg.callsOf('editMessageText', u.id).find((c) => c.errorCode === 429),
      3000,
      '429',
    );
    h.engine.update(task.id, { progress: '20%' });
    h.engine.update(task.id, { progress: '35%' });
    await shown(u.id, /Generating… 35%/);
    const after429 = h.tg.callsOf('editMessageText', u.id).filter((c) => c.at > limited.at);
    assert.equal(after429.length, 1, 'one edit after the pause, with the newest state');
    assert.ok((after429[0]?.at ?? 0) - limited.at >= 990, 'retry_after was respected');
    assert.equal(h.tg.message(u.id, status.message_id)?.deleted, false);
  });

  test('a final photo hit by a 429 is still delivered after retry_after', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'final under flood' });
    const task = await taskOf('final under flood');
    await shown(u.id, /Queued/);
    h.tg.failNext('sendPhoto', {
      count: 1,
      code: 429,
      description: 'Too Many Requests: retry after 1',
      retryAfterS: 1,
    });
    h.engine.finish(task.id);
    const grid = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => m.photo),
      4000,
      'grid after 429',
    );
    const calls = h.tg.callsOf('sendPhoto', u.id);
    assert.equal(calls[0]?.errorCode, 429);
    assert.ok((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0) >= 990);
    assert.equal(grid.caption, 'final under flood');
  });

  test('a photo Telegram refuses goes out as a document with the buttons; if that fails too, as a link', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'too big fox' });
    const task = await taskOf('too big fox');
    await shown(u.id, /Queued/);
    h.tg.refusePhotos = 'too-big';
    try {
      h.engine.finish(task.id);
      const doc = await h.tg.waitFor(() => h.tg.botMessages(u.id).find((m) => m.document), 3000, 'document');
      assert.equal(doc.caption, 'too big fox');
      assert.equal(keyboardOf(doc)[0]?.[0]?.[0], 'U1');
      const v = newUser();
      h.tg.sendText({ from: v, text: 'no file at all' });
      const t2 = await taskOf('no file at all');
      await shown(v.id, /Queued/);
      h.tg.failNext('sendDocument', { count: 1, code: 400, description: 'Bad Request: file is too big' });
      h.engine.finish(t2.id);
      const link = await shown(v.id, /no file at all\n\nhttp:\/\/127\.0\.0\.1:\d+\/result\//);
      assert.equal(keyboardOf(link)[1]?.[0]?.[0], 'V1');
    } finally {
      h.tg.refusePhotos = false;
    }
  });

  test('an upscale is a photo with its buttons plus the full file as a document', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'to upscale' });
    const task = await taskOf('to upscale');
    h.engine.finish(task.id);
    const grid = await h.tg.waitFor(() => h.tg.botMessages(u.id).find((m) => m.photo), 3000, 'grid');
    h.tg.press({ from: u, messageId: grid.message_id, data: buttonData(grid, 'U2') });
    const up = await h.tg.waitFor(
      () => [...h.engine.tasks.values()].find((t) => t.action === 'UPSCALE' && t.params.parentId === task.id),
      3000,
      'upscale task',
    );
    assert.equal(up.params.index, 2);
    h.engine.finish(up.id);
    const photo = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => m.photo && /Upscale #2/.test(m.caption ?? '')),
      3000,
      'upscale photo',
    );
    const labels = keyboardOf(photo)
      .flat()
      .map(([t]) => t);
    for (const l of ['🪄 Vary (Strong)', '🔍 Zoom Out 2x', '🔍 Custom Zoom', '⬅️', 'Upscale (Subtle)'])
      assert.ok(labels.includes(l), l);
    assert.ok(!labels.some((l) => l.includes('Vary (Region)')));
    const doc = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => m.document),
      3000,
      'full-size document',
    );
    assert.ok(doc.message_id > photo.message_id);
    assert.match(doc.document?.file_name ?? '', /\.png$/);
  });

  test('a failed job ends with a short friendly message', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'bad fox' });
    const task = await taskOf('bad fox');
    const status = await shown(u.id, /Queued/);
    h.engine.fail(
      task.id,
      '[Banned prompt detected] Sorry! Our AI moderator thinks this prompt is against our community standards.',
    );
    const msg = await shown(u.id, /Midjourney refused the prompt: Banned prompt detected — Sorry!/);
    assert.doesNotMatch(msg.text ?? '', /\{|at \w+ \(/);
    await h.tg.waitFor(() => h.tg.message(u.id, status.message_id)?.deleted, 3000, 'status removed');
  });

  test('a chat that blocked the bot does not disturb other chats', async () => {
    const u = newUser();
    const v = newUser();
    h.tg.sendText({ from: u, text: 'blocked fox' });
    h.tg.sendText({ from: v, text: 'happy fox' });
    const t1 = await taskOf('blocked fox');
    const t2 = await taskOf('happy fox');
    await shown(u.id, /Queued/);
    h.tg.block(u.id);
    h.engine.update(t1.id, { status: 'RUNNING', progress: '50%' });
    h.engine.finish(t1.id);
    h.engine.finish(t2.id);
    await h.tg.waitFor(
      () => h.tg.botMessages(v.id).find((m) => m.photo),
      3000,
      'the other chat gets its result',
    );
    assert.ok(h.tg.calls.some((c) => c.chatId === u.id && c.errorCode === 403));
  });
});

describe('Telegram front: restart', () => {
  test('after a restart the same status message keeps updating, old buttons work, missed results arrive', async () => {
    const h = await startHarness();
    try {
      const u = h.tg.user(3001);
      h.tg.sendText({ from: u, text: 'survivor' });
      h.tg.sendText({ from: u, text: 'finished before' });
      const running = await h.tg.waitFor(
        () => [...h.engine.tasks.values()].find((t) => t.prompt === 'survivor'),
        3000,
        'task',
      );
      const done = await h.tg.waitFor(
        () => [...h.engine.tasks.values()].find((t) => t.prompt === 'finished before'),
        3000,
        'task',
      );
      h.engine.finish(done.id);
      const grid = await h.tg.waitFor(() => h.tg.botMessages(u.id).find((m) => m.photo), 3000, 'grid');
      const status = await h.tg.waitFor(
        () => h.tg.botMessages(u.id).find((m) => /survivor/.test(m.text ?? '')),
        3000,
        'status',
      );
      await h.restart();
      h.engine.update(running.id, { status: 'RUNNING', progress: '70%' });
      await h.tg.waitFor(
        () => /70%/.test(h.tg.message(u.id, status.message_id)?.text ?? ''),
        3000,
        'same message edited',
      );
      const statusMessages = h.tg.botMessages(u.id).filter((m) => /survivor/.test(m.text ?? m.caption ?? ''));
      assert.equal(statusMessages.length, 1, 'no second status message');
      h.tg.press({ from: u, messageId: grid.message_id, data: buttonData(grid, 'V3') });
      const variation = await h.tg.waitFor(
        () => [...h.engine.tasks.values()].find((t) => t.action === 'VARIATION'),
        3000,
        'variation after restart',
      );
      assert.equal(variation.params.index, 3);
      assert.equal(variation.params.parentId, done.id);
      h.engine.finish(running.id);
      await h.tg.waitFor(
        () => h.tg.botMessages(u.id).filter((m) => m.photo).length === 2,
        3000,
        'result after restart',
      );
      // A job that ends while no front is running gets its result at the next start.
      h.tg.sendText({ from: u, text: 'ends while down' });
      const late = await h.tg.waitFor(
        () => [...h.engine.tasks.values()].find((t) => t.prompt === 'ends while down'),
        3000,
        'task',
      );
      await h.tg.waitFor(
        () => h.tg.botMessages(u.id).find((m) => /ends while down\n⏳/.test(m.text ?? '')),
        3000,
        'status',
      );
      await h.restart(() => h.engine.finish(late.id));
      await h.tg.waitFor(
        () => h.tg.botMessages(u.id).find((m) => m.photo && m.caption === 'ends while down'),
        3000,
        'result of a job that ended during the restart',
      );
    } finally {
      await h.close();
    }
  });
});
