import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FakeMessage, FakeUser } from '../fakes/telegram-api.ts';
import { buttonData, type Harness, keyboardOf, startHarness } from './helpers.ts';

/** SPEC §15: /settings, languages, /history, admin commands, grid as album. */

function said(h: Harness, chatId: number, re: RegExp, what = `the bot says ${re}`): Promise<FakeMessage> {
  return h.tg.waitFor(
    () => h.tg.messages(chatId).find((m) => m.fromBot && re.test(m.text ?? m.caption ?? '')),
    10_000,
    what,
  );
}

/** Presses the button labelled `text` on a message and waits for the press to be answered. */
async function press(h: Harness, from: FakeUser, m: FakeMessage, text: string): Promise<void> {
  const current = h.tg.message(m.chatId, m.message_id);
  const id = h.tg.press({ from, chatId: m.chatId, messageId: m.message_id, data: buttonData(current, text) });
  await h.tg.waitFor(() => h.tg.answers.get(id), 5000, `answer to ${text}`);
}

/** Waits until the bot's message shows a text matching `re`. */
function shows(h: Harness, m: FakeMessage, re: RegExp): Promise<FakeMessage> {
  return h.tg.waitFor(
    () => {
      const now = h.tg.message(m.chatId, m.message_id);
      return now && re.test(now.text ?? now.caption ?? '') ? now : undefined;
    },
    5000,
    `message ${m.message_id} to show ${re}`,
  );
}

