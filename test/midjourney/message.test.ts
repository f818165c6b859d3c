import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DiscordMessage } from '../../src/discord/types.ts';
import {
  extractJobHash,
  isMidjourneyAuthor,
  isPreviewAttachment,
  NIJI_APP_ID,
  parseDescribePrompts,
  resultButtons,
} from '../../src/midjourney/index.ts';
import { message } from './fixtures.ts';

const A = 'a7cb1552-f779-4094-9afe-2acf22dae280';
const F = 'f58fa448-1620-4aca-9621-005ef9f3b383';
const OTHER = '0e4c2b7a-93b8-4c55-8d1a-6f3f7f7b2c11';

function att(filename: string, url = `https://cdn.discordapp.com/attachments/1/2/${filename}`) {
  return { id: '1', filename, url };
}
function msg(fields: Partial<DiscordMessage>): DiscordMessage {
  return { id: '1', channel_id: '2', ...fields };
}
function row(...customIds: string[]) {
  return { type: 1, components: customIds.map((custom_id) => ({ type: 2, style: 2, custom_id })) };
}

describe('extractJobHash on the real messages', () => {
  const cases: [string, string | null][] = [
    ['a_imagine_start_dm', null],
    ['b_imagine_final_grid', A],
    ['c_progress_cancel_ephemeral', '875fbd3a-ef43-4134-a4e8-cd853565cbfd'],
    ['d_upscale_of_strong_variation', F],
  ];
  for (const [name, hash] of cases) {
    test(`${name} → ${hash}`, () => assert.equal(extractJobHash(message(name)), hash));
  }
});

describe('extractJobHash: sources and their order', () => {
  const cases: [string, DiscordMessage, string | null][] = [
    ['progress preview <hash>_grid_0.webp', msg({ attachments: [att(`${A}_grid_0.webp`)] }), A],
    ['final <user>_<slug>_<hash>.png', msg({ attachments: [att(`alex_a_red_cat_${A}.png`)] }), A],
    ['<hash>_0_0.png', msg({ attachments: [att(`${A}_0_0.png`)] }), A],
    [
      'cdn.midjourney.com/<hash>/0_0.png',
      msg({ attachments: [att('0_0.png', `https://cdn.midjourney.com/${A}/0_0.png`)] }),
      A,
    ],
    ['Custom Zoom alone', msg({ components: [row(`MJ::CustomZoom::${A}`)] }), A],
    ['Vary (Region): the 5th field is SOLO', msg({ components: [row(`MJ::Inpaint::1::${A}::SOLO`)] }), A],
    [
      'Cancel Job wins over other buttons',
      msg({ components: [row(`MJ::JOB::upsample::1::${OTHER}`), row(`MJ::CancelJob::ByJobid::${A}`)] }),
      A,
    ],
    [
      'a button wins over the attachment',
      msg({ components: [row(`MJ::JOB::upsample::1::${A}`)], attachments: [att(`x_${OTHER}.png`)] }),
      A,
    ],
    [
      'no UUID anywhere',
      msg({ components: [row('MJ::Job::PicReader::1')], attachments: [att('1748599984985576.jpg')] }),
      null,
    ],
    ['nothing', msg({}), null],
  ];
  for (const [name, m, hash] of cases) {
    test(name, () => assert.equal(extractJobHash(m), hash));
  }
});

test('resultButtons of the grid (b): U1–U4 + 🔄, V1, reduced to the fields a task shows', () => {
  assert.deepEqual(resultButtons(message('b_imagine_final_grid')), [
    [
      { type: 2, style: 2, label: 'U1', custom_id: `MJ::JOB::upsample::1::${A}` },
      { type: 2, style: 2, label: 'U2', custom_id: `MJ::JOB::upsample::2::${A}` },
      { type: 2, style: 2, label: 'U3', custom_id: `MJ::JOB::upsample::3::${A}` },
      { type: 2, style: 2, label: 'U4', custom_id: `MJ::JOB::upsample::4::${A}` },
      { type: 2, style: 2, emoji: { name: '🔄' }, custom_id: `MJ::JOB::reroll::0::${A}::SOLO` },
    ],
    [{ type: 2, style: 2, label: 'V1', custom_id: `MJ::JOB::variation::1::${A}` }],
  ]);
});

