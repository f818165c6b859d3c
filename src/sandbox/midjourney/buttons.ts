/**
 * The follow-up buttons under a finished job (reference §4.3) that start work at once: U1–U4
 * reply with one picture of the grid; V, reroll, Vary, zoom, pan and the HD upscales run a new
 * job that replies to the pressed message. Buttons that open a form are in forms.ts.
 */
import { randomUUID } from 'node:crypto';
import type { DiscordMessage } from '../../discord/types.ts';
import type { Action } from '../../midjourney/actions.ts';
import type { CustomIdInfo } from '../../midjourney/custom-ids.ts';
import { MIDJOURNEY_APP_ID } from '../../midjourney/ids.ts';
import type { InteractionContext } from '../discord/api.ts';
import { quadrantSize, renderUpscale } from '../grid-image.ts';
import type { BotCore, SandboxJob } from './core.ts';
import { MJ_USER, singleRows, slug, userRef } from './messages.ts';
import type { JobRunner } from './run-job.ts';

/** Buttons that start a new generating job: the words Midjourney puts before the user, and whether the result is a grid. */
const JOB_BUTTONS: Partial<Record<Action, { label: string; grid: boolean }>> = {
  VARIATION: { label: 'Variations', grid: true },
  REROLL: { label: '', grid: true },
  VARIATION_STRONG: { label: 'Variations (Strong)', grid: true },
  VARIATION_SUBTLE: { label: 'Variations (Subtle)', grid: true },
  ZOOMOUT: { label: 'Zoom Out', grid: true },
  MAKE_SQUARE: { label: 'Zoom Out', grid: true },
  PANLEFT: { label: 'Pan Left', grid: true },
  PANRIGHT: { label: 'Pan Right', grid: true },
  PANUP: { label: 'Pan Up', grid: true },
  PANDOWN: { label: 'Pan Down', grid: true },
  UPSCALE_V5_2X: { label: 'Upscaled (2x)', grid: false },
  UPSCALE_V5_4X: { label: 'Upscaled (4x)', grid: false },
  UPSCALE_V6_2X_SUBTLE: { label: 'Upscaled (Subtle)', grid: false },
  UPSCALE_V6_2X_CREATIVE: { label: 'Upscaled (Creative)', grid: false },
};

/** Answers a press of one of these buttons on `parent`'s result; false for other buttons. */
export function pressButton(
  core: BotCore,
  runner: JobRunner,
  ix: InteractionContext,
  info: CustomIdInfo,
  parent: SandboxJob,
): boolean {
  if (info.action === 'UPSCALE') {
    upscaleReply(core, ix, parent, info.index);
    return true;
  }
  const job = JOB_BUTTONS[info.action];
  if (!job) return false;
  runner.runJob({ ...ix, name: 'imagine' }, { prompt: parent.prompt, ...job, reply: ix.message });
  return true;
}

/** U1–U4: one picture of the grid at the quadrant's size, replying to the grid. */
function upscaleReply(core: BotCore, ix: InteractionContext, parent: SandboxJob, index: number): void {
  const { discord } = core;
  const hash = randomUUID();
  const grid = ix.message as DiscordMessage;
  const job: SandboxJob = {
    hash,
    userId: ix.user.id,
    channelId: ix.channelId,
    nonce: ix.nonce,
    interactionId: ix.id,
    prompt: parent.prompt,
    label: `Image #${index}`,
    resultMessageId: null,
    state: 'running',
  };
  core.remember(job);
  core.counters.started++;
  core.later(null, core.ms(1500), () =>
    core.gate(100, () => {
      const image = discord.storeFile(
        ix.channelId,
        `${ix.user.username}_${slug(parent.prompt)}_${hash}.png`,
        renderUpscale(parent.prompt + parent.hash, index, quadrantSize(parent.prompt)),
        'image/png',
      );
      const msg = discord.postMessage(ix.channelId, {
        author: MJ_USER,
        type: 19,
        webhook_id: MIDJOURNEY_APP_ID,
        application_id: MIDJOURNEY_APP_ID,
        content: `**${parent.prompt}** - Image #${index} <@${ix.user.id}>`,
        mentions: [userRef(ix.user)],
        attachments: [image],
        components: singleRows(hash),
        message_reference: { message_id: grid.id, channel_id: ix.channelId },
        referenced_message: grid,
        ...core.stamps({ id: ix.id, name: 'upscale', user: ix.user }),
      });
      job.resultMessageId = msg.id;
      job.state = 'done';
      core.counters.finished++;
      core.changed();
    }),
  );
}
