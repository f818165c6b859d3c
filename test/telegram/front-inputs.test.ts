import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { replaceCdn } from '../../src/engine/cdn.ts';
import type { Task } from '../../src/engine/task.ts';
import type { FakeMessage } from '../fakes/telegram-api.ts';
import { type Harness, png, startHarness } from './helpers.ts';

/** SPEC §7.1, §7.5, §7.6: what a user sends and what job (or friendly answer) comes of it. */

/** A message the bot sent in a chat (also one removed since, like a finished job's status). */
function said(h: Harness, chatId: number, re: RegExp, what = `the bot says ${re}`): Promise<FakeMessage> {
  return h.tg.waitFor(
    () => h.tg.messages(chatId).find((m) => m.fromBot && re.test(m.text ?? m.caption ?? '')),
    10_000,
    what,
  );
}

/** The bytes Midjourney was given for an image prompt: the upload the engine put before the prompt. */
async function uploadedImage(h: Harness, task: Task): Promise<Buffer> {
  const url = /^(https?:\/\/\S+)\s/.exec(task.prompt)?.[1];
  assert.ok(url, `no uploaded image in the prompt: ${task.prompt}`);
  const res = await fetch(replaceCdn(url, h.sandbox.proxy.cdn));
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

describe('Telegram front: starting work', () => {
  let h: Harness;
  let nextUser = 1000;
  const newUser = (opts: { username?: string } = {}) => h.tg.user(nextUser++, opts);

  before(async () => {
    h = await startHarness({ telegram: { maxJobsPerUser: 2, admins: [999] } });
  });
  after(async () => {
    await h.close();
  });

  const taskCount = async () => (await h.tasks()).length;

  test('commands are registered at start; /start and /help answer with the guide', async () => {
    const names = (h.tg.commands as { command: string }[]).map((c) => c.command);
    assert.deepEqual(names.sort(), [
      'blend',
      'cancel',
      'describe',
      'help',
      'history',
      'imagine',
      'jobs',
      'language',
      'seed',
      'settings',
      'shorten',
    ]);
    const u = newUser();
    h.tg.sendText({ from: u, text: '/start' });
    await said(h, u.id, /I draw pictures with Midjourney/);
    h.tg.sendText({ from: u, text: '/help' });
    await h.tg.waitFor(() => h.tg.botMessages(u.id).length === 2, 3000, 'second guide');
  });

  test('a text in a private chat imagines it, with a status message replying to the prompt', async () => {
    const u = newUser();
    const prompt = h.tg.sendText({ from: u, text: 'a red fox in the snow —ar 16:9' });
    const task = await h.task((t) => t.prompt === 'a red fox in the snow --ar 16:9', 'the imagine');
    assert.equal(task.action, 'IMAGINE');
    assert.deepEqual(h.engine.originOf(task.id), {
      kind: 'telegram',
      chatId: u.id,
      userId: u.id,
      lang: 'en',
      replyTo: prompt.message_id,
    });
    const status = await said(
      h,
      u.id,
      /^🎨 Imagine: a red fox in the snow --ar 16:9\n/,
      'the status message',
    );
    assert.equal(status.reply_to, prompt.message_id);
    const grid = await said(h, u.id, /^a red fox in the snow --ar 16:9$/, 'the grid');
    assert.ok(grid.photo);
  });

  test('/imagine <prompt> works the same; /imagine alone asks for a prompt', async () => {
    const u = newUser();
    const asked = h.tg.sendText({ from: u, text: '/imagine a lighthouse' });
    const task = await h.task((t) => t.prompt === 'a lighthouse', 'the imagine');
    assert.deepEqual(h.engine.originOf(task.id), {
      kind: 'telegram',
      chatId: u.id,
      userId: u.id,
      lang: 'en',
      replyTo: asked.message_id,
    });
    h.tg.sendText({ from: u, text: '/imagine' });
    await said(h, u.id, /Please add a prompt/);
  });

  test('a photo with a caption is an image prompt: Midjourney gets the very photo, never the token', async () => {
    const u = newUser();
    const bytes = png('user photo', 20, 20);
    h.tg.sendPhoto({ from: u, bytes, caption: 'in the style of this' });
    const created = await h.task((t) => t.prompt.endsWith('in the style of this'), 'the image prompt');
    assert.equal(created.action, 'IMAGINE');
    assert.deepEqual(created.images, [`data:image/png;${bytes.length} bytes`]);
    const task = await h.waitTask(created.id);
    assert.equal(task.status, 'FINISHED', task.failReason ?? '');
    assert.deepEqual(await uploadedImage(h, task), bytes);
    assert.ok(!JSON.stringify(task).includes(h.tg.token), 'the bot token never reaches a task');
    await said(h, u.id, /^in the style of this$/, 'the grid, captioned without the upload URL');
  });

  test('/imagine as a reply to a photo uses that photo', async () => {
    const u = newUser();
    const bytes = png('replied', 12, 12);
    const photo = h.tg.sendPhoto({ from: u, bytes });
    await said(h, u.id, /Add a caption/);
    h.tg.sendText({ from: u, text: '/imagine make it blue', replyTo: photo.message_id });
    const created = await h.task((t) => t.prompt.endsWith('make it blue'), 'the image prompt');
    const task = await h.waitTask(created.id);
    assert.equal(task.status, 'FINISHED', task.failReason ?? '');
    assert.match(task.prompt, /^\S+ make it blue$/);
    assert.deepEqual(await uploadedImage(h, task), bytes);
  });

  test('a photo with the caption /describe, or /describe replying to a photo, describes it', async () => {
    const u = newUser();
    const first = png('d1');
    h.tg.sendPhoto({ from: u, bytes: first, caption: '/describe' });
    const d1 = await h.task(
      (t) => t.action === 'DESCRIBE' && h.engine.originOf(t.id)?.kind === 'telegram',
      'describe',
    );
    assert.deepEqual(d1.images, [`data:image/png;${first.length} bytes`]);
    const second = png('d2', 24, 24);
    const photo = h.tg.sendPhoto({ from: u, bytes: second });
    h.tg.sendText({ from: u, text: '/describe', replyTo: photo.message_id });
    const d2 = await h.task((t) => t.action === 'DESCRIBE' && t.id !== d1.id, 'second describe');
    assert.deepEqual(d2.images, [`data:image/png;${second.length} bytes`]);
    // Midjourney described the very photo: the describe result shows the image it was given.
    const done = await h.waitTask(d2.id);
    assert.equal(done.status, 'FINISHED', done.failReason ?? '');
    assert.ok(done.imageUrl);
    assert.deepEqual(Buffer.from(await (await fetch(done.imageUrl)).arrayBuffer()), second);
    const v = newUser();
    h.tg.sendText({ from: v, text: '/describe' });
    await said(h, v.id, /Send a photo with the caption \/describe/);
  });

  test('an album of 2–5 photos with /blend portrait blends them; other sizes are refused', async () => {
    const u = newUser();
    const images = [png('b1'), png('b2'), png('b3')];
    const album = h.tg.sendAlbum({ from: u, images, caption: '/blend portrait' });
    const blend = await h.task((t) => t.action === 'BLEND', 'the blend');
    assert.deepEqual(
      blend.images,
      images.map((b) => `data:image/png;${b.length} bytes`),
    );
    assert.equal(blend.params.dimensions, 'PORTRAIT');
    assert.deepEqual(h.engine.originOf(blend.id), {
      kind: 'telegram',
      chatId: u.id,
      userId: u.id,
      lang: 'en',
      // The album's captioned photo is the request the job answers.
      replyTo: album.find((m) => m.caption)?.message_id,
    });
    await said(h, u.id, /Blend of 3 images/);
    const count = await taskCount();
    const v = newUser();
    h.tg.sendAlbum({ from: v, images: Array.from({ length: 6 }, (_, i) => png(`x${i}`)), caption: '/blend' });
    await said(h, v.id, /Blend needs an album of 2 to 5 photos/);
    h.tg.sendPhoto({ from: v, bytes: png('single'), caption: '/blend' });
    await said(h, v.id, /not a single photo/);
    assert.equal(await taskCount(), count, 'no job for refused blends');
    assert.equal((await h.waitTask(blend.id)).status, 'FINISHED');
  });

  test('in groups only commands and replies to the bot count', async () => {
    const u = newUser();
    const group = h.tg.group(-5001);
    const count = await taskCount();
    h.tg.sendText({ chatId: group.id, from: u, text: 'just chatting about foxes' });
    h.tg.sendPhoto({ chatId: group.id, from: u, bytes: png('g'), caption: 'holiday photo' });
    h.tg.sendText({ chatId: group.id, from: u, text: '/imagine@someone_elses_bot a fox' });
    const asked = h.tg.sendText({ chatId: group.id, from: u, text: '/imagine@mj_bridge_bot a group fox' });
    const task = await h.task((t) => t.prompt === 'a group fox', 'the group imagine');
    assert.deepEqual(h.engine.originOf(task.id), {
      kind: 'telegram',
      chatId: group.id,
      userId: u.id,
      lang: 'en',
      replyTo: asked.message_id,
    });
    assert.equal(await taskCount(), count + 1);
    const grid = await said(h, group.id, /^a group fox$/, 'the grid in the group');
    h.tg.sendText({ chatId: group.id, from: u, text: 'and a second one', replyTo: grid.message_id });
    await h.task((t) => t.prompt === 'and a second one', 'the imagine replying to the bot');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(await taskCount(), count + 2, 'group chatter and other bots’ commands start nothing');
  });

  test('at most maxJobsPerUser unfinished jobs per user', async () => {
    const u = newUser();
    h.holdJobs(true);
    try {
      h.tg.sendText({ from: u, text: 'job one' });
      await h.task((t) => t.prompt === 'job one', 'job one');
      h.tg.sendText({ from: u, text: 'job two' });
      await h.task((t) => t.prompt === 'job two', 'job two');
      const count = await taskCount();
      h.tg.sendText({ from: u, text: 'job three' });
      await said(h, u.id, /limit of unfinished jobs \(2\)/);
      assert.equal(await taskCount(), count);
      // Once one finishes, there is room again.
      h.holdJobs(false);
      await said(h, u.id, /^job (one|two)$/, 'a result');
      h.tg.sendText({ from: u, text: 'job three again' });
      await h.task((t) => t.prompt === 'job three again', 'job three again');
    } finally {
      await h.settle();
    }
  });
});

describe('Telegram front: refusals', () => {
  test('banned words, a full queue and no account get friendly messages, not jobs', async () => {
    const h = await startHarness({ settings: { maxQueue: 1 } });
    try {
      const u = h.tg.user(1500);
      h.tg.sendText({ from: u, text: 'a nude statue' });
      const msg = await said(h, u.id, /banned word “nude”/);
      assert.doesNotMatch(msg.text ?? '', /Error|at .*\.ts/);
      // Three jobs run, one waits: the queue (maxQueue 1) is full.
      h.holdJobs(true);
      await h.occupy(3);
      await h.svc.submit('/image/imagine', { prompt: 'waiting filler' });
      h.tg.sendText({ from: u, text: 'a busy sea' });
      await said(h, u.id, /queue is full/);
      await h.settle();
      // The only account's token is refused: no account left.
      h.sandbox.discord.faults.closeWith(4004);
      await h.tg.waitFor(() => h.engine.health().status === 'degraded', 5000, 'the account disabled');
      h.tg.sendText({ from: u, text: 'a calm sea' });
      await said(h, u.id, /No Midjourney account is available/);
      const prompts = (await h.tasks()).map((t) => t.prompt);
      for (const p of ['a nude statue', 'a busy sea', 'a calm sea']) assert.ok(!prompts.includes(p), p);
    } finally {
      await h.close();
    }
  });
});

describe('Telegram front: allowed users', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ telegram: { allowedUsers: ['@alice', 77] } });
  });
  after(async () => {
    await h.close();
  });

  test('a stranger gets one polite refusal and no job; listed users (by @name or id) work', async () => {
    const stranger = h.tg.user(66, { username: 'mallory' });
    h.tg.sendText({ from: stranger, text: 'a fox' });
    await h.tg.waitFor(() => h.tg.botMessages(66).length === 1, 3000, 'refusal');
    assert.match(h.tg.botMessages(66)[0]?.text ?? '', /not on its list of users/);
    h.tg.sendText({ from: stranger, text: 'please?' });
    h.tg.sendText({ from: stranger, text: '/imagine a fox' });
    const alice = h.tg.user(55, { username: 'Alice' });
    const byId = h.tg.user(77);
    h.tg.sendText({ from: alice, text: 'alice fox' });
    h.tg.sendText({ from: byId, text: 'id fox' });
    await h.tg.waitFor(() => h.created().length === 2, 3000, 'two jobs');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.tg.botMessages(66).length, 1, 'only one refusal');
    assert.deepEqual(
      h
        .created()
        .map((c) => c.task.prompt)
        .sort(),
      ['alice fox', 'id fox'],
    );
  });
});
