/**
 * Remix (SPEC §14): with a user's remix on, V / Vary / pan / reroll / Animate open a form with
 * the parent's prompt instead of starting at once; the submitted prompt runs the job. The same
 * submit path answers the imagine form of a shorten pick (and of a remixed reroll).
 */
import type { CustomIdInfo } from '../../midjourney/custom-ids.ts';
import { parseModalCustomId } from '../../midjourney/index.ts';
import type { InteractionContext } from '../discord/api.ts';
import type { PromptStarter } from './commands.ts';
import { type BotCore, formValue, type JobIx, type SandboxJob, textForm } from './core.ts';
import { echoPrompt } from './messages.ts';
import { VIDEO_LABELS } from './results.ts';
import type { JobRunner } from './run-job.ts';
import { videoPrompt } from './video.ts';

export interface Remix {
  /** Opens the remix form of a button press on `parent`'s result. */
  openForm(ix: InteractionContext, info: CustomIdInfo, parent: SandboxJob): void;
  /** Answers a remix, pan, imagine or animate form; false for other forms. */
  onSubmit(ix: InteractionContext): boolean;
}

const field = (custom_id: string, value: string) => textForm(custom_id, 'New prompt for image', value);

export function createRemix(core: BotCore, runner: JobRunner, starter: PromptStarter): Remix {
  const openForm: Remix['openForm'] = (ix, info, parent) => {
    const { action, index } = info;
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
      const motion = String(ix.data.custom_id ?? '').includes('animate_low') ? 'low' : 'high';
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

  const onSubmit: Remix['onSubmit'] = (ix) => {
    const customId = String(ix.data.custom_id ?? '');
    const form = parseModalCustomId(customId);
    if (
      !form ||
      (form.kind !== 'remix' && form.kind !== 'pan' && form.kind !== 'imagine' && form.kind !== 'animate')
    ) {
      return false;
    }
    const value = formValue(ix.data);
    const jobIx: JobIx = { ...ix, name: 'imagine' };
    if (form.kind === 'imagine') {
      // A shorten pick or a reroll in remix mode: a new imagine of the prompt.
      starter.startFromPrompt({ ...ix, data: { ...ix.data, name: 'imagine' } }, value, '', true);
      return true;
    }
    const parent = form.hash ? core.jobs.get(form.hash) : undefined;
    if (!parent || !value) {
      core.errorEmbed(ix, 'Invalid request', 'This form is no longer valid.');
      return true;
    }
    const reply = core.resultMessage(parent, ix.channelId);
    const prompt = echoPrompt(value, core.shortId);
    const run = (prompt: string, label: string, grid: boolean) =>
      runner.runJob(jobIx, { prompt, label, grid, reply });
    if (form.kind === 'pan') {
      const dir = customId.split('::')[2] ?? 'left';
      run(prompt, `Pan ${dir.charAt(0).toUpperCase()}${dir.slice(1)}`, true);
    } else if (form.kind === 'animate') {
      const motion = customId.includes('::low::') ? 'low' : 'high';
      run(videoPrompt(core, prompt, motion), VIDEO_LABELS[motion], false);
    } else {
      run(prompt, customId.endsWith('::1') ? 'Remix (Strong)' : 'Remix', true);
    }
    return true;
  };

  return { openForm, onSubmit };
}