test('resultButtons of the upscale (d): the bookmark and the Web link are gone, their row with them', () => {
  const b = (label: string | undefined, emoji: string, custom_id: string) => ({
    type: 2,
    style: 2,
    ...(label ? { label } : {}),
    emoji: { name: emoji },
    custom_id,
  });
  assert.deepEqual(resultButtons(message('d_upscale_of_strong_variation')), [
    [
      b('Vary (Strong)', '🪄', `MJ::JOB::high_variation::1::${F}::SOLO`),
      b('Vary (Subtle)', '🪄', `MJ::JOB::low_variation::1::${F}::SOLO`),
    ],
    [
      b('Zoom Out 2x', '🔍', `MJ::Outpaint::50::1::${F}::SOLO`),
      b('Zoom Out 1.5x', '🔍', `MJ::Outpaint::75::1::${F}::SOLO`),
      b('Custom Zoom', '🔍', `MJ::CustomZoom::${F}`),
    ],
    [
      b(undefined, '⬅️', `MJ::JOB::pan_left::1::${F}::SOLO`),
      b(undefined, '➡️', `MJ::JOB::pan_right::1::${F}::SOLO`),
      b(undefined, '⬆️', `MJ::JOB::pan_up::1::${F}::SOLO`),
      b(undefined, '⬇️', `MJ::JOB::pan_down::1::${F}::SOLO`),
    ],
  ]);
});

test('resultButtons keeps the Cancel Job button of a running job (c) and a custom emoji id', () => {
  assert.deepEqual(resultButtons(message('c_progress_cancel_ephemeral')), [
    [
      {
        type: 2,
        style: 4,
        label: 'Cancel Job',
        custom_id: 'MJ::CancelJob::ByJobid::875fbd3a-ef43-4134-a4e8-cd853565cbfd',
      },
    ],
  ]);
  const up = msg({
    components: [
      {
        type: 1,
        components: [
          {
            type: 2,
            style: 2,
            label: 'Upscale (Subtle)',
            emoji: { name: 'upscale_1', id: '940147353879478324', animated: false },
            custom_id: `MJ::JOB::upsample_v6_2x_subtle::1::${A}::SOLO`,
            disabled: false,
          },
        ],
      },
    ],
  });
  assert.deepEqual(resultButtons(up), [
    [
      {
        type: 2,
        style: 2,
        label: 'Upscale (Subtle)',
        emoji: { name: 'upscale_1', id: '940147353879478324' },
        custom_id: `MJ::JOB::upsample_v6_2x_subtle::1::${A}::SOLO`,
      },
    ],
  ]);
  assert.deepEqual(resultButtons(message('a_imagine_start_dm')), []);
});

describe('parseDescribePrompts', () => {
  test('the reference format: four prompts split on 1️⃣..4️⃣', () => {
    const d = '1️⃣ Cat --ar 5:4\n\n2️⃣ Cat2 --ar 5:4\n\n3️⃣ Cat3 --ar 5:4\n\n4️⃣ Cat4 --ar 5:4';
    assert.deepEqual(parseDescribePrompts(d), [
      'Cat --ar 5:4',
      'Cat2 --ar 5:4',
      'Cat3 --ar 5:4',
      'Cat4 --ar 5:4',
    ]);
  });
  test('long prompts with commas, digits and links, CRLF, keycaps without the variation selector', () => {
    const d =
      '1\u20E3 a red cat, 3 kittens, in the style of [Van Gogh](<https://example.com>) --ar 4:3\r\n\r\n' +
      '2️⃣ cat on a mat --ar 4:3\n\n3️⃣ 4 cats --ar 4:3\n\n4️⃣ last one --ar 4:3\n';
    assert.deepEqual(parseDescribePrompts(d), [
      'a red cat, 3 kittens, in the style of [Van Gogh](<https://example.com>) --ar 4:3',
      'cat on a mat --ar 4:3',
      '4 cats --ar 4:3',
      'last one --ar 4:3',
    ]);
  });
  test('without keycaps: blank lines separate the prompts', () => {
    assert.deepEqual(parseDescribePrompts('one\n\ntwo\n\n\nthree\n\nfour'), ['one', 'two', 'three', 'four']);
  });
  test('empty description → no prompts', () => assert.deepEqual(parseDescribePrompts(''), []));
});

describe('isPreviewAttachment', () => {
  test('the grid preview is a preview', () => {
    assert.equal(isPreviewAttachment({ filename: `${A}_grid_0.webp` }), true);
    assert.equal(isPreviewAttachment({ filename: 'x', content_type: 'image/webp' }), true);
  });
  test('the final images of (b) and (d) are not', () => {
    for (const n of ['b_imagine_final_grid', 'd_upscale_of_strong_variation']) {
      const a = message(n).attachments?.[0];
      assert.ok(a);
      assert.equal(isPreviewAttachment(a), false);
    }
  });
});

describe('isMidjourneyAuthor', () => {
  test('the real bot messages', () => {
    for (const n of ['a_imagine_start_dm', 'b_imagine_final_grid', 'c_progress_cancel_ephemeral']) {
      assert.equal(isMidjourneyAuthor(message(n)), true, n);
    }
  });
  test('niji yes; a user or no author no', () => {
    assert.equal(isMidjourneyAuthor({ author: { id: NIJI_APP_ID } }), true);
    assert.equal(isMidjourneyAuthor({ author: { id: '439110225975443468' } }), false);
    assert.equal(isMidjourneyAuthor({}), false);
  });
});
