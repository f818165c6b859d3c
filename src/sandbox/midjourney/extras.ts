/**
 * The sandbox bot's 2026 surface (SPEC §14) beside its classic jobs: `/shorten` and its picks,
 * `/info`, `/settings` with remix, `/fast`, `/relax` and `/turbo` (each user's mode, which a job
 * without a speed flag runs in), the seed DM for a ✉️ reaction, remix
 * forms for V / Vary / pan / reroll / Animate, the video buttons, describe's Retry and Imagine
 * all, and the moderation switches (`--fail Pending mod message`, `--fail Blocked <n> <unit>`)
 * with their effects: a pending notice until acknowledged, a block until it ends.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { DiscordActionRow, DiscordMessage } from '../../discord/types.ts';
import { parseCustomId, parseModalCustomId, REMIXABLE_ACTIONS } from '../../midjourney/index.ts';
import type { FakeDiscord, InteractionContext, ReactionContext } from '../discord/api.ts';
import { renderImage } from '../png.ts';
import { echoPrompt, interactionStamps, MJ_USER, RED } from './messages.ts';
import { VIDEO_LABELS } from './results.ts';

/** A job as the bot remembers it (the fields the extras use). */
export interface KitJob {
  hash: string;
  prompt: string;
  label: string;
  resultMessageId: string | null;
}

type JobIx = Pick<InteractionContext, 'id' | 'nonce' | 'channelId' | 'guildId' | 'user'> & { name: string };

/** What the bot lends its extras. */
export interface BotKit {
  discord: FakeDiscord;
  jobs: Map<string, KitJob>;
  /** Milliseconds of Midjourney time at the sandbox's speed. */
  ms(realMs: number): number;
  /** Runs `fn` after `delay` unless the bot closed. */
  later(delay: number, fn: () => void): void;
  shortId(): string;
  runJob(ix: JobIx, prompt: string, label: string, grid: boolean, reply?: DiscordMessage): KitJob;
  startFromPrompt(
    ix: InteractionContext,
    prompt: string,
    label: string,
    grid: boolean,
    reply?: DiscordMessage,
  ): void;
  errorEmbed(ix: InteractionContext, title: string, description: string, color?: number): void;
  describe(ix: InteractionContext): void;
  /** The DM channel of a user with the bot. */
  dmChannelFor?: ((userId: string) => string | undefined) | undefined;
}

/** Per-user state Midjourney keeps: remix, speed mode, fast hours, moderation. */
interface UserState {
  remix: boolean;
  mode: 'fast' | 'relax' | 'turbo';
  fastHours: number;
  pendingMod: { messageId: string; channelId: string } | null;
  acknowledged: number;
  blockedUntil: number;
  blockText: string;
}

/** Switches and readings for tests (and a curious user). */
export interface BotControls {
  /** Remix mode of a user (as `/settings` would switch it). */
  setRemix(userId: string, on: boolean): void;
  /** Fast hours left; 0 makes fast jobs answer `Credits exhausted`. */
  setFastHours(userId: string, hours: number): void;
  /** What the bot knows of a user: remix, mode, moderation notices acknowledged, block end. */
  user(userId: string): {
    remix: boolean;
    mode: string;
    fastHours: number;
    pendingMod: boolean;
    acknowledged: number;
    blockedUntil: number;
  };
}

const UNIT_MS: Record<string, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

/** What Midjourney answers to `/fast`, `/relax`, `/turbo` (reference §4.4 quotes `/relax`'s). */
const MODE_ANSWERS = {
  fast: 'Done! Your jobs will now use fast-hours. You can always switch back with /relax',
  relax:
    'Done! Your jobs now do not consume fast-hours, but might take a little longer. You can always switch back with /fast',
  turbo: 'Done! Your jobs will now run in turbo mode, at twice the fast-hour cost. Switch back with /fast',
} as const;

const btn = (custom_id: string, label: string | undefined, extra: Record<string, unknown> = {}) => ({
  type: 2,
  style: 2,
  custom_id,
  ...(label ? { label } : {}),
  ...extra,
});

function fiveShorter(prompt: string): string[] {
  const params = /(?:^|\s)(--\S[\s\S]*)$/.exec(prompt)?.[1] ?? '';
  const words = prompt
    .replace(/(?:^|\s)--\S[\s\S]*$/, '')
    .split(/\s+/)
    .filter(Boolean);
  return [1, 2, 3, 4, 5].map((i) => {
    const keep = Math.max(1, Math.ceil((words.length * (6 - i)) / 6));
    return `${words.slice(0, keep).join(' ')}${params ? ` ${params}` : ''}`;
  });
}

