import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FakeUser, RecordedCall } from '../fakes/telegram-api.ts';
import { buttonData, type Harness, keyboardOf, startHarness } from './helpers.ts';

/** A status message's text or caption: `🎨 Imagine: <prompt>\n<state>`. */
const statusRe = (prompt: string, state = '') => new RegExp(`^🎨 Imagine: ${prompt}\\n${state}`);

/** Calls that show something in a chat (sends and edits; deletions left out). */
const updatesOf = (h: Harness, chatId: number): RecordedCall[] =>
  h.tg.calls.filter((c) => c.chatId === chatId && /^(send|edit)/.test(c.method));

/** Every bot message of a chat is sent and edited at least `ms` apart (deleted ones included). */
function assertPaced(h: Harness, chatId: number, ms: number): void {
  for (const m of h.tg.messages(chatId).filter((x) => x.fromBot)) {
    const times = [m.sentAt, ...m.editTimes];
    for (let i = 1; i < times.length; i++) {
      const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
      assert.ok(gap >= ms, `message ${m.message_id}: edits ${gap} ms apart`);
    }
  }
}

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

  const taskOf = (prompt: string) => h.task((t) => t.prompt === prompt, `task ${prompt}`);
  /** A message the bot sent in a chat (also one removed since). */
  const shown = (chatId: number, re: RegExp) =>
    h.tg.waitFor(
      () => h.tg.messages(chatId).find((m) => m.fromBot && re.test(m.text ?? m.caption ?? '')),
      10_000,
      `a message showing ${re}`,
    );
  const showing = (chatId: number, messageId: number, re: RegExp, what: string) =>
    h.tg.waitFor(
      () => {
        const m = h.tg.message(chatId, messageId);
        return m && re.test(m.text ?? m.caption ?? '') ? m : undefined;
      },
      10_000,
      what,
    );
  const resultPhoto = (chatId: number, caption: RegExp, what: string) =>
    h.tg.waitFor(
      () =>
        h.tg
          .botMessages(chatId)
          .find((m) => m.photo && caption.test(m.caption ?? '') && keyboardOf(m)[0]?.[0]?.[0] !== '✖ Cancel'),
      10_000,
      what,
    );

  test('one status message follows the job: queued, submitted, percent with a bar, preview photo, then the grid', async () => {
    const u = newUser();
    h.holdJobs(true);
    try {
      const fillers = await h.occupy(3);
      h.tg.sendText({ from: u, text: 'a red fox' });
      const task = await taskOf('a red fox');
      const status = await shown(u.id, statusRe('a red fox', '⏳ Queued — position 1$'));
      assert.deepEqual(
        keyboardOf(status).map((r) => r.map(([t]) => t)),
        [['✖ Cancel']],
      );
      // A slot frees: the job goes to Midjourney (which, held, has not answered yet).
      await h.engine.cancel(fillers[0] ?? '');
      await showing(u.id, status.message_id, statusRe('a red fox', '📨 Submitted$'), 'submitted');
      assert.equal(h.tg.botMessages(u.id).length, 1, 'the same message was edited');
      // "Waiting to start": generating at 0 %, no preview yet.
      h.holdJobs(true, -1);
      await showing(u.id, status.message_id, statusRe('a red fox', '🖌 Generating… 0%\n░{10}$'), '0 %');
      // Previews: the status becomes a photo whose caption follows the job.
      h.holdJobs(true, 46);
      const photo = await h.tg.waitFor(
        () =>
          h.tg
            .botMessages(u.id)
            .find(
              (m) => m.photo && statusRe('a red fox', '🖌 Generating… 46%\n▓{5}░{5}$').test(m.caption ?? ''),
            ),
        10_000,
        'the preview at 46 %',
      );
      assert.deepEqual(
        keyboardOf(photo).map((r) => r.map(([t]) => t)),
        [['✖ Cancel']],
      );
      // The text status itself became the photo (editMessageMedia): still one message.
      assert.equal(photo.message_id, status.message_id);
      assert.equal(h.tg.callsOf('sendPhoto', u.id).length, 0, 'no second status message');
      assert.equal(h.tg.botMessages(u.id).length, 1);
      h.holdJobs(true, 78);
      await showing(u.id, photo.message_id, /Generating… 78%/, 'the preview at 78 %');
      await h.tg.waitFor(
        () => h.tg.callsOf('editMessageMedia', u.id).filter((c) => c.ok).length >= 2,
        3000,
        'the preview image swapped in place',
      );
      h.holdJobs(false);
      const grid = await resultPhoto(u.id, /^a red fox$/, 'the grid');
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
      assert.equal((await h.engine.get(task.id))?.status, 'FINISHED');
    } finally {
      await h.settle();
    }
  });

  test('queued jobs show their place and move up when the queue moves', async () => {
    const u = newUser();
    const v = newUser();
    h.holdJobs(true);
    try {
      const fillers = await h.occupy(3);
      h.tg.sendText({ from: u, text: 'queue first' });
      await taskOf('queue first');
      h.tg.sendText({ from: v, text: 'queue second' });
      await taskOf('queue second');
      await shown(u.id, statusRe('queue first', '⏳ Queued — position 1$'));
      const waiting = await shown(v.id, statusRe('queue second', '⏳ Queued — position 2$'));
      await h.engine.cancel(fillers[1] ?? '');
      await showing(v.id, waiting.message_id, /Queued — position 1$/, 'moved up');
      await shown(u.id, statusRe('queue first', '📨 Submitted'));
    } finally {
      await h.settle();
    }
  });

  test('"message is not modified" counts as success; a 429 on an edit is waited out and only the newest state is sent', async () => {
    const u = newUser();
    h.holdJobs(true);
    try {
      const fillers = await h.occupy(3);
      h.tg.sendText({ from: u, text: 'flood fox' });
      const status = await shown(u.id, statusRe('flood fox', '⏳ Queued'));
      h.tg.failNext('editMessageText', {
        count: 1,
        code: 400,
        description:
          'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      });
      await h.engine.cancel(fillers[0] ?? '');
      await h.tg.waitFor(() => h.tg.callsOf('editMessageText', u.id).length === 1, 3000, 'first edit');
      assert.equal(h.tg.callsOf('editMessageText', u.id)[0]?.errorCode, 400);
      h.tg.failNext('editMessageText', {
        count: 1,
        code: 429,
        description: 'Too Many Requests: retry after 1',
        retryAfterS: 1,
      });
      h.holdJobs(true, -1);
      const limited = await h.tg.waitFor(
        () => h.tg.callsOf('editMessageText', u.id).find((c) => c.errorCode === 429),
        3000,
        '429',
      );
      // Not a retry of "Submitted" (that one counted as shown), the next state.
      assert.match(String(limited.params.text), /Generating… 0%/);
      // Meanwhile the job moves on, with previews, to 46 %.
      h.holdJobs(true, 46);
      const photo = await h.tg.waitFor(
        () => h.tg.botMessages(u.id).find((m) => m.photo && /Generating… 46%/.test(m.caption ?? '')),
        5000,
        'the newest state',
      );
      await new Promise((r) => setTimeout(r, 300));
      const after429 = updatesOf(h, u.id).filter((c) => c.at > limited.at);
      assert.equal(after429.length, 1, `one update after the pause: ${after429.map((c) => c.method)}`);
      assert.equal(after429[0]?.method, 'editMessageMedia');
      assert.ok((after429[0]?.at ?? 0) - limited.at >= 990, 'retry_after was respected');
      assert.equal(photo.message_id, status.message_id, 'the status message became the preview photo');
    } finally {
      await h.settle();
    }
  });

  test('a /cancel replying to the first status still cancels once the status became the preview photo', async () => {
    const u = newUser();
    h.holdJobs(true, 15);
    try {
      h.tg.sendText({ from: u, text: 'cancel the photo' });
      const first = await shown(u.id, /^🎨 Imagine: cancel the photo\n/);
      assert.equal(h.tg.callsOf('sendMessage', u.id).length, 1, 'the status went out as text');
      const task = await taskOf('cancel the photo');
      await h.tg.waitFor(
        () => h.tg.message(u.id, first.message_id)?.photo,
        5000,
        'the status became a photo',
      );
      h.tg.sendText({ from: u, text: '/cancel', replyTo: first.message_id });
      assert.equal((await h.waitTask(task.id)).failReason, 'cancelled');
      await shown(u.id, /cancel the photo\n❌ Cancelled\./);
    } finally {
      await h.settle();
    }
  });

  test('a final photo hit by a 429 is still delivered after retry_after', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'final under flood' });
    const grid = await resultPhoto(u.id, /^final under flood$/, 'the grid');
    // An upscale has no previews: its result is the next photo sent.
    h.tg.failNext('sendPhoto', {
      count: 1,
      code: 429,
      description: 'Too Many Requests: retry after 1',
      retryAfterS: 1,
    });
    const since = Date.now();
    h.tg.press({ from: u, messageId: grid.message_id, data: buttonData(grid, 'U3') });
    const up = await resultPhoto(u.id, /^Upscale #3\nfinal under flood$/, 'the upscale after a 429');
    // Only the result's sends (a preview, should Midjourney send one under load, is not counted).
    const calls = h.tg
      .callsOf('sendPhoto', u.id)
      .filter((c) => c.at >= since && String(c.params.caption ?? '').startsWith('Upscale #3'));
    assert.equal(calls.length, 2);
    assert.equal(calls[0]?.errorCode, 429);
    assert.ok((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0) >= 990);
    assert.equal(keyboardOf(up)[0]?.[0]?.[0], 'Upscale (Subtle)');
  });

  test('a photo Telegram refuses goes out as a document with the buttons; if that fails too, as a link', async () => {
    const u = newUser();
    h.tg.refusePhotos = 'too-big';
    try {
      h.tg.sendText({ from: u, text: 'too big fox' });
      const doc = await h.tg.waitFor(
        () => h.tg.botMessages(u.id).find((m) => m.document),
        10_000,
        'document',
      );
      assert.equal(doc.caption, 'too big fox');
      assert.equal(keyboardOf(doc)[0]?.[0]?.[0], 'U1');
      const v = newUser();
      h.tg.failNext('sendDocument', { count: 1, code: 400, description: 'Bad Request: file is too big' });
      h.tg.sendText({ from: v, text: 'no file at all' });
      const task = await taskOf('no file at all');
      const link = await shown(v.id, /^no file at all\n\nhttp:\/\/127\.0\.0\.1:\d+\//);
      assert.equal(link.text, `no file at all\n\n${(await h.waitTask(task.id)).imageUrl}`);
      assert.equal(keyboardOf(link)[1]?.[0]?.[0], 'V1');
    } finally {
      h.tg.refusePhotos = false;
    }
  });

  test('an upscale is a photo with its buttons plus the full file as a document', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'to upscale' });
    const grid = await resultPhoto(u.id, /^to upscale$/, 'the grid');
    const task = await taskOf('to upscale');
    h.tg.press({ from: u, messageId: grid.message_id, data: buttonData(grid, 'U2') });
    const up = await h.task((t) => t.action === 'UPSCALE' && t.params.parentId === task.id, 'upscale task');
    assert.equal(up.params.index, 2);
    const photo = await resultPhoto(u.id, /^Upscale #2\n/, 'the upscale photo');
    const labels = keyboardOf(photo)
      .flat()
      .map(([t]) => t);
    for (const l of ['🪄 Vary (Strong)', '🔍 Zoom Out 2x', '🔍 Custom Zoom', '⬅️', 'Upscale (Subtle)'])
      assert.ok(labels.includes(l), `${l} in ${labels}`);
    assert.ok(!labels.some((l) => l.includes('Vary (Region)')));
    const doc = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => m.document),
      3000,
      'the document',
    );
    assert.ok(doc.message_id > photo.message_id);
    assert.match(doc.document?.file_name ?? '', /\.png$/);
    const done = await h.waitTask(up.id);
    const bytes = Buffer.from(await (await fetch(done.imageUrl ?? '')).arrayBuffer());
    assert.equal(doc.document?.size, bytes.length, 'the full file');
  });

  test('a failed job ends with a short friendly message', async () => {
    const u = newUser();
    h.holdJobs(true);
    try {
      const fillers = await h.occupy(3);
      h.tg.sendText({ from: u, text: 'bad fox --fail Banned prompt detected' });
      const status = await shown(u.id, statusRe('bad fox --fail Banned prompt detected', '⏳ Queued'));
      await h.engine.cancel(fillers[0] ?? '');
      const msg = await shown(u.id, /Midjourney refused the prompt: Banned prompt detected — Sorry!/);
      assert.doesNotMatch(msg.text ?? '', /\{|at \w+ \(/);
      await h.tg.waitFor(() => h.tg.message(u.id, status.message_id)?.deleted, 3000, 'status removed');
      assert.deepEqual(
        h.tg.botMessages(u.id).map((m) => m.message_id),
        [msg.message_id],
      );
    } finally {
      await h.settle();
    }
  });

  test('a chat that blocked the bot does not disturb other chats', async () => {
    const u = newUser();
    const v = newUser();
    h.holdJobs(true);
    try {
      h.tg.sendText({ from: u, text: 'blocked fox' });
      h.tg.sendText({ from: v, text: 'happy fox' });
      await shown(u.id, statusRe('blocked fox'));
      await shown(v.id, statusRe('happy fox'));
      h.tg.block(u.id);
      h.holdJobs(false);
      await resultPhoto(v.id, /^happy fox$/, 'the other chat gets its result');
      await h.tg.waitFor(
        () => h.tg.calls.some((c) => c.chatId === u.id && c.errorCode === 403),
        3000,
        'the blocked chat refused',
      );
      assert.equal((await h.waitTask((await taskOf('blocked fox')).id)).status, 'FINISHED');
    } finally {
      await h.settle();
    }
  });
});

