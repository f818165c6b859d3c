/**
 * `/shorten` (SPEC §14): the prompt's important tokens and five shorter prompts with buttons
 * 1–5; a button opens the form to imagine its prompt (the form's submit is in remix.ts).
 */
import { randomBytes } from 'node:crypto';
import type { CustomIdInfo } from '../../midjourney/custom-ids.ts';
import type { InteractionContext } from '../discord/api.ts';
import { type BotCore, optionValue, textForm } from './core.ts';
import { answerTo, plainButton } from './messages.ts';
import type { Moderation } from './moderation.ts';

export interface Shorten {
  /** Answers `/shorten`. */
  onCommand(ix: InteractionContext): void;
  /** A shortened prompt's button: the form to imagine it. */
  pick(ix: InteractionContext, info: CustomIdInfo): void;
}

const KEYS = ['1️⃣', '2️⃣', '3️⃣', '4️⃣', '5️⃣'];
const PARAMETERS = /(?:^|\s)--\S[\s\S]*$/;

/** Five prompts, each shorter than the one before; the parameters stay on all of them. */
function fiveShorter(prompt: string): string[] {
  const params = /(?:^|\s)(--\S[\s\S]*)$/.exec(prompt)?.[1] ?? '';
  const words = prompt.replace(PARAMETERS, '').split(/\s+/).filter(Boolean);
  return [1, 2, 3, 4, 5].map((i) => {
    const keep = Math.max(1, Math.ceil((words.length * (6 - i)) / 6));
    return `${words.slice(0, keep).join(' ')}${params ? ` ${params}` : ''}`;
  });
}

export function createShorten(core: BotCore, moderation: Moderation): Shorten {
  const { discord } = core;

  const answer = (ix: InteractionContext, prompt: string) => {
    const prompts = fiveShorter(prompt);
    const tokens = prompt
      .replace(PARAMETERS, '')
      .split(/\s+/)
      .filter(Boolean)
      .map((w, i) => (i % 2 === 0 ? `**${w}**` : w))
      .join(' ');
    core.later(null, core.ms(1500), () =>
      discord.postMessage(ix.channelId, {
        ...answerTo(ix, 'shorten'),
        embeds: [
          {
            type: 'rich',
            description: `**IMPORTANT TOKENS**\n${tokens}\n\n**SHORTENED PROMPTS**\n${prompts.map((p, i) => `${KEYS[i]} ${p}`).join('\n\n')}`,
            footer: { text: 'Click on a button to imagine one of the shortened prompts' },
            color: 0,
          },
        ],
        components: [
          {
            type: 1,
            components: KEYS.map((e, i) =>
              plainButton(`MJ::Job::PromptAnalyzer::${i + 1}`, undefined, { emoji: { name: e } }),
            ),
          },
          {
            type: 1,
            components: [
              plainButton(`MJ::Job::PromptAnalyzer::Show::${randomBytes(4).toString('hex')}`, 'Show Details'),
            ],
          },
        ],
      }),
    );
  };

  return {
    onCommand: (ix) => {
      const prompt = String(optionValue(ix.data, 'prompt') ?? '').trim();
      if (!prompt) core.errorEmbed(ix, 'Empty prompt', 'Please provide a prompt.');
      else if (!moderation.refused(ix)) answer(ix, prompt);
    },
    pick: (ix, info) => {
      const desc = ix.message?.embeds?.[0]?.description ?? '';
      const part = desc.split(/[0-9]\uFE0F?\u20E3/u)[info.index]?.trim() ?? '';
      ix.openModal({
        custom_id: `MJ::ImagineModal::${ix.message?.id ?? '0'}`,
        title: 'Imagine This!',
        components: [textForm('MJ::ImagineModal::new_prompt', 'Prompt', part)],
      });
    },
  };
}
