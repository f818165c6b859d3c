import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BlendInput, DescribeInput, ImagineInput } from '../../src/engine/api.ts';
import { type Harness, png, startHarness } from './helpers.ts';

/** SPEC §7.1, §7.5, §7.6: what a user sends and what job (or friendly answer) comes of it. */
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

  const created = async (n: number) => {
    await h.tg.waitFor(() => h.engine.created.length >= n, 3000, `${n} engine calls`);
    const call = h.engine.created[n - 1];
    assert.ok(call);
    return call;
  };
  const botText = (chatId: number, re: RegExp) =>
    h.tg.waitFor(
      () => h.tg.botMessages(chatId).find((m) => re.test(m.text ?? m.caption ?? '')),
      3000,
      `bot says ${re}`,
    );

  test('commands are registered at start; /start and /help answer with the guide', async () => {
    const names = (h.tg.commands as { command: string }[]).map((c) => c.command);
    assert.deepEqual(names.sort(), ['blend', 'cancel', 'describe', 'help', 'imagine', 'jobs']);
    const u = newUser();
    h.tg.sendText({ from: u, text: '/start' });
    await botText(u.id, /I draw pictures with Midjourney/);
    h.tg.sendText({ from: u, text: '/help' });
    await h.tg.waitFor(() => h.tg.botMessages(u.id).length === 2, 3000, 'second guide');
  });

  test('a text in a private chat imagines it, with a status message replying to the prompt', async () => {
    const u = newUser();
    const before = h.engine.created.length;
    const prompt = h.tg.sendText({ from: u, text: 'a red fox in the snow —ar 16:9' });
    const call = await created(before + 1);
    assert.equal(call.method, 'imagine');
    const input = call.input as ImagineInput;
    assert.equal(input.prompt, 'a red fox in the snow --ar 16:9');
    assert.deepEqual(input.origin, { kind: 'telegram', chatId: u.id, userId: u.id });
    const status = await botText(u.id, /Queued — position \d/);
    assert.equal(status.reply_to, prompt.message_id);
    assert.match(status.text ?? '', /a red fox in the snow/);
  });

  test('/imagine <prompt> works the same; /imagine alone asks for a prompt', async () => {
    const u = newUser();
    const before = h.engine.created.length;
    h.tg.sendText({ from: u, text: '/imagine a lighthouse' });
    assert.equal(((await created(before + 1)).input as ImagineInput).prompt, 'a lighthouse');
    h.tg.sendText({ from: u, text: '/imagine' });
    await botText(u.id, /Please add a prompt/);
  });

  test('a photo with a caption is an image prompt; the photo reaches the engine as a data URI', async () => {
    const u = newUser();
    const bytes = png('user photo', 20, 20);
    const before = h.engine.created.length;
    h.tg.sendPhoto({ from: u, bytes, caption: 'in the style of this' });
    const input = (await created(before + 1)).input as ImagineInput;
    assert.equal(input.prompt, 'in the style of this');
    assert.equal(input.images?.length, 1);
    const uri = input.images?.[0] ?? '';
    assert.ok(uri.startsWith('data:image/png;base64,'), uri.slice(0, 40));
    assert.deepEqual(Buffer.from(uri.split(',')[1] ?? '', 'base64'), bytes);
    assert.ok(!uri.includes(h.tg.token), 'the bot token never reaches a task');
  });

  test('/imagine as a reply to a photo uses that photo', async () => {
    const u = newUser();
    const bytes = png('replied', 12, 12);
    const photo = h.tg.sendPhoto({ from: u, bytes });
    await botText(u.id, /Add a caption/);
    const before = h.engine.created.length;
    h.tg.sendText({ from: u, text: '/imagine make it blue', replyTo: photo.message_id });
    const input = (await created(before + 1)).input as ImagineInput;
    assert.equal(input.prompt, 'make it blue');
    assert.deepEqual(Buffer.from((input.images?.[0] ?? '').split(',')[1] ?? '', 'base64'), bytes);
  });

  test('a photo with the caption /describe, or /describe replying to a photo, describes it', async () => {
    const u = newUser();
    const before = h.engine.created.length;
    h.tg.sendPhoto({ from: u, bytes: png('d1'), caption: '/describe' });
    const first = await created(before + 1);
    assert.equal(first.method, 'describe');
    assert.ok((first.input as DescribeInput).image.startsWith('data:image/png;base64,'));
    const photo = h.tg.sendPhoto({ from: u, bytes: png('d2') });
    h.tg.sendText({ from: u, text: '/describe', replyTo: photo.message_id });
    await h.tg.waitFor(
      () => h.engine.created.slice(before).filter((c) => c.method === 'describe').length === 2,
      3000,
      'two describes',
    );
    const v = newUser();
    h.tg.sendText({ from: v, text: '/describe' });
    await botText(v.id, /Send a photo with the caption \/describe/);
  });

  test('an album of 2–5 photos with /blend portrait blends them; other sizes are refused', async () => {
    const u = newUser();
    const before = h.engine.created.length;
    h.tg.sendAlbum({ from: u, images: [png('b1'), png('b2'), png('b3')], caption: '/blend portrait' });
    const call = await created(before + 1);
    assert.equal(call.method, 'blend');
    const input = call.input as BlendInput;
    assert.equal(input.images.length, 3);
    assert.equal(input.dimensions, 'PORTRAIT');
    assert.ok(input.images.every((i) => i.startsWith('data:image/png;base64,')));
    await botText(u.id, /Blend of 3 images/);
    const v = newUser();
    h.tg.sendAlbum({ from: v, images: Array.from({ length: 6 }, (_, i) => png(`x${i}`)), caption: '/blend' });
    await botText(v.id, /Blend needs an album of 2 to 5 photos/);
    h.tg.sendPhoto({ from: v, bytes: png('single'), caption: '/blend' });
    await botText(v.id, /not a single photo/);
    assert.equal(h.engine.created.length, before + 1, 'no job for refused blends');
  });

  test('in groups only commands and replies to the bot count', async () => {
    const u = newUser();
    const group = h.tg.group(-5001);
    const before = h.engine.created.length;
    h.tg.sendText({ chatId: group.id, from: u, text: 'just chatting about foxes' });
    h.tg.sendPhoto({ chatId: group.id, from: u, bytes: png('g'), caption: 'holiday photo' });
    h.tg.sendText({ chatId: group.id, from: u, text: '/imagine@someone_elses_bot a fox' });
    h.tg.sendText({ chatId: group.id, from: u, text: '/imagine@mj_bridge_bot a group fox' });
    const call = await created(before + 1);
    assert.equal((call.input as ImagineInput).prompt, 'a group fox');
    assert.deepEqual((call.input as ImagineInput).origin, {
      kind: 'telegram',
      chatId: group.id,
      userId: u.id,
    });
    const status = await botText(group.id, /Queued/);
    h.tg.sendText({ chatId: group.id, from: u, text: 'and a second one', replyTo: status.message_id });
    assert.equal(((await created(before + 2)).input as ImagineInput).prompt, 'and a second one');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(h.engine.created.length, before + 2, 'group chatter and other bots’ commands start nothing');
  });

  test('banned words, a full queue and no account get friendly messages, not jobs', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'a nude statue' });
    const msg = await botText(u.id, /banned word “nude”/);
    assert.doesNotMatch(msg.text ?? '', /Error|at .*\.ts/);
    h.engine.maxQueue = 0;
    h.tg.sendText({ from: u, text: 'a busy sea' });
    await botText(u.id, /queue is full/);
    h.engine.maxQueue = 100;
    h.engine.noAccount = true;
    h.tg.sendText({ from: u, text: 'a calm sea' });
    await botText(u.id, /No Midjourney account is available/);
    h.engine.noAccount = false;
    assert.ok(
      ![...h.engine.tasks.values()].some((t) => t.prompt === 'a nude statue' || t.prompt === 'a calm sea'),
    );
  });

  test('at most maxJobsPerUser unfinished jobs per user', async () => {
    const u = newUser();
    const before = h.engine.created.length;
    h.tg.sendText({ from: u, text: 'job one' });
    await created(before + 1);
    h.tg.sendText({ from: u, text: 'job two' });
    await created(before + 2);
    h.tg.sendText({ from: u, text: 'job three' });
    await botText(u.id, /You already have 2 unfinished jobs/);
    assert.equal(h.engine.created.length, before + 2);
    // Once one finishes, there is room again.
    const mine = [...h.engine.tasks.values()].filter((t) => t.prompt === 'job one');
    h.engine.finish(mine[0]?.id ?? '');
    await h.tg.waitFor(() => h.tg.botMessages(u.id).some((m) => m.photo), 3000, 'result photo');
    h.tg.sendText({ from: u, text: 'job three again' });
    assert.equal(((await created(before + 3)).input as ImagineInput).prompt, 'job three again');
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
    await h.tg.waitFor(() => h.engine.created.length === 2, 3000, 'two jobs');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.tg.botMessages(66).length, 1, 'only one refusal');
    assert.deepEqual(h.engine.created.map((c) => (c.input as ImagineInput).prompt).sort(), [
      'alice fox',
      'id fox',
    ]);
  });
});
