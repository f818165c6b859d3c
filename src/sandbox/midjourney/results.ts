/**
 * What the sandbox's result message of a job carries, by the job's kind (reference §4.3, §4.4,
 * compat-clients §4.1): an image grid (V8 grids without upscale buttons), or videos — a batch of
 * `.mp4` files with `video_virtual_upscale` picks, or one video with the extend buttons.
 */
import type { DiscordActionRow, DiscordAttachment } from '../../discord/types.ts';
import { isVideoPrompt, promptVersion } from '../../midjourney/index.ts';
import type { FakeDiscord } from '../discord/api.ts';
import { renderVideo } from '../mp4.ts';
import { gridRows, singleRows, slug } from './messages.ts';

/** Labels of the video jobs: what Midjourney writes before the user in their messages. */
export const VIDEO_LABELS = {
  high: 'Animate (High motion)',
  low: 'Animate (Low motion)',
  extendHigh: 'Extend (High motion)',
  extendLow: 'Extend (Low motion)',
} as const;

/** True for the labels and prompts of video jobs. */
export function isVideoJob(prompt: string, label: string): boolean {
  return isVideoPrompt(prompt) || /^(?:Animate|Extend|Video #)/.test(label);
}

/** How many videos a job makes: one for a pick or an extend, else `--bs` (Midjourney's default 4). */
export function batchOf(prompt: string, label: string): number {
  if (/^(?:Extend|Video #)/.test(label)) return 1;
  const bs = /(?:^|\s)--bs\s+(\d)/.exec(prompt);
  const n = bs ? Number(bs[1]) : 4;
  return n === 1 || n === 2 || n === 4 ? n : 4;
}

const row = (components: DiscordActionRow['components']): DiscordActionRow => ({ type: 1, components });

/** Buttons under a video result: pick one of a batch, or extend the one video. */
export function videoRows(hash: string, batch: number): DiscordActionRow[] {
  if (batch > 1) {
    return [
      row(
        Array.from({ length: batch }, (_, i) => ({
          type: 2,
          style: 2,
          label: `U${i + 1}`,
          custom_id: `MJ::JOB::video_virtual_upscale::${i + 1}::${hash}`,
        })),
      ),
    ];
  }
  return [
    row([
      {
        type: 2,
        style: 2,
        label: 'Extend (High motion)',
        emoji: { name: '🎞️' },
        custom_id: `MJ::JOB::animate_high_extend::1::${hash}`,
      },
      {
        type: 2,
        style: 2,
        label: 'Extend (Low motion)',
        emoji: { name: '🎞️' },
        custom_id: `MJ::JOB::animate_low_extend::1::${hash}`,
      },
    ]),
  ];
}

/** The image grid of a V8/V8.1 job: Midjourney shows no upscale buttons there. */
function v8GridRows(hash: string): DiscordActionRow[] {
  return gridRows(hash)
    .map((r) => row(r.components.filter((c) => !String(c.custom_id ?? '').startsWith('MJ::JOB::upsample::'))))
    .filter((r) => r.components.length > 0);
}

/** The attachments and buttons of a finished job's message. */
export function resultParts(
  discord: FakeDiscord,
  job: {
    channelId: string;
    username: string;
    prompt: string;
    label: string;
    hash: string;
    grid: boolean;
    /** The picture of an image result. */
    still: () => Buffer;
  },
): { attachments: DiscordAttachment[]; components: DiscordActionRow[] } {
  const { channelId, prompt, label, hash, grid } = job;
  if (isVideoJob(prompt, label)) {
    const batch = batchOf(prompt, label);
    const attachments = Array.from({ length: batch }, (_, i) =>
      discord.storeFile(
        channelId,
        `${hash}_${i}.mp4`,
        renderVideo({ seed: `${prompt}${hash}${i}` }),
        'video/mp4',
      ),
    );
    return { attachments, components: videoRows(hash, batch) };
  }
  const image = discord.storeFile(
    channelId,
    `${job.username}_${slug(prompt)}_${hash}.png`,
    job.still(),
    'image/png',
  );
  const version = promptVersion(prompt);
  const v8 = version === '8' || version === '8.1';
  const components = grid ? (v8 ? v8GridRows(hash) : gridRows(hash)) : singleRows(hash);
  return { attachments: [image], components };
}
