/**
 * `/imagine` and `/blend`, and how the bot starts a job from a prompt: the sandbox's answer
 * switches in the prompt (`--fail <title>` answers that error embed, `--fail-reply <title>` fails
 * the job after it started, `--fail Job queued` answers the notice and runs the job anyway), then
 * Midjourney's own parameter check, then the job with the prompt as the bot echoes it.
 */
import type { DiscordMessage } from '../../discord/types.ts';
import type { InteractionContext } from '../discord/api.ts';
import { type BotCore, optionValue } from './core.ts';
import { echoPrompt } from './messages.ts';
import { invalidParameter } from './parameters.ts';
import type { JobRunner } from './run-job.ts';

export interface PromptStarter {
  /** Starts a job from a prompt as typed, after the answer switches and the parameter check. */
  startFromPrompt(
    ix: InteractionContext,
    rawPrompt: string,
    label: string,
    grid: boolean,
    reply?: DiscordMessage,
  ): void;
  /** Answers `/imagine` and `/blend`; false for other commands. */
  onCommand(ix: InteractionContext): boolean;
}

export function createPromptStarter(
  core: BotCore,
  runner: JobRunner,
  /** The switches the 2026 surface answers itself (moderation); true when it did. */
  failSwitch: (ix: InteractionContext, title: string) => boolean,
): PromptStarter {
  const { ms, later, errorEmbed, shortId } = core;

  const startFromPrompt: PromptStarter['startFromPrompt'] = (ix, rawPrompt, label, grid, reply) => {
    const name = String(ix.data.name ?? 'imagine');
    const late = /--fail-reply\s+(.+?)(?=\s--|$)/.exec(rawPrompt);
    if (late) {
      const title = (late[1] ?? '').trim();
      const clean = rawPrompt.replace(late[0], '').trim();
      runner.runJob(
        { ...ix, name },
        {
          prompt: echoPrompt(clean, shortId),
          label,
          grid,
          reply,
          failReply: {
            title,
            description: `The link in \`${clean}\` could not be read.\n**Check** it and try again.\n\nSandbox answer.`,
          },
        },
      );
      return;
    }
    const fail = /--fail\s+(.+?)(?=\s--|$)/.exec(rawPrompt);
    let prompt = rawPrompt;
    if (fail) {
      const title = (fail[1] ?? '').trim();
      prompt = rawPrompt.replace(fail[0], '').trim();
      if (failSwitch(ix, title)) return;
      if (title === 'Job queued') {
        errorEmbed(ix, 'Job queued', 'Your job will start shortly.', 16776960, `/imagine ${prompt}`);
      } else {
        later(null, ms(500), () =>
          errorEmbed(
            ix,
            title,
            `Sorry! The sandbox was asked to answer "${title}" for this prompt.\n\n\`${prompt}\``,
          ),
        );
        return;
      }
    }
    const invalid = invalidParameter(prompt);
    if (invalid) {
      later(null, ms(500), () => errorEmbed(ix, 'Invalid parameter', invalid));
      return;
    }
    runner.runJob({ ...ix, name }, { prompt: echoPrompt(prompt, shortId), label, grid, reply });
  };

  const onCommand = (ix: InteractionContext): boolean => {
    const name = String(ix.data.name ?? '');
    if (name === 'imagine') {
      const prompt = String(optionValue(ix.data, 'prompt') ?? '').trim();
      if (!prompt) errorEmbed(ix, 'Empty prompt', 'Please provide a prompt.');
      else startFromPrompt(ix, prompt, '', true);
      return true;
    }
    if (name === 'blend') {
      const files = ix.files;
      const seen = new Set(files.map((x) => x.bytes.toString('base64')));
      if (seen.size < files.length) {
        later(null, ms(500), () =>
          errorEmbed(ix, 'Duplicate images detected', 'Please upload different images.'),
        );
        return true;
      }
      const dims = optionValue(ix.data, 'dimensions');
      const links = files.map(() => `<https://s.mj.run/${shortId()}>`).join(' ');
      const prompt = `${links}${typeof dims === 'string' ? ` ${dims}` : ''}`;
      runner.runJob({ ...ix, name: 'blend' }, { prompt, label: '', grid: true });
      return true;
    }
    return false;
  };

  return { startFromPrompt, onCommand };
}