describe('Telegram front: settings, languages, history, admins, album', () => {
  let h: Harness;
  let nextUser = 3000;
  const newUser = (opts: { language_code?: string } = {}) => h.tg.user(nextUser++, opts);

  before(async () => {
    h = await startHarness({ telegram: { admins: [2999], maxJobsPerUser: 3 } });
  });
  after(async () => {
    await h.close();
  });

  test('/settings → 16:9 and v 6.1 in one menu edited in place; the next prompt gets --ar 16:9 --v 6.1', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: '/settings' });
    const menu = await said(h, u.id, /^⚙️ Settings/);
    assert.match(menu.text ?? '', /nothing \(Midjourney’s defaults\)/);
    await press(h, u, menu, 'Aspect ratio: default');
    await shows(h, menu, /Choose: Aspect ratio/);
    await press(h, u, menu, '16:9');
    await shows(h, menu, /--ar 16:9/);
    await press(h, u, menu, 'Version: default');
    await shows(h, menu, /Choose: Version/);
    await press(h, u, menu, '6.1');
    const done = await shows(h, menu, /--ar 16:9 --v 6\.1/);
    assert.ok(done.editTimes.length >= 4, 'the menu was edited');
    const labels = keyboardOf(done)
      .flat()
      .map(([text]) => text);
    assert.ok(labels.includes('Version: 6.1') && labels.includes('Aspect ratio: 16:9'), labels.join(', '));
    // One menu message: no new bot message for any tap.
    assert.equal(h.tg.botMessages(u.id).length, 1);

    h.tg.sendText({ from: u, text: 'a quiet harbour' });
    const task = await h.task((t) => t.prompt.startsWith('a quiet harbour'), 'the imagine');
    assert.equal(task.prompt, 'a quiet harbour --ar 16:9 --v 6.1');
    const status = await said(h, u.id, /^🎨 Imagine: a quiet harbour/);
    assert.match(status.text ?? status.caption ?? '', /⚙️ From \/settings: --ar 16:9 --v 6\.1/);

    // The prompt's own --ar wins; the version is still added.
    h.tg.sendText({ from: u, text: 'a tall tower --ar 2:3' });
    const own = await h.task((t) => t.prompt.startsWith('a tall tower'), 'the second imagine');
    assert.equal(own.prompt, 'a tall tower --ar 2:3 --v 6.1');
    h.tg.sendText({ from: u, text: 'an old ship --niji 6' });
    const niji = await h.task((t) => t.prompt.startsWith('an old ship'), 'the niji imagine');
    assert.equal(niji.prompt, 'an old ship --niji 6 --ar 16:9');
    await h.settle();

    // Settings are in the store: a restart keeps them.
    await h.restart();
    h.tg.sendText({ from: u, text: 'a red kite' });
    const later = await h.task((t) => t.prompt.startsWith('a red kite'), 'the imagine after restart');
    assert.equal(later.prompt, 'a red kite --ar 16:9 --v 6.1');
    await h.settle();
  });

  test('stylize, raw, speed and draft; a foreign press or a forged value changes nothing', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: '/settings' });
    const menu = await said(h, u.id, /^⚙️ Settings/);
    await press(h, u, menu, 'Stylize: default');
    await shows(h, menu, /Choose: Stylize/);
    await press(h, u, menu, 'high');
    await shows(h, menu, /--s 250/);
    await press(h, u, menu, 'Raw style: off');
    await shows(h, menu, /--style raw/);
    await press(h, u, menu, 'Speed: default');
    await shows(h, menu, /Choose: Speed/);
    const speeds = keyboardOf(h.tg.message(u.id, menu.message_id))
      .flat()
      .map(([t]) => t);
    assert.ok(!speeds.some((s) => /turbo/.test(s)), 'turbo is not allowed by default');
    await press(h, u, menu, 'relax');
    await shows(h, menu, /--relax/);
    await press(h, u, menu, 'Draft: off');
    await shows(h, menu, /--s 250 --style raw --relax --draft/);

    const other = newUser();
    const q = h.tg.press({ from: other, chatId: u.id, messageId: menu.message_id, data: `s:${u.id}:d` });
    const answer = await h.tg.waitFor(() => h.tg.answers.get(q), 5000, 'foreign press answered');
    assert.match(answer.text ?? '', /Only the person/);
    const forged = h.tg.press({
      from: u,
      chatId: u.id,
      messageId: menu.message_id,
      data: `s:${u.id}:sp=turbo`,
    });
    await h.tg.waitFor(() => h.tg.answers.get(forged), 5000, 'forged press answered');

    h.tg.sendText({ from: u, text: 'a field --s 20 --fast' });
    const task = await h.task((t) => t.prompt.startsWith('a field'), 'the imagine');
    assert.equal(task.prompt, 'a field --s 20 --fast --style raw --draft');
    await h.settle();
  });

  for (const [code, guide, queued, banned] of [
    ['zh-hans', /我用 Midjourney 画图/, /排队中|已提交|生成中|正在开始/, /禁用词“nude”/],
    ['ko', /저는 Midjourney로 그림을 그립니다/, /대기 중|제출됨|생성 중|시작하는 중/, /금지어 “nude”/],
    ['ru', /Я рисую картинки/, /В очереди|Отправлено|Генерация|Запускаю/, /запрещённое слово «nude»/],
    ['de', /I draw pictures with Midjourney/, /Queued|Submitted|Generating|Starting/, /banned word “nude”/],
  ] as const) {
    test(`language_code ${code}: guide, status lines and errors in its language`, async () => {
      const u = newUser({ language_code: code });
      h.tg.sendText({ from: u, text: '/help' });
      await said(h, u.id, guide, 'the guide');
      h.holdJobs(true, 30);
      h.tg.sendText({ from: u, text: `a lantern ${code}` });
      const task = await h.task((t) => t.prompt.startsWith(`a lantern ${code}`), 'the imagine');
      await said(h, u.id, queued, 'a status line');
      h.tg.sendText({ from: u, text: 'a nude statue' });
      await said(h, u.id, banned, 'the banned-word error');
      h.holdJobs(false);
      await h.waitTask(task.id);
    });
  }

  test('/language switches the language, the menu ending in the new one', async () => {
    const u = newUser({ language_code: 'ko' });
    h.tg.sendText({ from: u, text: '/language' });
    const menu = await said(h, u.id, /제가 쓸 언어를 고르세요/);
    await press(h, u, menu, 'Русский');
    await shows(h, menu, /по-русски/);
    h.tg.sendText({ from: u, text: '/jobs' });
    await said(h, u.id, /У вас нет незавершённых заданий/);
  });

  test('/history: five a page, ◀ ▶ edit the one message, an entry opens the result with working buttons', async () => {
    const u = newUser();
    for (let i = 1; i <= 6; i++) {
      h.tg.sendText({ from: u, text: `history ${i}` });
      const task = await h.task((t) => t.prompt === `history ${i}`, `imagine ${i}`);
      await h.waitTask(task.id);
      await said(h, u.id, new RegExp(`^history ${i}$`), `result ${i}`);
    }
    h.tg.sendText({ from: u, text: '/history' });
    const list = await said(h, u.id, /page 1 of 2/);
    assert.match(list.text ?? '', /1️⃣ Imagine: history 6/);
    assert.match(list.text ?? '', /5️⃣ Imagine: history 2/);
    assert.doesNotMatch(list.text ?? '', /history 1\b/);
    await press(h, u, list, '▶');
    const page2 = await shows(h, list, /page 2 of 2/);
    assert.match(page2.text ?? '', /1️⃣ Imagine: history 1/);
    await press(h, u, list, '◀');
    await shows(h, list, /page 1 of 2/);
    assert.ok(
      !h.tg.messages(u.id).some((m) => m.message_id > list.message_id),
      'paging sends no new message',
    );

    await press(h, u, list, '2️⃣');
    const opened = await h.tg.waitFor(
      () => h.tg.botMessages(u.id).find((m) => m.message_id > list.message_id && m.caption === 'history 5'),
      10_000,
      'the opened result',
    );
    assert.ok(opened.photo);
    await press(h, u, opened, 'U1');
    const up = await h.task((t) => t.action === 'UPSCALE' && t.prompt.startsWith('history 5'), 'the upscale');
    assert.equal((await h.waitTask(up.id)).status, 'FINISHED');
  });

  test('/accounts and /queue answer admins and politely refuse others', async () => {
    const admin = h.tg.user(2999);
    h.tg.sendText({ from: admin, text: '/accounts' });
    const acc = await said(h, admin.id, /^Midjourney accounts:/);
    assert.match(acc.text ?? '', /: ready — \d+ running, \d+ queued/);
    h.tg.sendText({ from: admin, text: '/queue' });
    await said(h, admin.id, /^Queue: \d+ waiting\./);
    const u = newUser();
    h.tg.sendText({ from: u, text: '/accounts' });
    await said(h, u.id, /for the bot’s admins only/);
    h.tg.sendText({ from: u, text: '/queue' });
    await h.tg.waitFor(() => h.tg.botMessages(u.id).length === 2, 5000, 'second refusal');
    assert.ok(!h.tg.botMessages(u.id).some((m) => /running/.test(m.text ?? '')));
  });

  test('commands are registered per language and the admin commands only in admin chats', () => {
    const sets = h.tg.commandSets;
    for (const lang of ['', 'en', 'zh', 'ko', 'ru'])
      assert.ok(sets.has(`default|${lang}`), `default|${lang}`);
    const names = (key: string) => (sets.get(key) ?? []).map((c) => c.command);
    assert.ok(!names('default|').includes('accounts'));
    assert.ok(names('default|').includes('settings') && names('default|').includes('history'));
    assert.match(sets.get('default|zh')?.find((c) => c.command === 'settings')?.description ?? '', /版本/);
    const adminKey = `${JSON.stringify({ type: 'chat', chat_id: 2999 })}|ru`;
    assert.ok(names(adminKey).includes('accounts') && names(adminKey).includes('queue'), adminKey);
  });

  test('grid as album: four photos in a media group, then one message with the buttons', async () => {
    const u = newUser();
    h.tg.sendText({ from: u, text: '/settings' });
    const menu = await said(h, u.id, /^⚙️ Settings/);
    await press(h, u, menu, 'Grid as album: off');
    await shows(h, menu, /^⚙️ Settings/);
    h.tg.sendText({ from: u, text: 'four small boats' });
    const task = await h.task((t) => t.prompt === 'four small boats', 'the imagine');
    await h.waitTask(task.id);
    const buttons = await said(h, u.id, /The buttons for the images above: four small boats/);
    const album = h.tg.botMessages(u.id).filter((m) => m.media_group_id);
    assert.equal(album.length, 4);
    assert.ok(album.every((m) => m.photo && m.message_id < buttons.message_id));
    assert.equal(new Set(album.map((m) => m.media_group_id)).size, 1);
    assert.equal(album[0]?.caption, 'four small boats');
    assert.deepEqual(
      keyboardOf(buttons).map((r) => r.map(([t]) => t)),
      [
        ['U1', 'U2', 'U3', 'U4', '🔄'],
        ['V1', 'V2', 'V3', 'V4'],
      ],
    );
    // Quarters of the grid: each half its width.
    const grid = h.tg.callsOf('sendMediaGroup', u.id)[0];
    assert.ok(grid?.ok);
    await press(h, u, buttons, 'U2');
    const up = await h.task((t) => t.action === 'UPSCALE' && t.prompt === 'four small boats', 'the upscale');
    await h.waitTask(up.id);
    // Upscales are sent as before: a photo with its buttons (and the file).
    await h.tg.waitFor(
      () =>
        h.tg.botMessages(u.id).find((m) => m.photo && !m.media_group_id && /Upscale/.test(m.caption ?? '')),
      10_000,
      'the upscale photo',
    );
  });

  test('a sticker gets a one-line hint, not the whole guide', async () => {
    const u = newUser();
    h.tg.sendSticker({ from: u });
    const hint = await said(h, u.id, /Stickers are not prompts/);
    assert.ok(!(hint.text ?? '').includes('\n'));
  });
});
