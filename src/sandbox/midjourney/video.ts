/**
 * The video buttons (SPEC §14): Animate (High|Low motion) on an upscale starts a batch of
 * videos, `video_virtual_upscale` picks one of a batch, and the extend buttons lengthen one.
 * Their results (the `.mp4` attachments and buttons) are made in results.ts.
 */
import type { CustomIdInfo } from '../../midjourney/custom-ids.ts';
import type { InteractionContext } from '../discord/api.ts';
import type { BotCore, JobIx, SandboxJob } from './core.ts';
import { VIDEO_LABELS } from './results.ts';
import type { JobRunner } from './run-job.ts';

/** The prompt of a video job: the parent's picture first, then its prompt with the motion. */
export function videoPrompt(core: BotCore, prompt: string, motion: 'high' | 'low'): string {
  return /--video\b/.test(prompt)
    ? prompt.replace(/--motion\s+\w+/, `--motion ${motion}`)
    : `<https://s.mj.run/${core.shortId()}> ${prompt} --motion ${motion} --video 1`;
}

/** Runs the video job of a video button on `parent`'s result; false for other buttons. */
export function pressVideoButton(
  core: BotCore,
  runner: JobRunner,
  ix: InteractionContext,
  info: CustomIdInfo,
  parent: SandboxJob,
): boolean {
  const customId = String(ix.data.custom_id ?? '');
  const jobIx: JobIx = { ...ix, name: 'imagine' };
  const motion = customId.includes('animate_low') ? 'low' : 'high';
  const run = (prompt: string, label: string) =>
    runner.runJob(jobIx, { prompt, label, grid: false, reply: ix.message });
  if (info.action === 'VIDEO') run(videoPrompt(core, parent.prompt, motion), VIDEO_LABELS[motion]);
  else if (info.action === 'VIDEO_UPSCALE') run(parent.prompt, `Video #${info.index}`);
  else if (info.action === 'VIDEO_EXTEND')
    run(
      videoPrompt(core, parent.prompt, motion),
      motion === 'low' ? VIDEO_LABELS.extendLow : VIDEO_LABELS.extendHigh,
    );
  else return false;
  return true;
}
