import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FakeMessage, FakeUser } from '../fakes/telegram-api.ts';
import { buttonData, type Harness, keyboardOf, startHarness } from './helpers.ts';

/** SPEC §14 in Telegram: Animate → video messages with buttons, /shorten with picks, /seed. */

async function press(h: Harness, from: FakeUser, m: FakeMessage, text: string): Promise<void> {
  const id = h.tg.press({ from, chatId: m.chatId, messageId: m.message_id, data: buttonData(m, text) });
  await h.tg.waitFor(() => h.tg.answers.get(id), 5000, `answer to ${text}`);
}

describe('Telegram front: video, shorten, seed', () => {
  let h: Harness;
  let nextUser = 5000;
  const newUser = () => h.tg.user(nextUser++);
  const result = (chatId: number, pred: (m: FakeMessage) => boolean, what: string) =>
    h.tg.waitFor(
      () => h.tg.botMessages(chatId).find((m) => pred(m) && keyboardOf(m)[0]?.[0]?.[0] !== '✖ Cancel'),
      20_000,
      what,
    );

  before(async () => {
    h = await startHarness({ speed: 300 });
  });
  after(async () => {
    await h.close();
  });

  test('an upscale offers Animate; pressing it sends the videos with sendVideo and the pick buttons', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'a paper boat on a pond' });
    const grid = await result(u.id, (m) => !!m.photo && m.caption === 'a paper boat on a pond', 'the grid');
    await press(h, u, grid, 'U1');
    const up = await result(u.id, (m) => !!m.photo && /^Upscale #1\n/.test(m.caption ?? ''), 'the upscale');
    const labels = keyboardOf(up)
      .flat()
      .map(([t]) => t);
    assert.ok(
      labels.some((l) => l.endsWith('Animate (High motion)')),
      labels.join(', '),
    );
    assert.ok(
      labels.some((l) => l.endsWith('Animate (Low motion)')),
      labels.join(', '),
    );
    await press(h, u, up, 'Animate (High motion)');
    const video = await h.task((t) => t.action === 'VIDEO', 'the video task');
    const done = await h.waitTask(video.id, undefined, 30_000);
    assert.equal(done.status, 'FINISHED', done.failReason ?? '');
    const videos = await h.tg.waitFor(
      () => {
        const list = h.tg.botMessages(u.id).filter((m) => m.video);
        return list.length === done.videoUrls.length ? list : undefined;
      },
      20_000,
      'the video messages',
    );
    assert.ok(videos.length >= 1);
    const calls = h.tg.callsOf('sendVideo', u.id);
    assert.ok(calls.length >= videos.length && calls.every((c) => c.ok));
    const last = videos.at(-1);
    assert.match(last?.caption ?? '', /^Animate\n/);
    const picks = keyboardOf(last).flat();
    assert.ok(picks.length > 0, 'the last video carries the buttons');
    // The bytes Telegram got are the MP4 the engine reports.
    const mp4 = Buffer.from(await (await fetch(done.videoUrl ?? '')).arrayBuffer());
    assert.equal(mp4.subarray(4, 8).toString('latin1'), 'ftyp');
    assert.equal(videos[0]?.video?.size, mp4.length);
    // A pick button starts the next video job.
    if (done.videoUrls.length > 1) {
      const [text] = picks[1] ?? [];
      assert.ok(text);
      await press(h, u, last as FakeMessage, text);
      const picked = await h.task((t) => t.action === 'VIDEO_UPSCALE', 'the picked video');
      assert.equal((await h.waitTask(picked.id, undefined, 30_000)).status, 'FINISHED');
      await h.tg.waitFor(
        () => h.tg.botMessages(u.id).filter((m) => m.video).length > videos.length,
        20_000,
        'the picked video message',
      );
    }
  });

  test('a video Telegram refuses as a video goes out as a document', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'a kite in the wind' });
    const grid = await result(u.id, (m) => !!m.photo && m.caption === 'a kite in the wind', 'the grid');
    await press(h, u, grid, 'U2');
    const up = await result(u.id, (m) => !!m.photo && /^Upscale #2\n/.test(m.caption ?? ''), 'the upscale');
    h.tg.failNext('sendVideo', { count: 10, code: 400, description: 'Bad Request: wrong file type' });
    await press(h, u, up, 'Animate (Low motion)');
    const doc = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => m.document && /\.mp4$/.test(m.document.file_name)),
      30_000,
      'the video as a document',
    );
    assert.match(doc.caption ?? '', /^Animate/);
    await h.settle();
  });

  test('/shorten gives five prompts with buttons 1–5; pressing one imagines it', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: '/shorten' });
    await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => /\/shorten a lighthouse/.test(m.text ?? '')),
      5000,
      'the hint',
    );
    h.tg.sendText({
      from: u,
      text: '/shorten a very detailed and extremely long description of a lighthouse standing on a cliff at dawn',
    });
    const list = await result(u.id, (m) => /^✂️ Shorter prompts/.test(m.text ?? ''), 'the prompts');
    assert.deepEqual(
      keyboardOf(list).map((r) => r.map(([t]) => t)),
      [['1️⃣', '2️⃣', '3️⃣', '4️⃣', '5️⃣']],
    );
    const shorten = await h.task((t) => t.action === 'SHORTEN', 'the shorten task');
    const prompts = (await h.waitTask(shorten.id)).prompts;
    assert.equal(prompts.length, 5);
    for (const p of prompts) assert.ok((list.text ?? '').includes(p));
    // The tasks there before the press: the pick's imagine is the one new IMAGINE after it.
    const before = new Set((await h.tasks()).map((t) => t.id));
    await press(h, u, list, '3️⃣');
    const imagine = await h.task(
      (t) => t.action === 'IMAGINE' && !before.has(t.id),
      'the imagine of a pick',
      20_000,
    );
    assert.equal(imagine.prompt, prompts[2], 'the third shortened prompt is imagined');
    assert.equal((await h.waitTask(imagine.id, undefined, 30_000)).status, 'FINISHED');
  });

  test('/seed as a reply to a result gives its seed; elsewhere it says how', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: 'a seed to remember' });
    const grid = await result(u.id, (m) => !!m.photo && m.caption === 'a seed to remember', 'the grid');
    h.tg.sendText({ from: u, text: '/seed', replyTo: grid.message_id });
    const answer = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => /^🌱 Seed: \d+$/.test(m.text ?? '')),
      20_000,
      'the seed',
    );
    const task = await h.task((t) => t.prompt === 'a seed to remember', 'the task');
    assert.equal(answer.text, `🌱 Seed: ${(await h.engine.get(task.id))?.seed}`);
    h.tg.sendText({ from: u, text: '/seed' });
    await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => /Reply with \/seed/.test(m.text ?? '')),
      5000,
      'the hint',
    );
  });
});