describe('Telegram front: pacing', () => {
  let h: Harness;
  before(async () => {
    // 100 × faster than Midjourney: a progress step every 50 ms, quicker than the edit interval.
    h = await startHarness({ speed: 100 });
  });
  after(async () => {
    await h.close();
  });

  /** Runs a job of `from` in `chatId` to 93 % and on; returns its task events and the status updates sent. */
  async function paced(
    from: FakeUser,
    chatId: number,
    text: string,
    prompt: string,
  ): Promise<{ events: number; updates: number }> {
    h.holdJobs(true, 93);
    try {
      h.tg.sendText({ chatId, from, text });
      const task = await h.task((t) => t.prompt === prompt, prompt);
      await h.waitTask(task.id, (t) => t.progress === '93%');
      // Latest wins: the status ends up showing the newest state.
      await h.tg.waitFor(
        () => h.tg.botMessages(chatId).find((m) => /Generating… 93%/.test(m.caption ?? m.text ?? '')),
        5000,
        'the newest state shown',
      );
      // And while nothing changes, nothing is sent (once a due preview swap is out).
      await new Promise((r) => setTimeout(r, 500));
      const updates = updatesOf(h, chatId).length;
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(updatesOf(h, chatId).length, updates, 'an unchanged state is not sent again');
      const events = h.events.filter((e) => e.task.id === task.id).length;
      return { events, updates };
    } finally {
      await h.settle();
    }
  }

  test('states are coalesced (latest wins) and edits of one message keep the pacing interval', async () => {
    const u = h.tg.user(2400);
    const chat = u.id;
    const { events, updates } = await paced(u, chat, 'paced fox', 'paced fox');
    assert.ok(updates < events - 3, `${events} states → ${updates} sends and edits`);
    const edited = h.tg.messages(chat).filter((m) => m.fromBot && m.editTimes.length > 0);
    assert.ok(edited.length > 0, 'the status was edited');
    assertPaced(h, chat, 150);
  });

  test('percentages keep coming at the edit interval while a new preview waits for its longer one', async () => {
    // Previews may change only every 10 s here: the caption must not wait for them.
    const slow = await startHarness({ speed: 20, timing: { previewEditMs: 10_000 } });
    try {
      const u = slow.tg.user(2402);
      slow.tg.sendText({ from: u, text: 'a lantern on water' });
      await slow.tg.waitFor(
        () =>
          slow.tg
            .botMessages(u.id)
            .find((m) => m.photo && JSON.stringify(m.reply_markup ?? {}).includes('"U1"')),
        15_000,
        'the grid',
      );
      const captions = slow.tg
        .callsOf('editMessageCaption', u.id)
        .filter((c) => c.ok)
        .map((c) => /(\d+)%/.exec(String(c.params.caption))?.[1]);
      assert.ok(new Set(captions).size >= 3, `caption edits with new percentages: ${captions.join(', ')}`);
      // The first preview turns the text status into a photo; no swap after it within 10 s.
      assert.ok(slow.tg.callsOf('editMessageMedia', u.id).length <= 1, 'no preview swap within 10 s');
    } finally {
      await slow.close();
    }
  });

  test('a group job is paced at the group interval', async () => {
    const g = h.tg.group(-7001);
    await paced(h.tg.user(2401), g.id, '/imagine group pacing', 'group pacing');
    const edited = h.tg.messages(g.id).filter((m) => m.fromBot && m.editTimes.length > 0);
    assert.ok(edited.length > 0, 'the status was edited');
    assertPaced(h, g.id, 250);
  });
});

