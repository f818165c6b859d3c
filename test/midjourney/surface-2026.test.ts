import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  blockDurationMs,
  classifyNotice,
  fixParameterDashes,
  isAcknowledgeButton,
  isGridResult,
  isVideoAttachment,
  isVideoPrompt,
  parseInfo,
  parseModalCustomId,
  parseSeedDm,
  promptVersion,
  remixFromContent,
  remixFromSettings,
  speedAnswer,
  videoParameters,
} from '../../src/midjourney/index.ts';

const H = 'a7cb1552-f779-4094-9afe-2acf22dae280';

describe('/info (reference §4.4: the embed lines ERT reads)', () => {
  const embed = (description: string) => ({ embeds: [{ title: 'Your info - sandbox_user_0', description }] });
  const rows: [string, ReturnType<typeof parseInfo>][] = [
    [
      '**Subscription**: Standard (Active monthly, renews next on <t:1767225600>)\n**Job Mode**: Fast\n**Visibility Mode**: Public\n**Fast Time Remaining**: 12.34/15.0 hours (82.27%)',
      {
        mode: 'fast',
        fastTimeRemaining: 12.34,
        subscription: 'Standard (Active monthly, renews next on 2026-01-01T00:00:00.000Z)',
      },
    ],
    [
      '**Job Mode**: Relaxed\n**Fast Time Remaining**: 0.00/15.0 hours (0.00%)',
      { mode: 'relax', fastTimeRemaining: 0 },
    ],
    ['**Job Mode**: Turbo', { mode: 'turbo' }],
    ['**Fast Time Remaining**: None', { fastTimeRemaining: 0 }],
    ['', {}],
  ];
  for (const [description, want] of rows) {
    test(JSON.stringify(description.slice(0, 50)), () =>
      assert.deepEqual(parseInfo(embed(description)), want),
    );
  }
  test('other embeds are not /info', () => {
    assert.equal(parseInfo({ embeds: [{ title: 'Job queued', description: '**Job Mode**: Fast' }] }), null);
    assert.equal(parseInfo({}), null);
  });
});

describe('remix mode from /settings and /prefer remix', () => {
  const settings = (style: number) => ({
    components: [
      {
        type: 1,
        components: [{ type: 2, style, label: 'Remix mode', custom_id: 'MJ::Settings::RemixMode' }],
      },
    ],
  });
  test('green Remix mode button: on; grey: off; none: unknown', () => {
    assert.equal(remixFromSettings(settings(3)), true);
    assert.equal(remixFromSettings(settings(2)), false);
    assert.equal(remixFromSettings({ components: [] }), null);
  });
  test('the /prefer remix answers', () => {
    assert.equal(remixFromContent('Remix mode turned on! You can disable it with /prefer remix'), true);
    assert.equal(remixFromContent('Remix mode turned off!'), false);
    assert.equal(remixFromContent('**a cat** - <@1> (fast)'), null);
  });
});

describe('the answers to /fast, /relax, /turbo (reference §4.4)', () => {
  const answer = (name: string, content: string) => ({ content, interaction_metadata: { id: '1', name } });
  test('the command comes from the interaction, the outcome from "Done!"', () => {
    assert.deepEqual(
      speedAnswer(
        answer(
          'relax',
          'Done! Your jobs now do not consume fast-hours, but might take a little longer. You can always switch back with /fast',
        ),
      ),
      { command: 'relax', done: true },
    );
    assert.deepEqual(speedAnswer({ content: 'Done!', interaction: { id: '1', name: 'turbo' } }), {
      command: 'turbo',
      done: true,
    });
    assert.deepEqual(speedAnswer(answer('fast', 'You have no fast hours left.')), {
      command: 'fast',
      done: false,
    });
    assert.equal(speedAnswer(answer('imagine', 'Done!')), null);
    assert.equal(speedAnswer({ content: 'Done! Your jobs now do not consume fast-hours' }), null);
  });
});

