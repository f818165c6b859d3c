/**
 * The seed DM (SPEC §14): a ✉️ reaction on one of the bot's results makes the bot DM the user
 * the job's id and seed (`**seed** <n>`), the seed following from the job's hash.
 */
import { createHash } from 'node:crypto';
import type { BotCore } from './core.ts';
import { MJ_USER } from './messages.ts';

/** Answers ✉️ reactions; `dmChannelFor` finds the user's DM channel with the bot. */
export function attachSeedDm(
  core: BotCore,
  dmChannelFor: ((userId: string) => string | undefined) | undefined,
): void {
  const { discord } = core;
  discord.onReaction((r) => {
    if (r.emoji !== '✉️' || r.message.author?.id !== MJ_USER.id) return;
    const job = [...core.jobs.values()].find((j) => j.resultMessageId === r.message.id);
    const dm = dmChannelFor?.(r.user.id);
    if (!job || !dm) return;
    const seed =
      Number.parseInt(createHash('sha256').update(job.hash).digest('hex').slice(0, 8), 16) % 4294967295;
    core.later(null, core.ms(700), () =>
      discord.postMessage(dm, {
        author: MJ_USER,
        content: `**${job.prompt}**\n**Job ID**: ${job.hash}\n**seed** ${seed}`,
        attachments: [],
      }),
    );
  });
}
