/**
 * The sandbox bot's 2026 surface (SPEC §14) beside its classic jobs, and which interactions it
 * takes before them: the account commands (account-commands.ts), `/shorten` and its picks
 * (shorten.ts), remix forms (remix.ts), the video buttons (video.ts), describe's Retry and
 * Imagine all (describe.ts), the seed DM for a ✉️ reaction (seed-dm.ts), and the refusals of a
 * user's standing: blocks, pending moderation notices, no fast hours (moderation.ts).
 */
import { parseCustomId, REMIXABLE_ACTIONS } from '../../midjourney/index.ts';
import type { InteractionContext } from '../discord/api.ts';
import { createAccountCommands } from './account-commands.ts';
import type { PromptStarter } from './commands.ts';
import type { BotCore } from './core.ts';
import { pressDescribeButton } from './describe.ts';
import { createModeration } from './moderation.ts';
import { createRemix } from './remix.ts';
import type { JobRunner } from './run-job.ts';
import { attachSeedDm } from './seed-dm.ts';
import { createShorten } from './shorten.ts';
import type { BotControls, Users } from './users.ts';
import { pressVideoButton } from './video.ts';

export type { BotControls } from './users.ts';

export interface Extras {
  /** Answers an interaction of the 2026 surface, or refuses one for the user's standing. */
  handle(ix: InteractionContext): boolean;
  /** Answers the moderation switches of `--fail <title>`; false for other titles. */
  failSwitch(ix: InteractionContext, title: string): boolean;
  controls: BotControls;
}

/** Hooks the extras into the bot; `handle` comes first for every interaction. */
export function attachExtras(
  core: BotCore,
  runner: JobRunner,
  starter: PromptStarter,
  users: Users,
  dmChannelFor: ((userId: string) => string | undefined) | undefined,
): Extras {
  const moderation = createModeration(core, users.state);
  const account = createAccountCommands(core, users.state);
  const shorten = createShorten(core, moderation);
  const remix = createRemix(core, runner, starter);
  attachSeedDm(core, dmChannelFor);

  const onClick = (ix: InteractionContext): boolean => {
    const customId = String(ix.data.custom_id ?? '');
    if (moderation.onClick(ix, customId) || account.onClick(ix, customId)) return true;
    const info = parseCustomId(customId);
    if (!info) return false;
    if (info.action === 'IMAGINE') {
      shorten.pick(ix, info);
      return true;
    }
    if (pressDescribeButton(core, starter, ix, info)) return true;
    const parent = info.hash ? core.jobs.get(info.hash) : undefined;
    if (!parent) return false;
    if (users.state(ix.user.id).remix && REMIXABLE_ACTIONS.has(info.action)) {
      remix.openForm(ix, info, parent);
      return true;
    }
    return pressVideoButton(core, runner, ix, info, parent);
  };

  const handle = (ix: InteractionContext): boolean => {
    if (ix.type === 2) {
      const name = String(ix.data.name ?? '');
      if (account.onCommand(ix, name)) return true;
      if (name === 'shorten') {
        shorten.onCommand(ix);
        return true;
      }
      if (name === 'imagine' || name === 'blend' || name === 'describe') return moderation.refused(ix);
      return false;
    }
    if (ix.type === 3) {
      const customId = String(ix.data.custom_id ?? '');
      // Acknowledging a notice and the settings work whatever the user's standing.
      if (
        !customId.startsWith('MJ::Prompts::') &&
        !customId.startsWith('MJ::Settings::') &&
        moderation.refused(ix)
      )
        return true;
      return onClick(ix);
    }
    return remix.onSubmit(ix);
  };

  return { handle, failSwitch: moderation.failSwitch, controls: users.controls };
}
