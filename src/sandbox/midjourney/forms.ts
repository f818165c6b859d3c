/**
 * The classic buttons that open a form before any job, and what their submits start (reference
 * §4.3): PicReader 1–4 (the described prompt to imagine), Custom Zoom (the prompt with
 * `--zoom 2`, checked to be 1..2) and Vary (Region), whose inpaint editor submits a mask through
 * the sandbox's iframe route. The 2026 forms (remix, shorten picks, Animate) are in extras.ts.
 */
import { randomBytes } from 'node:crypto';
import type { CustomIdInfo } from '../../midjourney/custom-ids.ts';
import type { InteractionContext } from '../discord/api.ts';
import type { PromptStarter } from './commands.ts';
import { type BotCore, formValue, type SandboxJob, textForm } from './core.ts';
import { echoPrompt } from './messages.ts';
import type { JobRunner } from './run-job.ts';

export interface ClassicForms {
  /** Opens the form of a PicReader, Custom Zoom or Vary (Region) button; false for others. */
  open(ix: InteractionContext, info: CustomIdInfo, parent: SandboxJob | undefined): boolean;
  /** Answers a submitted Custom Zoom or PicReader form. */
  submit(ix: InteractionContext): void;
}

export function attachClassicForms(core: BotCore, runner: JobRunner, starter: PromptStarter): ClassicForms {
  const { discord, shortId } = core;
  /** Open inpaint editors: the token in the iframe's URL → the click that opened it. */
  const inpaintTokens = new Map<string, { ix: InteractionContext; parent: SandboxJob }>();

  discord.onInpaintSubmit((body) => {
    const entry = inpaintTokens.get(body.customId);
    if (!entry) return { ok: false, status: 404, message: 'unknown job' };
    if (!body.mask) return { ok: false, status: 400, message: 'mask is required' };
    inpaintTokens.delete(body.customId);
    const { ix, parent } = entry;
    runner.runJob(
      { ...ix, name: 'imagine' },
      {
        prompt: echoPrompt(body.prompt || parent.prompt, shortId),
        label: 'Variations (Region)',
        grid: true,
        reply: core.resultMessage(parent, ix.channelId),
      },
    );
    return { ok: true };
  });

  const open: ClassicForms['open'] = (ix, info, parent) => {
    if (info.action === 'PIC_READER') {
      const n = info.index;
      const embed = ix.message?.embeds?.[0]?.description ?? '';
      const chosen = embed.split(/\n\n/)[n - 1]?.replace(/^\S+\s*/u, '') ?? '';
      ix.openModal({
        custom_id: `MJ::Picreader::Modal::${n}`,
        title: 'Imagine This!',
        components: [textForm('MJ::Picreader::Modal::PromptField', 'Prompt', chosen)],
      });
      return true;
    }
    if (!parent) return false;
    if (info.action === 'ZOOMOUT_CUSTOM') {
      ix.openModal({
        custom_id: `MJ::OutpaintCustomZoomModal::${parent.hash}`,
        title: 'Zoom Out',
        components: [
          textForm('MJ::OutpaintCustomZoomModal::prompt', 'Zoom Out', `${parent.prompt} --zoom 2`),
        ],
      });
      return true;
    }
    if (info.action === 'VARIATION_REGION') {
      const token = randomBytes(12).toString('base64url');
      inpaintTokens.set(token, { ix, parent });
      ix.openIframeModal({
        custom_id: `MJ::iframe::${token}`,
        title: 'Inpaint',
        iframe_path: `/inpaint/?custom_id=${token}`,
      });
      return true;
    }
    return false;
  };

  const submit: ClassicForms['submit'] = (ix) => {
    const customId = String(ix.data.custom_id ?? '');
    const value = formValue(ix.data);
    if (customId.startsWith('MJ::OutpaintCustomZoomModal::')) {
      const parent = core.jobs.get(customId.split('::').pop() ?? '');
      const zoom = /--zoom\s+(\d+(?:\.\d+)?)/.exec(value);
      if (!parent || !zoom || Number(zoom[1]) < 1 || Number(zoom[1]) > 2) {
        core.errorEmbed(ix, 'Invalid parameter', '`--zoom` must be between 1 and 2');
        return;
      }
      runner.runJob(
        { ...ix, name: 'imagine' },
        {
          prompt: echoPrompt(value, shortId),
          label: 'Zoom Out',
          grid: true,
          reply: core.resultMessage(parent, ix.channelId),
        },
      );
    } else if (customId.startsWith('MJ::Picreader::Modal::')) {
      starter.startFromPrompt({ ...ix, data: { ...ix.data, name: 'imagine' } }, value, '', true);
    }
  };

  return { open, submit };
}