/** Hooks the extras into the bot; `handle` answers an interaction the classic bot does not know. */
export function attachExtras(kit: BotKit): {
  handle(ix: InteractionContext): boolean;
  failSwitch(ix: InteractionContext, title: string): boolean;
  /** The speed a user's job without a flag runs in. */
  modeOf(userId: string): 'fast' | 'relax' | 'turbo';
  controls: BotControls;
} {
  const users = new Map<string, UserState>();
  const state = (userId: string): UserState => {
    let s = users.get(userId);
    if (!s) {
      s = {
        remix: false,
        mode: 'fast',
        fastHours: 14.5,
        pendingMod: null,
        acknowledged: 0,
        blockedUntil: 0,
        blockText: '',
      };
      users.set(userId, s);
    }
    return s;
  };
  const { discord } = kit;
  const base = (ix: InteractionContext, name: string) => ({
    author: MJ_USER,
    type: ix.guildId ? 20 : 0,
    nonce: ix.nonce,
    webhook_id: MJ_USER.id,
    application_id: MJ_USER.id,
    ...interactionStamps(ix.id, name, ix.user),
  });

  /** The refusals a user's state brings before any job: a block, a pending notice, no fast hours. */
  const refused = (ix: InteractionContext): boolean => {
    const s = state(ix.user.id);
    if (s.blockedUntil > Date.now()) {
      kit.errorEmbed(ix, 'Blocked', s.blockText);
      return true;
    }
    if (s.pendingMod) {
      moderationNotice(ix);
      return true;
    }
    if (s.mode === 'fast' && s.fastHours <= 0) {
      kit.errorEmbed(
        ix,
        'Credits exhausted',
        'You have run out of fast hours. Use /relax to keep going in relax mode.',
      );
      return true;
    }
    return false;
  };

  const moderationNotice = (ix: InteractionContext) => {
    const token = randomBytes(6).toString('base64url');
    const msg = discord.postMessage(ix.channelId, {
      ...base(ix, String(ix.data.name ?? 'imagine')),
      flags: 64,
      embeds: [
        {
          type: 'rich',
          title: 'Pending mod message',
          description:
            'You have a pending moderation message. Please acknowledge it before using the bot further.\n\nYour prompt was flagged by our moderators.',
          color: RED,
        },
      ],
      components: [
        {
          type: 1,
          components: [
            btn(`MJ::Prompts::Acknowledge::${token}`, 'Acknowledge', { style: 1 }),
            btn(`MJ::Prompts::Resubmit::${token}`, 'Resubmit'),
          ],
        },
      ],
    });
    state(ix.user.id).pendingMod = { messageId: msg.id, channelId: ix.channelId };
  };

  const failSwitch = (ix: InteractionContext, title: string): boolean => {
    if (/^pending mod message$/i.test(title)) {
      kit.later(kit.ms(500), () => moderationNotice(ix));
      return true;
    }
    const block = /^blocked\s+(\d+)\s*(minute|hour|day|week)s?$/i.exec(title);
    if (block) {
      const n = Number(block[1]);
      const unit = (block[2] ?? 'minute').toLowerCase();
      const s = state(ix.user.id);
      s.blockText = `You have been blocked from accessing Midjourney for ${n} ${unit}${n === 1 ? '' : 's'}. This happens on repeated or serious ToS violations.`;
      s.blockedUntil = Date.now() + kit.ms(n * (UNIT_MS[unit] ?? 60_000));
      kit.later(kit.ms(500), () => kit.errorEmbed(ix, 'Blocked', s.blockText));
      return true;
    }
    return false;
  };

  const shorten = (ix: InteractionContext, prompt: string) => {
    const prompts = fiveShorter(prompt);
    const keys = ['1️⃣', '2️⃣', '3️⃣', '4️⃣', '5️⃣'];
    const tokens = prompt
      .replace(/(?:^|\s)--\S[\s\S]*$/, '')
      .split(/\s+/)
      .filter(Boolean)
      .map((w, i) => (i % 2 === 0 ? `**${w}**` : w))
      .join(' ');
    kit.later(kit.ms(1500), () =>
      discord.postMessage(ix.channelId, {
        ...base(ix, 'shorten'),
        embeds: [
          {
            type: 'rich',
            description: `**IMPORTANT TOKENS**\n${tokens}\n\n**SHORTENED PROMPTS**\n${prompts.map((p, i) => `${keys[i]} ${p}`).join('\n\n')}`,
            footer: { text: 'Click on a button to imagine one of the shortened prompts' },
            color: 0,
          },
        ],
        components: [
          {
            type: 1,
            components: keys.map((e, i) =>
              btn(`MJ::Job::PromptAnalyzer::${i + 1}`, undefined, { emoji: { name: e } }),
            ),
          },
          {
            type: 1,
            components: [
              btn(`MJ::Job::PromptAnalyzer::Show::${randomBytes(4).toString('hex')}`, 'Show Details'),
            ],
          },
        ],
      }),
    );
  };

  const info = (ix: InteractionContext) => {
    const s = state(ix.user.id);
    const renew = Math.floor(Date.now() / 1000) + 20 * 86_400;
    const lines = [
      `**Subscription**: Standard (Active monthly, renews next on <t:${renew}>)`,
      `**Job Mode**: ${s.mode === 'relax' ? 'Relaxed' : s.mode === 'turbo' ? 'Turbo' : 'Fast'}`,
      '**Visibility Mode**: Public',
      `**Fast Time Remaining**: ${s.fastHours.toFixed(2)}/15.0 hours (${((s.fastHours / 15) * 100).toFixed(2)}%)`,
      '**Lifetime Usage**: 1234 images (48.27 hours)',
      '**Relaxed Usage**: 210 images (6.58 hours)',
      '**Queued Jobs (fast)**: 0',
      '**Queued Jobs (relax)**: 0',
      '**Running Jobs**: None',
    ];
    discord.postMessage(ix.channelId, {
      ...base(ix, 'info'),
      flags: 64,
      embeds: [
        { type: 'rich', title: `Your info - ${ix.user.username}`, description: lines.join('\n'), color: 0 },
      ],
    });
  };

  const settingsRows = (s: UserState): DiscordActionRow[] => [
    {
      type: 1,
      components: [
        btn('MJ::Settings::RemixMode', 'Remix mode', { style: s.remix ? 3 : 2, emoji: { name: '🎛️' } }),
        btn('MJ::Settings::HighVariabilityMode::1', 'High Variation Mode'),
      ],
    },
    {
      type: 1,
      components: [
        btn('MJ::Settings::TurboMode', 'Turbo mode', { style: s.mode === 'turbo' ? 3 : 2 }),
        btn('MJ::Settings::FastMode', 'Fast mode', { style: s.mode === 'fast' ? 3 : 2 }),
        btn('MJ::Settings::RelaxMode', 'Relax mode', { style: s.mode === 'relax' ? 3 : 2 }),
      ],
    },
  ];

  const settings = (ix: InteractionContext) => {
    discord.postMessage(ix.channelId, {
      ...base(ix, 'settings'),
      flags: 64,
      content: 'Adjust your settings here. Current suffix: ` --v 7`',
      components: settingsRows(state(ix.user.id)),
    });
  };

  const setMode = (ix: InteractionContext, mode: 'fast' | 'relax' | 'turbo') => {
    state(ix.user.id).mode = mode;
    discord.postMessage(ix.channelId, {
      ...base(ix, mode),
      flags: 64,
      content: MODE_ANSWERS[mode],
    });
  };

  /** The form a click opens in remix mode, with the parent's prompt filled in. */
  const remixForm = (
    ix: InteractionContext,
    action: string,
    parent: KitJob,
    index: number,
    customId: string,
  ) => {
    const field = (custom_id: string, value: string) => ({
      type: 1,
      components: [{ type: 4, custom_id, label: 'New prompt for image', style: 2, value }],
    });
    if (action.startsWith('PAN')) {
      const dir = action.slice(3).toLowerCase();
      ix.openModal({
        custom_id: `MJ::PanModal::${dir}::${parent.hash}::${index}`,
        title: 'Pan',
        components: [field('MJ::PanModal::prompt', parent.prompt)],
      });
    } else if (action === 'REROLL') {
      ix.openModal({
        custom_id: `MJ::ImagineModal::${ix.message?.id ?? '0'}`,
        title: 'Remix Prompt',
        components: [field('MJ::ImagineModal::new_prompt', parent.prompt)],
      });
    } else if (action === 'VIDEO') {
      const motion = customId.includes('animate_low') ? 'low' : 'high';
      ix.openModal({
        custom_id: `MJ::AnimateModal::${parent.hash}::${index}::${motion}::0`,
        title: 'Animate',
        components: [field('MJ::AnimateModal::prompt', parent.prompt)],
      });
    } else {
      const strong = action === 'VARIATION_STRONG' ? 1 : 0;
      ix.openModal({
        custom_id: `MJ::RemixModal::${parent.hash}::${index}::${strong}`,
        title: 'Remix Prompt',
        components: [field('MJ::RemixModal::new_prompt', parent.prompt)],
      });
    }
  };

  const resultOf = (job: KitJob, channelId: string) =>
    job.resultMessageId ? discord.getMessage(channelId, job.resultMessageId) : undefined;

  const videoPrompt = (prompt: string, motion: 'high' | 'low') =>
    /--video\b/.test(prompt)
      ? prompt.replace(/--motion\s+\w+/, `--motion ${motion}`)
      : `<https://s.mj.run/${kit.shortId()}> ${prompt} --motion ${motion} --video 1`;

  const onClick = (ix: InteractionContext): boolean => {
    const customId = String(ix.data.custom_id ?? '');
    const s = state(ix.user.id);
    if (customId.startsWith('MJ::Prompts::Acknowledge::')) {
      if (s.pendingMod) {
        const { channelId, messageId } = s.pendingMod;
        s.pendingMod = null;
        s.acknowledged++;
        if (discord.getMessage(channelId, messageId))
          discord.editMessage(channelId, messageId, { components: [] });
      }
      return true;
    }
    if (customId === 'MJ::Settings::RemixMode') {
      s.remix = !s.remix;
      if (ix.message) discord.editMessage(ix.channelId, ix.message.id, { components: settingsRows(s) });
      discord.postMessage(ix.channelId, {
        ...base(ix, 'settings'),
        flags: 64,
        content: s.remix
          ? 'Remix mode turned on! You can disable it with /prefer remix'
          : 'Remix mode turned off!',
      });
      return true;
    }
    if (customId.startsWith('MJ::Settings::')) return true;
    const info = parseCustomId(customId);
    if (!info) return false;
    if (info.action === 'IMAGINE') {
      // A shortened prompt's button: the form to imagine it.
      const desc = ix.message?.embeds?.[0]?.description ?? '';
      const part = desc.split(/[0-9]\uFE0F?\u20E3/u)[info.index]?.trim() ?? '';
      ix.openModal({
        custom_id: `MJ::ImagineModal::${ix.message?.id ?? '0'}`,
        title: 'Imagine This!',
        components: [
          {
            type: 1,
            components: [
              { type: 4, custom_id: 'MJ::ImagineModal::new_prompt', label: 'Prompt', style: 2, value: part },
            ],
          },
        ],
      });
      return true;
    }
    if (info.action === 'DESCRIBE') {
      // Retry: describe the same picture again.
      const url = ix.message?.embeds?.[0]?.image?.url ?? '';
      const bytes = renderImage({ seed: url + Date.now(), step: 100, width: 64, height: 64 });
      kit.describe({
        ...ix,
        data: { ...ix.data, name: 'describe' },
        files: [{ id: '0', filename: 'retry.png', bytes, contentType: 'image/png' }],
      });
      return true;
    }
    if (info.action === 'PIC_READER' && info.index === 0) {
      // Imagine all: one job per described prompt, all answering this one click.
      const desc = ix.message?.embeds?.[0]?.description ?? '';
      for (const p of desc
        .split(/[0-9]\uFE0F?\u20E3/u)
        .slice(1)
        .map((x) => x.trim())
        .filter(Boolean)) {
        kit.startFromPrompt({ ...ix, data: { ...ix.data, name: 'imagine' } }, p, '', true);
      }
      return true;
    }
    const parent = info.hash ? kit.jobs.get(info.hash) : undefined;
    if (!parent) return false;
    const jobIx: JobIx = { ...ix, name: 'imagine' };
    if (s.remix && REMIXABLE_ACTIONS.has(info.action)) {
      remixForm(ix, info.action, parent, info.index, customId);
      return true;
    }
    if (info.action === 'VIDEO') {
      const motion = customId.includes('animate_low') ? 'low' : 'high';
      kit.runJob(jobIx, videoPrompt(parent.prompt, motion), VIDEO_LABELS[motion], false, ix.message);
      return true;
    }
    if (info.action === 'VIDEO_UPSCALE') {
      kit.runJob(jobIx, parent.prompt, `Video #${info.index}`, false, ix.message);
      return true;
    }
    if (info.action === 'VIDEO_EXTEND') {
      const motion = customId.includes('animate_low') ? 'low' : 'high';
      const label = motion === 'low' ? VIDEO_LABELS.extendLow : VIDEO_LABELS.extendHigh;
      kit.runJob(jobIx, videoPrompt(parent.prompt, motion), label, false, ix.message);
      return true;
    }
    return false;
  };

  const onModal = (ix: InteractionContext): boolean => {
    const customId = String(ix.data.custom_id ?? '');
    const form = parseModalCustomId(customId);
    if (
      !form ||
      (form.kind !== 'remix' && form.kind !== 'pan' && form.kind !== 'imagine' && form.kind !== 'animate')
    ) {
      return false;
    }
    const rows = Array.isArray(ix.data.components)
      ? (ix.data.components as { components?: { value?: unknown }[] }[])
      : [];
    const value = String(rows[0]?.components?.[0]?.value ?? '').trim();
    const jobIx: JobIx = { ...ix, name: 'imagine' };
    if (form.kind === 'imagine') {
      // A shorten pick or a reroll in remix mode: a new imagine of the prompt.
      kit.startFromPrompt({ ...ix, data: { ...ix.data, name: 'imagine' } }, value, '', true);
      return true;
    }
    const parent = form.hash ? kit.jobs.get(form.hash) : undefined;
    if (!parent || !value) {
      kit.errorEmbed(ix, 'Invalid request', 'This form is no longer valid.');
      return true;
    }
    const reply = resultOf(parent, ix.channelId);
    const prompt = echoPrompt(value, kit.shortId);
    if (form.kind === 'pan') {
      const dir = customId.split('::')[2] ?? 'left';
      kit.runJob(jobIx, prompt, `Pan ${dir.charAt(0).toUpperCase()}${dir.slice(1)}`, true, reply);
    } else if (form.kind === 'animate') {
      const motion = customId.includes('::low::') ? 'low' : 'high';
      kit.runJob(jobIx, videoPrompt(prompt, motion), VIDEO_LABELS[motion], false, reply);
    } else {
      const strong = customId.endsWith('::1');
      kit.runJob(jobIx, prompt, strong ? 'Remix (Strong)' : 'Remix', true, reply);
    }
    return true;
  };

  const onReaction = (r: ReactionContext) => {
    if (r.emoji !== '✉️' || r.message.author?.id !== MJ_USER.id) return;
    const job = [...kit.jobs.values()].find((j) => j.resultMessageId === r.message.id);
    const dm = kit.dmChannelFor?.(r.user.id);
    if (!job || !dm) return;
    const seed =
      Number.parseInt(createHash('sha256').update(job.hash).digest('hex').slice(0, 8), 16) % 4294967295;
    kit.later(kit.ms(700), () =>
      discord.postMessage(dm, {
        author: MJ_USER,
        content: `**${job.prompt}**\n**Job ID**: ${job.hash}\n**seed** ${seed}`,
        attachments: [],
      }),
    );
  };
  discord.onReaction(onReaction);

  const handle = (ix: InteractionContext): boolean => {
    if (ix.type === 2) {
      const name = String(ix.data.name ?? '');
      const option = (
        Array.isArray(ix.data.options) ? (ix.data.options as { name?: unknown; value?: unknown }[]) : []
      ).find((o) => o.name === 'prompt')?.value;
      if (name === 'info') info(ix);
      else if (name === 'settings') settings(ix);
      else if (name === 'relax' || name === 'fast' || name === 'turbo') setMode(ix, name);
      else if (name === 'shorten') {
        const prompt = String(option ?? '').trim();
        if (!prompt) kit.errorEmbed(ix, 'Empty prompt', 'Please provide a prompt.');
        else if (!refused(ix)) shorten(ix, prompt);
      } else if (name === 'imagine' || name === 'blend' || name === 'describe') return refused(ix);
      else return false;
      return true;
    }
    if (ix.type === 3) {
      const customId = String(ix.data.custom_id ?? '');
      if (!customId.startsWith('MJ::Prompts::') && !customId.startsWith('MJ::Settings::') && refused(ix))
        return true;
      return onClick(ix);
    }
    return onModal(ix);
  };

  return {
    handle,
    failSwitch,
    modeOf: (userId) => state(userId).mode,
    controls: {
      setRemix: (userId, on) => {
        state(userId).remix = on;
      },
      setFastHours: (userId, hours) => {
        state(userId).fastHours = hours;
      },
      user: (userId) => {
        const s = state(userId);
        return {
          remix: s.remix,
          mode: s.mode,
          fastHours: s.fastHours,
          pendingMod: s.pendingMod !== null,
          acknowledged: s.acknowledged,
          blockedUntil: s.blockedUntil,
        };
      },
    },
  };
}
