import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ActionInput } from '../../src/engine/api.ts';
import type { Task } from '../../src/engine/task.ts';
import type { FakeMessage, FakeUser } from '../fakes/telegram-api.ts';
import { buttonData, type Harness, keyboardOf, startHarness } from './helpers.ts';

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

  const tasks = () => [...h.engine.tasks.values()];
  const taskWhere = (pred: (t: Task) => boolean, what: string) =>
    h.tg.waitFor(() => tasks().find(pred), 3000, what);
  const shown = (chatId: number, re: RegExp) =>
    h.tg.waitFor(
      () => h.tg.botMessages(chatId).find((m) => re.test(m.text ?? m.caption ?? '')),
      3000,
      `message ${re}`,
    );

  /** A finished grid in a chat: the task and its photo message. */
  async function grid(
    from: FakeUser,
    prompt: string,
    chatId = from.id,
  ): Promise<{ task: Task; msg: FakeMessage }> {
    h.tg.sendText({ chatId, from, text: chatId === from.id ? prompt : `/imagine ${prompt}` });
    const task = await taskWhere((t) => t.prompt === prompt, prompt);
    h.engine.finish(task.id);
    const msg = await h.tg.waitFor(
      () => h.tg.botMessages(chatId).find((m) => m.photo && m.caption === prompt),
      3000,
      'grid',
    );
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
    const q = await press(u, msg, 'U1');
    assert.equal(h.tg.answers.get(q)?.text, 'Working on it…');
    const up = await taskWhere((t) => t.action === 'UPSCALE' && t.params.parentId === task.id, 'upscale');
    assert.deepEqual(h.engine.origins.get(up.id), { kind: 'telegram', chatId: u.id, userId: u.id });
    const status = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => /Upscale #1/.test(m.text ?? '')),
      3000,
      'status',
    );
    assert.equal(status.reply_to, msg.message_id, 'the new job answers the grid it came from');
    await press(u, msg, 'V2');
    await taskWhere((t) => t.action === 'VARIATION' && t.params.index === 2, 'variation');
    await press(u, msg, '🔄');
    await taskWhere((t) => t.action === 'REROLL' && t.params.parentId === task.id, 'reroll');
    const answerCall = h.tg.callsOf('answerCallbackQuery').find((c) => c.params.callback_query_id === q);
    const actionCall = h.engine.created.find(
      (c) => c.method === 'action' && (c.input as ActionInput).customId.includes('upsample::1'),
    );
    assert.ok(answerCall && actionCall);
    assert.ok(answerCall.at <= actionCall.at, 'the press is answered before the job starts');
  });

  test('an upscale’s buttons: vary, zoom out, make square, pan and the v6 upscales', async () => {
    const u = newUser();
    const { task, msg } = await grid(u, 'single fox');
    await press(u, msg, 'U4');
    const up = await taskWhere((t) => t.action === 'UPSCALE' && t.params.parentId === task.id, 'upscale');
    h.engine.finish(up.id);
    const photo = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => m.photo && /Upscale #4/.test(m.caption ?? '')),
      3000,
      'upscale',
    );
    const cases: [string, string][] = [
      ['Vary (Strong)', 'VARIATION_STRONG'],
      ['Zoom Out 2x', 'ZOOMOUT'],
      ['Make Square', 'MAKE_SQUARE'],
      ['⬅️', 'PANLEFT'],
      ['Upscale (Subtle)', 'UPSCALE_V6_2X_SUBTLE'],
    ];
    const v = u;
    for (const [label, action] of cases) {
      // Keep under the per-user limit: finish what each press started.
      await press(v, photo, label);
      const t = await taskWhere((x) => x.action === action && x.params.parentId === up.id, action);
      h.engine.finish(t.id);
    }
  });

  test('Custom Zoom asks with ForceReply; the reply starts ZOOMOUT_CUSTOM with --zoom', async () => {
    const u = newUser();
    const { task, msg } = await grid(u, 'zoom fox');
    await press(u, msg, 'U1');
    const up = await taskWhere((t) => t.action === 'UPSCALE' && t.params.parentId === task.id, 'upscale');
    h.engine.finish(up.id);
    const photo = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => m.photo && /Upscale #1/.test(m.caption ?? '')),
      3000,
      'upscale',
    );
    await press(u, photo, 'Custom Zoom');
    const ask = await shown(u.id, /Custom Zoom: reply with a zoom between 1 and 2/);
    assert.equal(ask.reply_markup?.force_reply, true);
    h.tg.sendText({ from: u, text: '5 way out', replyTo: ask.message_id });
    await shown(u.id, /Please reply with a zoom between 1 and 2/);
    h.tg.sendText({ from: u, text: '1.5 a castle at dusk', replyTo: ask.message_id });
    const zoom = await taskWhere((t) => t.action === 'ZOOMOUT_CUSTOM', 'custom zoom');
    assert.equal(zoom.prompt, 'a castle at dusk --zoom 1.5');
    assert.equal(zoom.params.parentId, up.id);
    h.engine.finish(zoom.id);
    h.tg.sendText({ from: u, text: '2', replyTo: ask.message_id });
    const again = await taskWhere((t) => t.action === 'ZOOMOUT_CUSTOM' && t.id !== zoom.id, 'second zoom');
    assert.equal(again.prompt, 'zoom fox --zoom 2', 'the parent prompt is kept when none is given');
  });

  test('describe: the four prompts with buttons 1–4; a number imagines that prompt', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'describe fox' });
    const first = await taskWhere((t) => t.prompt === 'describe fox', 'imagine');
    h.engine.finish(first.id);
    await h.tg.waitFor(() => h.tg.botMessages(u.id).find((m) => m.photo), 3000, 'grid');
    // A describe started from a photo; the engine answers with four prompts.
    const d = await h.engine.describe({
      image: 'data:image/png;base64,AA==',
      origin: { kind: 'telegram', chatId: u.id, userId: u.id },
    });
    h.engine.finish(d.id);
    const text = await shown(u.id, /Prompts for your image/);
    for (let i = 1; i <= 4; i++)
      assert.match(text.text ?? '', new RegExp(`described prompt ${i} of ${d.id}`));
    assert.deepEqual(
      keyboardOf(text).map((r) => r.map(([t]) => t)),
      [['1️⃣', '2️⃣', '3️⃣', '4️⃣']],
    );
    await press(u, text, '2️⃣');
    const pick = await taskWhere(
      (t) => t.action === 'PIC_READER' && t.params.parentId === d.id,
      'pic reader',
    );
    assert.equal(pick.prompt, `described prompt 2 of ${d.id} --ar 1:1`);
  });

  test('/jobs lists unfinished jobs with state and queue position; /cancel stops the latest', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: '/jobs' });
    await shown(u.id, /You have no unfinished jobs/);
    h.tg.sendText({ from: u, text: 'jobs one' });
    const one = await taskWhere((t) => t.prompt === 'jobs one', 'one');
    h.tg.sendText({ from: u, text: 'jobs two' });
    const two = await taskWhere((t) => t.prompt === 'jobs two', 'two');
    h.engine.update(one.id, { status: 'RUNNING', progress: '46%' });
    await new Promise((r) => setTimeout(r, 50));
    h.tg.sendText({ from: u, text: '/jobs' });
    const list = await shown(u.id, /Your unfinished jobs/);
    assert.match(list.text ?? '', /1\. Imagine: jobs one — generating 46%/);
    assert.match(list.text ?? '', /2\. Imagine: jobs two — queued, position \d+/);
    h.tg.sendText({ from: u, text: '/cancel' });
    await h.tg.waitFor(() => h.engine.tasks.get(two.id)?.status === 'FAILED', 3000, 'latest cancelled');
    assert.equal(h.engine.tasks.get(two.id)?.failReason, 'cancelled');
    assert.equal(h.engine.tasks.get(one.id)?.status, 'RUNNING');
    await shown(u.id, /jobs two\n❌ Cancelled\./);
  });

  test('/cancel as a reply to a job’s status message, and the status message’s Cancel button', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'cancel me by reply' });
    h.tg.sendText({ from: u, text: 'cancel me by button' });
    const a = await taskWhere((t) => t.prompt === 'cancel me by reply', 'a');
    const b = await taskWhere((t) => t.prompt === 'cancel me by button', 'b');
    const statusA = await shown(u.id, /cancel me by reply\n⏳/);
    const statusB = await shown(u.id, /cancel me by button\n⏳/);
    h.tg.sendText({ from: u, text: '/cancel', replyTo: statusA.message_id });
    await h.tg.waitFor(() => h.engine.tasks.get(a.id)?.status === 'FAILED', 3000, 'a cancelled');
    assert.equal(h.engine.tasks.get(b.id)?.status, 'PENDING');
    const q = await press(u, statusB, '✖ Cancel');
    assert.equal(h.tg.answers.get(q)?.text, 'Cancelling…');
    await h.tg.waitFor(() => h.engine.tasks.get(b.id)?.status === 'FAILED', 3000, 'b cancelled');
    h.tg.sendText({ from: u, text: '/cancel' });
    await shown(u.id, /no unfinished job to cancel/);
  });

  test('in groups only the owner or an admin may press a job’s buttons', async () => {
    const owner = newUser();
    const other = newUser();
    const admin = h.tg.user(ADMIN);
    const g = h.tg.group(-9100);
    const { task, msg } = await grid(owner, 'group owned fox', g.id);
    const before = h.engine.created.length;
    const q = await press(other, msg, 'U1', g.id);
    assert.equal(h.tg.answers.get(q)?.text, 'Only the person who started this job can use its buttons.');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.engine.created.length, before, 'no job for a stranger’s press');
    await press(admin, msg, 'U2', g.id);
    const up = await taskWhere(
      (t) => t.action === 'UPSCALE' && t.params.parentId === task.id,
      'admin upscale',
    );
    assert.deepEqual(h.engine.origins.get(up.id), { kind: 'telegram', chatId: g.id, userId: ADMIN });
  });

  test('a stale button gets the toast "This button has expired" and nothing else', async () => {
    const u = newUser();
    const { msg } = await grid(u, 'stale fox');
    const before = h.engine.created.length;
    const sends = () => h.tg.calls.filter((c) => c.chatId === u.id && c.method.startsWith('send')).length;
    const sentBefore = sends();
    const q = h.tg.press({ from: u, messageId: msg.message_id, data: 'Zz9Zz9Zz9Zz9' });
    await h.tg.waitFor(() => h.tg.answers.get(q), 3000, 'answer');
    assert.equal(h.tg.answers.get(q)?.text, 'This button has expired');
    // A key whose task is gone from the engine is just as stale.
    const data = buttonData(msg, 'U3');
    const entry = h.kv.data.get(`cb:${data}`) as { taskId: string };
    h.engine.tasks.delete(entry.taskId);
    const q2 = h.tg.press({ from: u, messageId: msg.message_id, data });
    await h.tg.waitFor(() => h.tg.answers.get(q2), 3000, 'answer');
    assert.equal(h.tg.answers.get(q2)?.text, 'This button has expired');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.engine.created.length, before);
    assert.equal(sends(), sentBefore);
  });

  test('presses count against the per-user limit (an alert says so)', async () => {
    const u = newUser();
    const { msg } = await grid(u, 'limit fox');
    for (const label of ['U1', 'U2', 'U3']) await press(u, msg, label);
    const q = await press(u, msg, 'U4');
    assert.match(h.tg.answers.get(q)?.text ?? '', /You already have 3 unfinished jobs/);
    assert.equal(h.tg.answers.get(q)?.show_alert, true);
  });
});
