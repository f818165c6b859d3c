/**
 * Midjourney's message pieces as the real bot sends them (reference §4, §5): its author, the
 * interaction stamps, button rows, the head of an answer, and the content lines.
 */
import type { DiscordActionRow } from '../../discord/types.ts';
import { MIDJOURNEY_APP_ID } from '../../midjourney/ids.ts';
import type { FakeUser } from '../discord/api.ts';

export const MJ_USER: FakeUser & { bot: true } = {
  id: MIDJOURNEY_APP_ID,
  token: 'midjourney-bot-token-not-for-clients',
  username: 'Midjourney Bot',
  bot: true,
};

export const RED = 16711680;

export function userRef(u: FakeUser) {
  return {
    id: u.id,
    username: u.username,
    global_name: null,
    discriminator: '0',
    avatar: null,
    public_flags: 0,
  };
}

/** `interaction` + `interaction_metadata` stamps of a message answering an interaction. */
export function interactionStamps(id: string, name: string, user: FakeUser, type = 2) {
  return {
    interaction: { id, type, name, user: userRef(user) },
    interaction_metadata: {
      id,
      type,
      name,
      user: userRef(user),
      authorizing_integration_owners: { '0': user.id },
    },
  };
}

const btn = (
  custom_id: string,
  extra: { label?: string; emoji?: string; style?: number; emojiId?: string },
) => ({
  type: 2,
  style: extra.style ?? 2,
  custom_id,
  ...(extra.label ? { label: extra.label } : {}),
  ...(extra.emoji ? { emoji: { name: extra.emoji, ...(extra.emojiId ? { id: extra.emojiId } : {}) } } : {}),
});

const row = (components: ReturnType<typeof btn>[]): DiscordActionRow => ({ type: 1, components });

export function cancelRow(hash: string): DiscordActionRow[] {
  return [row([btn(`MJ::CancelJob::ByJobid::${hash}`, { label: 'Cancel Job', style: 4 })])];
}

/** U1–U4 + reroll / V1–V4 (payload (b) of the reference). */
export function gridRows(hash: string): DiscordActionRow[] {
  return [
    row([
      ...[1, 2, 3, 4].map((i) => btn(`MJ::JOB::upsample::${i}::${hash}`, { label: `U${i}` })),
      btn(`MJ::JOB::reroll::0::${hash}::SOLO`, { emoji: '🔄' }),
    ]),
    row([1, 2, 3, 4].map((i) => btn(`MJ::JOB::variation::${i}::${hash}`, { label: `V${i}` }))),
  ];
}

/** Buttons under an upscaled single image (payload (d), V6 layout, with bookmark and Web link). */
export function singleRows(hash: string): DiscordActionRow[] {
  return [
    row([
      btn(`MJ::JOB::upsample_v6_2x_subtle::1::${hash}::SOLO`, {
        label: 'Upscale (Subtle)',
        emoji: 'upscale_1',
        emojiId: '940147353879478324',
      }),
      btn(`MJ::JOB::upsample_v6_2x_creative::1::${hash}::SOLO`, {
        label: 'Upscale (Creative)',
        emoji: 'upscale_1',
        emojiId: '940147353879478324',
      }),
    ]),
    row([
      btn(`MJ::JOB::high_variation::1::${hash}::SOLO`, { label: 'Vary (Strong)', emoji: '🪄' }),
      btn(`MJ::JOB::low_variation::1::${hash}::SOLO`, { label: 'Vary (Subtle)', emoji: '🪄' }),
      btn(`MJ::Inpaint::1::${hash}::SOLO`, { label: 'Vary (Region)', emoji: '🖌️' }),
      btn(`MJ::JOB::animate_high::1::${hash}::SOLO`, { label: 'Animate (High motion)', emoji: '🎞️' }),
      btn(`MJ::JOB::animate_low::1::${hash}::SOLO`, { label: 'Animate (Low motion)', emoji: '🎞️' }),
    ]),
    row([
      btn(`MJ::Outpaint::50::1::${hash}::SOLO`, { label: 'Zoom Out 2x', emoji: '🔍' }),
      btn(`MJ::Outpaint::75::1::${hash}::SOLO`, { label: 'Zoom Out 1.5x', emoji: '🔍' }),
      btn(`MJ::CustomZoom::${hash}`, { label: 'Custom Zoom', emoji: '🔍' }),
      btn(`MJ::Outpaint::100::1::${hash}::SOLO`, { label: 'Make Square', emoji: '↔️' }),
    ]),
    row([
      btn(`MJ::JOB::pan_left::1::${hash}::SOLO`, { emoji: '⬅️' }),
      btn(`MJ::JOB::pan_right::1::${hash}::SOLO`, { emoji: '➡️' }),
      btn(`MJ::JOB::pan_up::1::${hash}::SOLO`, { emoji: '⬆️' }),
      btn(`MJ::JOB::pan_down::1::${hash}::SOLO`, { emoji: '⬇️' }),
    ]),
    {
      type: 1,
      components: [
        btn(`MJ::BOOKMARK::${hash}`, { emoji: '❤️' }),
        { type: 2, style: 5, label: 'Web', url: `https://www.midjourney.com/app/jobs/${hash}/` },
      ],
    },
  ];
}

export function describeRows(): DiscordActionRow[] {
  return [
    row([
      ...['1️⃣', '2️⃣', '3️⃣', '4️⃣'].map((e, i) => btn(`MJ::Job::PicReader::${i + 1}`, { emoji: e })),
      btn('MJ::Picread::Retry', { emoji: '🔄' }),
    ]),
    row([btn('MJ::Job::PicReader::all', { label: 'Imagine all', emoji: '🎉' })]),
  ];
}

/** Midjourney's echo: image URLs become `<https://s.mj.run/…>` links. */
export function echoPrompt(prompt: string, shortId: () => string): string {
  return prompt
    .replace(/<?(https?:\/\/[^\s>]+)>?/g, () => `<https://s.mj.run/${shortId()}>`)
    .replace(/\s+/g, ' ')
    .trim();
}

export function slug(prompt: string): string {
  return (
    prompt
      .replace(/<[^>]*>/g, '')
      .replace(/--\S+(\s+\S+)?/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 40) || 'image'
  );
}

/** A grey button (or styled by `extra`), as the 2026 answers lay them out. */
export function plainButton(
  custom_id: string,
  label: string | undefined,
  extra: Record<string, unknown> = {},
) {
  return { type: 2, style: 2, custom_id, ...(label ? { label } : {}), ...extra };
}

/** The head of a message answering an interaction: author, nonce and its stamps. */
export function answerTo(
  ix: { id: string; nonce: string | undefined; guildId: string | undefined; user: FakeUser },
  name: string,
) {
  return {
    author: MJ_USER,
    type: ix.guildId ? 20 : 0,
    nonce: ix.nonce,
    webhook_id: MJ_USER.id,
    application_id: MJ_USER.id,
    ...interactionStamps(ix.id, name, ix.user),
  };
}