describe('seed DM', () => {
  test('the seed and the job it names', () => {
    assert.deepEqual(parseSeedDm(`**a cat**\n**Job ID**: ${H}\n**seed** 1234567`), {
      seed: '1234567',
      hash: H,
    });
    assert.deepEqual(parseSeedDm('**seed**: 42'), { seed: '42', hash: null });
    assert.equal(parseSeedDm(`**Job ID**: ${H}`), null);
    assert.equal(parseSeedDm('seed 42'), null);
  });
});

describe('moderation and timed blocks (compat-clients §4)', () => {
  test('Pending mod message is a moderation notice with its text', () => {
    const n = classifyNotice({
      embeds: [
        {
          title: 'Pending mod message',
          description:
            'You have a pending moderation message. Please acknowledge it before using the bot further.',
          color: 16711680,
        },
      ],
    });
    assert.equal(n?.kind, 'moderation');
    assert.equal(
      n?.reason,
      '[Pending mod message] You have a pending moderation message. Please acknowledge it before using the bot further.',
    );
  });
  const blocks: [string, number | null][] = [
    ['You have been blocked from accessing Midjourney for 1 minute.', 60_000],
    ['You have been blocked from accessing Midjourney for 30 minutes. This happens on repeated…', 1_800_000],
    ['You have been blocked from accessing Midjourney for **2 hours**.', 7_200_000],
    ['blocked from accessing Midjourney for 3 days', 259_200_000],
    ['blocked from using Midjourney for 1 week', 604_800_000],
    [
      'You have been blocked from accessing Midjourney. This happens on repeated or serious ToS violations.',
      null,
    ],
  ];
  for (const [text, ms] of blocks) {
    test(`${JSON.stringify(text.slice(0, 60))} → ${ms}`, () => assert.equal(blockDurationMs(text), ms));
  }
  test('a timed block is a block notice; a block without a time still disables', () => {
    const timed = classifyNotice({
      embeds: [
        {
          title: 'Blocked',
          description: 'You have been blocked from accessing Midjourney for 1 minute.',
          color: 16711680,
        },
      ],
    });
    assert.equal(timed?.kind, 'block');
    assert.equal(timed?.blockMs, 60_000);
    const plain = classifyNotice({ content: 'You have been blocked from accessing Midjourney for 2 hours.' });
    assert.equal(plain?.kind, 'block');
    const forever = classifyNotice({
      embeds: [
        {
          title: 'Blocked',
          description: 'You have been blocked from accessing Midjourney.',
          color: 16711680,
        },
      ],
    });
    assert.equal(forever?.kind, 'account');
  });
  test('Credits exhausted asks for the relax fallback', () => {
    assert.equal(
      classifyNotice({ embeds: [{ title: 'Credits exhausted', description: 'x' }] })?.kind,
      'credits',
    );
  });
  test('the Acknowledge button, by label or custom_id', () => {
    assert.equal(
      isAcknowledgeButton({ label: 'Acknowledge', custom_id: 'MJ::Prompts::Acknowledge::abc' }),
      true,
    );
    assert.equal(isAcknowledgeButton({ custom_id: 'MJ::Prompts::Acknowledge::abc' }), true);
    assert.equal(isAcknowledgeButton({ label: 'Resubmit', custom_id: 'MJ::Prompts::Resubmit::abc' }), false);
    assert.equal(
      isAcknowledgeButton({ label: 'Appeal', custom_id: 'MJ::Prompts::Appeal::7_dEy36TiEY' }),
      false,
    );
  });
});

