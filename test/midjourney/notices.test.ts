import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DiscordMessage } from '../../src/discord/types.ts';
import { accountReasonForIframeTitle, classifyNotice, type Notice } from '../../src/midjourney/index.ts';
import { fixture, message } from './fixtures.ts';

const { cases } = fixture('notices.json') as {
  cases: { message: Pick<DiscordMessage, 'embeds' | 'content'>; expect: Notice | null }[];
};

describe('classifyNotice: every notice of the reference', () => {
  for (const { message: m, expect } of cases) {
    const name = m.embeds?.[0]?.title ?? m.embeds?.[0]?.description ?? m.content ?? '';
    test(`${JSON.stringify(name).slice(0, 80)} → ${expect?.kind ?? 'null'}`, () => {
      assert.deepEqual(classifyNotice(m), expect);
    });
  }
});

test('every failReason is one line', () => {
  for (const { message: m } of cases) {
    const reason = classifyNotice(m)?.reason ?? '';
    assert.doesNotMatch(reason, /\n/);
    assert.ok(reason.length <= 300, reason);
  }
});

test('a long description is cut to a readable line', () => {
  const n = classifyNotice({
    embeds: [{ title: 'Invalid prompt', description: 'word '.repeat(200), color: 16711680 }],
  });
  assert.equal(n?.kind, 'fail');
  assert.ok(n && n.reason.length <= 300 && n.reason.endsWith('…'));
});

test('the real job messages (a)–(d) are not notices', () => {
  for (const n of [
    'a_imagine_start_dm',
    'b_imagine_final_grid',
    'c_progress_cancel_ephemeral',
    'd_upscale_of_strong_variation',
  ]) {
    assert.equal(classifyNotice(message(n)), null, n);
  }
});

test('a describe result with a color and an image is not a notice', () => {
  const embed = {
    description: '1️⃣ Cat --ar 5:4\n\n2️⃣ Cat2 --ar 5:4\n\n3️⃣ Cat3 --ar 5:4\n\n4️⃣ Cat4 --ar 5:4',
    color: 16239475,
    image: {
      url: 'https://cdn.discordapp.com/ephemeral-attachments/1092492867185950852/1377952966417453166/1748599984985576.jpg',
    },
  };
  assert.equal(classifyNotice({ embeds: [embed] }), null);
});

describe('accountReasonForIframeTitle', () => {
  const cases: [string, string | null][] = [
    ['Action required to continue', 'Action required to continue'],
    ['Please complete the task', 'Please complete the task'],
    ['Inpaint', null],
    ['', null],
  ];
  for (const [title, reason] of cases) {
    test(`${JSON.stringify(title)} → ${reason}`, () =>
      assert.equal(accountReasonForIframeTitle(title), reason));
  }
});
