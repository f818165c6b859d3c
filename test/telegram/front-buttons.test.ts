import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import type { FakeMessage, FakeUser } from '../fakes/telegram-api.ts';
import { buttonData, type Harness, keyboardOf, png, startHarness } from './helpers.ts';

/** SPEC §7.4 and the commands around jobs: buttons, Custom Zoom, describe picks, cancel, /jobs. */
describe('Telegram front: buttons and job commands', () => {
  let h: Harness;
  let nextUser = 4000;
  const newUser = () => h.tg.user(nextUser++);
  const ADMIN = 4999;

  before(async () => {
    h = await startHarness({ telegram: { admins: [ADMIN], maxJobsPerUser: 3 } });
  });
  after(async () => {
    await h.close();
  });

  /** A message the bot sent in a chat (also one removed since, like a finished job's status). */
  const shown = (chatId: number, re: RegExp, what = `message ${re}`) =>
    h.tg.waitFor(
      () => h.tg.messages(chatId).find((m) => m.fromBot && re.test(m.text ?? m.caption ?? '')),
      10_000,
      what,
    );
  const resultPhoto = (chatId: number, caption: RegExp, what: string) =>
    h.tg.waitFor(
      () => h.tg.botMessages(chatId).find((m) => m.photo && caption.test(m.caption ?? '')),
      10_000,
      what,
    );
  const childOf = (parent: Task, action: string) =>
    h.task((t) => t.action === action && t.params.parentId === parent.id, `${action} of ${parent.id}`);

  /** A finished grid in a chat: the task and its photo message. */
  async function grid(
    from: FakeUser,
    prompt: string,
    chatId = from.id,
  ): Promise<{ task: Task; msg: FakeMessage }> {
    h.tg.sendText({ chatId, from, text: chatId === from.id ? prompt : `/imagine ${prompt}` });
    const msg = await h.tg.waitFor(
      () => h.tg.botMessages(chatId).find((m) => m.photo && m.caption === prompt),
      10_000,
      `the grid of ${prompt}`,
    );
    const task = await h.task((t) => t.prompt === prompt, prompt);
    assert.equal(task.status, 'FINISHED');
    return { task, msg };
  }

  async function press(from: FakeUser, msg: FakeMessage, label: string, chatId = from.id): Promise<string> {
    const q = h.tg.press({ chatId, from, messageId: msg.message_id, data: buttonData(msg, label) });
    await h.tg.waitFor(() => h.tg.answers.get(q), 3000, `answer to ${label}`);
    return q;
  }

  test('U, V and 🔄 start UPSCALE, VARIATION and REROLL; every press is answered at once', async () => {
    const u = newUser();
    const { task, msg } = await grid(u, 'buttons fox');
    h.holdJobs(true);
    try {
      const q = await press(u, msg, 'U1');
      assert.equal(h.tg.answers.get(q)?.text, 'Working on it…');
      const up = await childOf(task, 'UPSCALE');
      assert.equal(up.params.index, 1);
      assert.deepEqual(h.engine.originOf(up.id), {
        kind: 'telegram',
        chatId: u.id,
        userId: u.id,
        lang: 'en',
        replyTo: msg.message_id,
      });
      const status = await shown(u.id, /Upscale #1/, 'the upscale’s status');
      assert.equal(status.reply_to, msg.message_id, 'the new job answers the grid it came from');
      await press(u, msg, 'V2');
      const variation = await childOf(task, 'VARIATION');
      assert.equal(variation.params.index, 2);
      await press(u, msg, '🔄');
      await childOf(task, 'REROLL');
      const answerCall = h.tg.callsOf('answerCallbackQuery').find((c) => c.params.callback_query_id === q);
      const created = h.created().find((c) => c.task.id === up.id);
      assert.ok(answerCall && created);
      assert.ok(answerCall.at <= created.at, 'the press is answered before the job starts');
    } finally {
      await h.settle();
    }
    // Released, the three jobs deliver their results.
    await resultPhoto(u.id, /^Upscale #1\n/, 'the upscale');
    await resultPhoto(u.id, /^Variations #2\n/, 'the variation');
    await resultPhoto(u.id, /^Reroll\n/, 'the reroll');
  });

  test('an upscale’s buttons: vary, zoom out, make square, pan and the v6 upscales', async () => {
    const u = newUser();
    const { task, msg } = await grid(u, 'single fox');
    await press(u, msg, 'U4');
    const up = await childOf(task, 'UPSCALE');
    const photo = await resultPhoto(u.id, /^Upscale #4\n/, 'the upscale');
    const cases: [string, string, RegExp][] = [
      ['Vary (Strong)', 'VARIATION_STRONG', /^Vary \(Strong\)\n/],
      ['Zoom Out 2x', 'ZOOMOUT', /^Zoom Out\n/],
      ['Make Square', 'MAKE_SQUARE', /^Make Square\n/],
      ['⬅️', 'PANLEFT', /^Pan Left\n/],
      ['Upscale (Subtle)', 'UPSCALE_V6_2X_SUBTLE', /^Upscale \(Subtle\)\n/],
    ];
    for (const [label, action, caption] of cases) {
      // One at a time, so the user stays under the per-user limit.
      await press(u, photo, label);
      const t = await childOf(up, action);
      const done = await h.waitTask(t.id);
      assert.equal(done.status, 'FINISHED', `${action}: ${done.failReason}`);
      await resultPhoto(u.id, caption, `the ${action} result`);
    }
  });

  test('Custom Zoom asks with ForceReply; the reply starts ZOOMOUT_CUSTOM with --zoom', async () => {
    const u = newUser();
    const { task, msg } = await grid(u, 'zoom fox');
    await press(u, msg, 'U1');
    const up = await childOf(task, 'UPSCALE');
    const photo = await resultPhoto(u.id, /^Upscale #1\n/, 'the upscale');
    await press(u, photo, 'Custom Zoom');
    const ask = await shown(u.id, /Custom Zoom: reply with a zoom between 1 and 2/);
    assert.equal(ask.reply_markup?.force_reply, true);
    h.tg.sendText({ from: u, text: '5 way out', replyTo: ask.message_id });
    await shown(u.id, /Please reply with a zoom between 1 and 2/);
    h.tg.sendText({ from: u, text: '1.5 a castle at dusk', replyTo: ask.message_id });
    const zoom = await childOf(up, 'ZOOMOUT_CUSTOM');
    assert.equal(zoom.prompt, 'a castle at dusk --zoom 1.5');
    const zoomed = await h.waitTask(zoom.id);
    assert.equal(zoomed.status, 'FINISHED', zoomed.failReason ?? '');
    await resultPhoto(u.id, /^Custom Zoom\na castle at dusk --zoom 1\.5$/, 'the custom zoom');
    h.tg.sendText({ from: u, text: '2', replyTo: ask.message_id });
    const again = await h.task(
      (t) => t.action === 'ZOOMOUT_CUSTOM' && t.params.parentId === up.id && t.id !== zoom.id,
      'second zoom',
    );
    assert.equal(again.prompt, 'zoom fox --zoom 2', 'the parent prompt is kept when none is given');
    assert.equal((await h.waitTask(again.id)).status, 'FINISHED');
  });

  test('describe: the four prompts with buttons 1–4; a number imagines that prompt', async () => {
    const u = newUser();
    h.tg.sendPhoto({ from: u, bytes: png('to describe', 32, 32), caption: '/describe' });
    const text = await shown(u.id, /Prompts for your image/);
    const fromUser = (id: string) => {
      const origin = h.engine.originOf(id);
      return origin?.kind === 'telegram' && origin.chatId === u.id;
    };
    const d = await h.task((t) => t.action === 'DESCRIBE' && fromUser(t.id), 'the describe');
    assert.equal(d.status, 'FINISHED');
    assert.equal(d.prompts.length, 4);
    for (const p of d.prompts) assert.ok(text.text?.includes(p), p);
    assert.deepEqual(
      keyboardOf(text).map((r) => r.map(([t]) => t)),
      [['1️⃣', '2️⃣', '3️⃣', '4️⃣']],
    );
    await press(u, text, '2️⃣');
    const pick = await childOf(d, 'PIC_READER');
    assert.equal(pick.prompt, d.prompts[1]);
    assert.equal((await h.waitTask(pick.id)).status, 'FINISHED');
    await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => m.photo && m.caption === d.prompts[1]),
      10_000,
      'the picked prompt’s grid',
    );
  });

  test('/jobs lists unfinished jobs with state and queue position; /cancel stops the latest', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: '/jobs' });
    await shown(u.id, /You have no unfinished jobs/);
    // Jobs stop at 46 %; two slots of three are taken, so the user's second job waits.
    h.holdJobs(true, 46);
    try {
      await h.occupy(2);
      h.tg.sendText({ from: u, text: 'jobs one' });
      const one = await h.task((t) => t.prompt === 'jobs one', 'one');
      await h.waitTask(one.id, (t) => t.progress === '46%');
      h.tg.sendText({ from: u, text: 'jobs two' });
      const two = await h.task((t) => t.prompt === 'jobs two', 'two');
      assert.equal(two.status, 'PENDING');
      h.tg.sendText({ from: u, text: '/jobs' });
      const list = await shown(u.id, /Your unfinished jobs/);
      assert.match(list.text ?? '', /1\. Imagine: jobs one — generating 46%/);
      assert.match(list.text ?? '', /2\. Imagine: jobs two — queued, position 1/);
      h.tg.sendText({ from: u, text: '/cancel' });
      const cancelled = await h.waitTask(two.id);
      assert.equal(cancelled.status, 'FAILED');
      assert.equal(cancelled.failReason, 'cancelled');
      assert.equal((await h.engine.get(one.id))?.status, 'RUNNING');
      await shown(u.id, /jobs two\n❌ Cancelled\./);
    } finally {
      await h.settle();
    }
  });

  test('/cancel as a reply to a job’s status message, and the status message’s Cancel button', async () => {
    const u = newUser();
    // Both jobs run (at 15 %) and stay there.
    h.holdJobs(true, 15);
    try {
      h.tg.sendText({ from: u, text: 'cancel me by reply' });
      h.tg.sendText({ from: u, text: 'cancel me by button' });
      const a = await h.task((t) => t.prompt === 'cancel me by reply', 'a');
      const b = await h.task((t) => t.prompt === 'cancel me by button', 'b');
      await h.waitTask(a.id, (t) => t.progress === '15%');
      await h.waitTask(b.id, (t) => t.progress === '15%');
      const status = (prompt: string) =>
        h.tg.waitFor(
          () =>
            h.tg
              .botMessages(u.id)
              .find(
                (m) =>
                  (m.text ?? m.caption ?? '').startsWith(`🎨 Imagine: ${prompt}\n🖌 Generating… 15%`) &&
                  keyboardOf(m)[0]?.[0]?.[0] === '✖ Cancel',
              ),
          5000,
          `the status of ${prompt} at 15%`,
        );
      const statusA = await status('cancel me by reply');
      const statusB = await status('cancel me by button');
      h.tg.sendText({ from: u, text: '/cancel', replyTo: statusA.message_id });
      const doneA = await h.waitTask(a.id);
      assert.equal(doneA.failReason, 'cancelled');
      assert.equal((await h.engine.get(b.id))?.status, 'RUNNING');
      // Midjourney was told too: it stopped the job.
      const jobA = h.sandbox.bot.jobByHash(doneA.messageHash ?? '');
      await h.tg.waitFor(() => jobA?.state === 'cancelled', 3000, 'the sandbox job stopped');
      const q = await press(u, statusB, '✖ Cancel');
      assert.equal(h.tg.answers.get(q)?.text, 'Cancelling…');
      assert.equal((await h.waitTask(b.id)).failReason, 'cancelled');
      await shown(u.id, /cancel me by reply\n❌ Cancelled\./);
      await shown(u.id, /cancel me by button\n❌ Cancelled\./);
      h.tg.sendText({ from: u, text: '/cancel' });
      await shown(u.id, /no unfinished job to cancel/);
    } finally {
      await h.settle();
    }
  });

  test('in groups only the owner or an admin may press a job’s buttons', async () => {
    const owner = newUser();
    const other = newUser();
    const admin = h.tg.user(ADMIN);
    const g = h.tg.group(-9100);
    const { task, msg } = await grid(owner, 'group owned fox', g.id);
    const count = (await h.tasks()).length;
    const q = await press(other, msg, 'U1', g.id);
    assert.equal(h.tg.answers.get(q)?.text, 'Only the person who started this job can use its buttons.');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await h.tasks()).length, count, 'no job for a stranger’s press');
    await press(admin, msg, 'U2', g.id);
    const up = await childOf(task, 'UPSCALE');
    assert.equal(up.params.index, 2);
    assert.deepEqual(h.engine.originOf(up.id), {
      kind: 'telegram',
      chatId: g.id,
      userId: ADMIN,
      lang: 'en',
      replyTo: msg.message_id,
    });
    await resultPhoto(g.id, /^Upscale #2\n/, 'the admin’s upscale');
  });

  test('a stale button gets the toast "This button has expired" and nothing else', async () => {
    const u = newUser();
    const { msg } = await grid(u, 'stale fox');
    const count = (await h.tasks()).length;
    const sends = () => h.tg.calls.filter((c) => c.chatId === u.id && c.method.startsWith('send')).length;
    const sentBefore = sends();
    const q = h.tg.press({ from: u, messageId: msg.message_id, data: 'Zz9Zz9Zz9Zz9' });
    await h.tg.waitFor(() => h.tg.answers.get(q), 3000, 'answer');
    assert.equal(h.tg.answers.get(q)?.text, 'This button has expired');
    // A key whose task has expired from the store (here: a task that never was) is just as stale.
    const entry = (await h.kv.get(`cb:${buttonData(msg, 'U3')}`)) as Record<string, unknown>;
    assert.ok(entry);
    await h.kv.set('cb:Stale0Key001', { ...entry, taskId: '1700000000000000001' });
    const q2 = h.tg.press({ from: u, messageId: msg.message_id, data: 'Stale0Key001' });
    await h.tg.waitFor(() => h.tg.answers.get(q2), 3000, 'answer');
    assert.equal(h.tg.answers.get(q2)?.text, 'This button has expired');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await h.tasks()).length, count);
    assert.equal(sends(), sentBefore);
  });

  test('presses count against the per-user limit (an alert says so)', async () => {
    const u = newUser();
    const { task, msg } = await grid(u, 'limit fox');
    h.holdJobs(true);
    try {
      for (const label of ['U1', 'U2', 'U3']) await press(u, msg, label);
      for (const index of [1, 2, 3])
        await h.task((t) => t.params.parentId === task.id && t.params.index === index, `upscale ${index}`);
      const q = await press(u, msg, 'U4');
      assert.match(h.tg.answers.get(q)?.text ?? '', /limit of unfinished jobs \(3\)/);
      assert.equal(h.tg.answers.get(q)?.show_alert, true);
    } finally {
      await h.settle();
    }
  });
});