describe('modal custom_ids (reference §4.3 "Modals")', () => {
  const rows: [string, ReturnType<typeof parseModalCustomId>][] = [
    [`MJ::RemixModal::${H}::1::0`, { kind: 'remix', hash: H, fieldCustomId: 'MJ::RemixModal::new_prompt' }],
    [`MJ::RemixModal::${H}::4::1`, { kind: 'remix', hash: H, fieldCustomId: 'MJ::RemixModal::new_prompt' }],
    [`MJ::PanModal::left::${H}::1`, { kind: 'pan', hash: H, fieldCustomId: 'MJ::PanModal::prompt' }],
    [
      'MJ::ImagineModal::1083788807800897597',
      { kind: 'imagine', hash: null, fieldCustomId: 'MJ::ImagineModal::new_prompt' },
    ],
    [
      `MJ::AnimateModal::${H}::1::high::0`,
      { kind: 'animate', hash: H, fieldCustomId: 'MJ::AnimateModal::prompt' },
    ],
    [
      `MJ::OutpaintCustomZoomModal::${H}`,
      { kind: 'zoom', hash: H, fieldCustomId: 'MJ::OutpaintCustomZoomModal::prompt' },
    ],
    [
      'MJ::Picreader::Modal::2',
      { kind: 'picreader', hash: null, fieldCustomId: 'MJ::Picreader::Modal::PromptField' },
    ],
    ['MJ::RemixModal::new_prompt', null],
    [`MJ::PanModal::sideways::${H}::1`, null],
    ['MJ::ImagineModal::abc', null],
  ];
  for (const [id, want] of rows) test(id, () => assert.deepEqual(parseModalCustomId(id), want));
});

describe('prompts of 2026', () => {
  const dashes: [string, string][] = [
    ['a cat —ar 16:9', 'a cat --ar 16:9'],
    ['a cat —ar 16:9 —v 7', 'a cat --ar 16:9 --v 7'],
    ['a cat –niji 7', 'a cat --niji 7'],
    ['—v 8 first', '--v 8 first'],
    ['a cat — a dog', 'a cat — a dog'],
    ['rock—paper', 'rock—paper'],
  ];
  for (const [from, to] of dashes) test(`${from} → ${to}`, () => assert.equal(fixParameterDashes(from), to));
  test('version, video', () => {
    assert.equal(promptVersion('a cat --v 8.1'), '8.1');
    assert.equal(promptVersion('a cat --version 7 --ar 1:1'), '7');
    assert.equal(promptVersion('a cat'), null);
    assert.equal(isVideoPrompt('https://x/y.png a cat --video 1'), true);
    assert.equal(isVideoPrompt('a cat --videos'), false);
    assert.equal(videoParameters({ motion: 'low' }), '--video 1 --motion low');
    assert.equal(
      videoParameters({ motion: 'high', endImageUrl: 'https://e/x.png', loop: true, batchSize: 2 }),
      '--video 1 --motion high --end https://e/x.png --bs 2',
    );
    assert.equal(videoParameters({ motion: 'high', loop: true }), '--video 1 --motion high --end loop');
  });
  test('video attachments', () => {
    assert.equal(isVideoAttachment({ filename: `${H}_0.mp4` }), true);
    assert.equal(isVideoAttachment({ filename: 'x.bin', content_type: 'video/mp4' }), true);
    assert.equal(isVideoAttachment({ filename: `${H}_grid_0.webp`, content_type: 'image/webp' }), false);
  });
});

describe('which results are 2×2 grids (one rule for the engine and Telegram)', () => {
  const none = { videoUrl: null, videoUrls: [] };
  test('by the action, whatever buttons the result has (V8 grids have no U1–U4)', () => {
    for (const action of [
      'IMAGINE',
      'BLEND',
      'VARIATION',
      'REROLL',
      'ZOOMOUT',
      'PANLEFT',
      'PIC_READER',
    ] as const)
      assert.equal(isGridResult({ action, ...none }), true, action);
    for (const action of ['UPSCALE', 'UPSCALE_V6_2X_SUBTLE', 'DESCRIBE', 'SHORTEN', 'VIDEO'] as const)
      assert.equal(isGridResult({ action, ...none }), false, action);
  });
  test('a result carrying a video is not a grid', () => {
    assert.equal(isGridResult({ action: 'IMAGINE', videoUrl: 'https://x/v.mp4', videoUrls: [] }), false);
    assert.equal(isGridResult({ action: 'IMAGINE', videoUrl: null, videoUrls: [{ url: 'x' }] }), false);
  });
});
