import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizePromptForMatch, type ParsedContent, parseContent } from '../../src/midjourney/index.ts';
import { fixture, message } from './fixtures.ts';

const { cases } = fixture('contents.json') as { cases: { content: string; expect: ParsedContent }[] };

describe('parseContent: every content shape of the reference', () => {
  for (const { content, expect } of cases) {
    test(JSON.stringify(content).slice(0, 120), () => {
      assert.deepEqual(parseContent(content), expect);
    });
  }
});

test('the real messages (a)–(d) read as waiting, done, waiting (ephemeral), upscale #2', () => {
  const read = (n: string) => parseContent(message(n).content ?? '');
  assert.equal(read('a_imagine_start_dm').status, 'waiting');
  assert.equal(read('b_imagine_final_grid').status, 'done');
  assert.equal(read('b_imagine_final_grid').mode, 'relaxed');
  assert.equal(read('c_progress_cancel_ephemeral').userId, '1127612768489578560');
  const d = read('d_upscale_of_strong_variation');
  assert.equal(d.kind, 'upscale');
  assert.equal(d.imageIndex, 2);
});

describe('normalizePromptForMatch: a prompt equals its echo', () => {
  const same: [string, string][] = [
    ['a red cat', '**a red cat**'.slice(2, -2)],
    ['A  Red\tcat ', 'a red cat'],
    ['a red cat', 'a red cat --v 6.1'],
    ['a red cat --ar 2:3', 'a red cat --ar 2:3 --v 6.1'],
    ['a red cat —ar 2:3', 'a red cat --ar 2:3'],
    [
      'https://cdn.discordapp.com/attachments/1/2/cat.png?ex=1&is=2&hm=3& a red cat',
      '<https://s.mj.run/JWu6jaL1D-8> a red cat',
    ],
    [
      'https://cdn.discordapp.com/a.png https://cdn.discordapp.com/b.png --v 5.1',
      '<https://s.mj.run/JWu6jaL1D-8> <https://s.mj.run/QhfnQY-l68o> --v 5.1',
    ],
    ['Baby, :: --ar 1:1 --v 5.2', 'baby, ::'],
  ];
  for (const [user, echo] of same) {
    test(`${JSON.stringify(user)} ~ ${JSON.stringify(echo)}`, () => {
      assert.equal(normalizePromptForMatch(user), normalizePromptForMatch(echo));
    });
  }

  const different: [string, string][] = [
    ['a red cat', 'a blue cat'],
    ['a red cat', 'a red cat, watercolor'],
    ['cats -- dogs', 'cats dogs'],
  ];
  for (const [a, b] of different) {
    test(`${JSON.stringify(a)} ≁ ${JSON.stringify(b)}`, () => {
      assert.notEqual(normalizePromptForMatch(a), normalizePromptForMatch(b));
    });
  }

  test('keeps the words, drops links and parameters', () => {
    assert.equal(normalizePromptForMatch('<https://s.mj.run/abc>  A Red   Cat --ar 2:3 --v 6'), 'a red cat');
  });
});