describe('Telegram front: restart', () => {
  test('after a restart the same status message keeps updating, old buttons work, missed results arrive', async () => {
    const h = await startHarness();
    try {
      const u = h.tg.user(3001);
      h.tg.sendText({ from: u, text: 'finished before' });
      const grid = await h.tg.waitFor(
        () => h.tg.botMessages(u.id).find((m) => m.photo && m.caption === 'finished before'),
        10_000,
        'grid',
      );
      const done = await h.task((t) => t.prompt === 'finished before', 'finished before');
      // A job held at 15 %, its preview shown.
      h.holdJobs(true, 15);
      h.tg.sendText({ from: u, text: 'survivor' });
      const running = await h.task((t) => t.prompt === 'survivor', 'survivor');
      const at15 = await h.waitTask(running.id, (t) => t.progress === '15%');
      const status = await h.tg.waitFor(
        () =>
          h.tg
            .botMessages(u.id)
            .find((m) => m.photo && /^🎨 Imagine: survivor\n🖌 Generating… 15%/.test(m.caption ?? '')),
        5000,
        'the status at 15 %',
      );
      // Shown completely (caption and preview): the store says so.
      const shownImage = async () =>
        ((await h.kv.get(`status:${running.id}`)) as { image?: string } | undefined)?.image;
      for (let i = 0; (await shownImage()) !== at15.imageUrl; i++) {
        assert.ok(i < 300, 'the 15 % preview was never shown');
        await new Promise((r) => setTimeout(r, 10));
      }
      const before = updatesOf(h, u.id).length;
      await h.restart();
      // The same state after the restart: nothing to send.
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(updatesOf(h, u.id).length, before, 'an unchanged state is not sent again');
      h.holdJobs(true, 62);
      await h.tg.waitFor(
        () => /Generating… 62%/.test(h.tg.message(u.id, status.message_id)?.caption ?? ''),
        5000,
        'the same message edited',
      );
      const statusMessages = h.tg.botMessages(u.id).filter((m) => /survivor/.test(m.text ?? m.caption ?? ''));
      assert.equal(statusMessages.length, 1, 'no second status message');
      h.tg.press({ from: u, messageId: grid.message_id, data: buttonData(grid, 'V3') });
      const variation = await h.task((t) => t.action === 'VARIATION', 'variation after restart');
      assert.equal(variation.params.index, 3);
      assert.equal(variation.params.parentId, done.id);
      h.holdJobs(false);
      await h.tg.waitFor(
        () => h.tg.botMessages(u.id).find((m) => m.photo && m.caption === 'survivor'),
        10_000,
        'result after restart',
      );
      await h.tg.waitFor(
        () => h.tg.botMessages(u.id).find((m) => m.photo && m.caption === 'Variations #3\nfinished before'),
        10_000,
        'the variation’s result',
      );
      // A job that ends while the service is down gets its result at the next start.
      h.holdJobs(true, 31);
      h.tg.sendText({ from: u, text: 'ends while down' });
      const late = await h.task((t) => t.prompt === 'ends while down', 'ends while down');
      const held = await h.waitTask(late.id, (t) => t.progress === '31%');
      await h.tg.waitFor(
        () =>
          h.tg
            .botMessages(u.id)
            .find((m) => /^🎨 Imagine: ends while down\n/.test(m.text ?? m.caption ?? '')),
        5000,
        'status',
      );
      await h.restart(async () => {
        h.holdJobs(false);
        const job = h.sandbox.bot.jobByHash(held.messageHash ?? '');
        assert.ok(job);
        await h.tg.waitFor(
          () => job.state === 'done',
          5000,
          'Midjourney finished while the service was down',
        );
      });
      await h.tg.waitFor(
        () => h.tg.botMessages(u.id).find((m) => m.photo && m.caption === 'ends while down'),
        10_000,
        'result of a job that ended during the restart',
      );
      assert.equal((await h.engine.get(late.id))?.status, 'FINISHED');
      await h.tg.waitFor(
        () =>
          !h.tg
            .botMessages(u.id)
            .some((m) => /^🎨 Imagine: ends while down\n/.test(m.text ?? m.caption ?? '')),
        3000,
        'its status message removed',
      );
    } finally {
      await h.close();
    }
  });
});
