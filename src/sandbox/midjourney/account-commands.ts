/**
 * The commands about the account rather than a job (reference §4.4): `/info` with the plan, mode
 * and fast time left, `/settings` with its remix and speed buttons (remix is the one that acts),
 * and `/fast`, `/relax`, `/turbo` (each user's mode, which a job without a speed flag runs in),
 * each answered ephemerally as Midjourney does.
 */
import type { DiscordActionRow } from '../../discord/types.ts';
import type { InteractionContext } from '../discord/api.ts';
import type { BotCore } from './core.ts';
import { answerTo, plainButton } from './messages.ts';
import type { UserState, UserStates } from './users.ts';

export interface AccountCommands {
  /** Answers `/info`, `/settings`, `/fast`, `/relax` and `/turbo`; false for other commands. */
  onCommand(ix: InteractionContext, name: string): boolean;
  /** The buttons of the settings message; false for other buttons. */
  onClick(ix: InteractionContext, customId: string): boolean;
}

const EPHEMERAL = 64;

/** What Midjourney answers to `/fast`, `/relax`, `/turbo` (reference §4.4 quotes `/relax`'s). */
const MODE_ANSWERS = {
  fast: 'Done! Your jobs will now use fast-hours. You can always switch back with /relax',
  relax:
    'Done! Your jobs now do not consume fast-hours, but might take a little longer. You can always switch back with /fast',
  turbo: 'Done! Your jobs will now run in turbo mode, at twice the fast-hour cost. Switch back with /fast',
} as const;

function settingsRows(s: UserState): DiscordActionRow[] {
  return [
    {
      type: 1,
      components: [
        plainButton('MJ::Settings::RemixMode', 'Remix mode', {
          style: s.remix ? 3 : 2,
          emoji: { name: '🎛️' },
        }),
        plainButton('MJ::Settings::HighVariabilityMode::1', 'High Variation Mode'),
      ],
    },
    {
      type: 1,
      components: [
        plainButton('MJ::Settings::TurboMode', 'Turbo mode', { style: s.mode === 'turbo' ? 3 : 2 }),
        plainButton('MJ::Settings::FastMode', 'Fast mode', { style: s.mode === 'fast' ? 3 : 2 }),
        plainButton('MJ::Settings::RelaxMode', 'Relax mode', { style: s.mode === 'relax' ? 3 : 2 }),
      ],
    },
  ];
}

function infoLines(s: UserState): string[] {
  const renew = Math.floor(Date.now() / 1000) + 20 * 86_400;
  return [
    `**Subscription**: Standard (Active monthly, renews next on <t:${renew}>)`,
    `**Job Mode**: ${s.mode === 'relax' ? 'Relaxed' : s.mode === 'turbo' ? 'Turbo' : 'Fast'}`,
    '**Visibility Mode**: Public',
    `**Fast Time Remaining**: ${s.fastHours.toFixed(2)}/15.0 hours (${((s.fastHours / 15) * 100).toFixed(2)}%)`,
    '**Lifetime Usage**: 1234 images (48.27 hours)',
    '**Relaxed Usage**: 210 images (6.58 hours)',
    '**Queued Jobs (fast)**: 0',
    '**Queued Jobs (relax)**: 0',
    '**Running Jobs**: None',
  ];
}

export function createAccountCommands(core: BotCore, state: UserStates): AccountCommands {
  const { discord } = core;

  const onCommand = (ix: InteractionContext, name: string): boolean => {
    const s = state(ix.user.id);
    if (name === 'info') {
      discord.postMessage(ix.channelId, {
        ...answerTo(ix, 'info'),
        flags: EPHEMERAL,
        embeds: [
          {
            type: 'rich',
            title: `Your info - ${ix.user.username}`,
            description: infoLines(s).join('\n'),
            color: 0,
          },
        ],
      });
    } else if (name === 'settings') {
      discord.postMessage(ix.channelId, {
        ...answerTo(ix, 'settings'),
        flags: EPHEMERAL,
        content: 'Adjust your settings here. Current suffix: ` --v 7`',
        components: settingsRows(s),
      });
    } else if (name === 'relax' || name === 'fast' || name === 'turbo') {
      s.mode = name;
      discord.postMessage(ix.channelId, {
        ...answerTo(ix, name),
        flags: EPHEMERAL,
        content: MODE_ANSWERS[name],
      });
    } else {
      return false;
    }
    return true;
  };

  const onClick = (ix: InteractionContext, customId: string): boolean => {
    if (customId === 'MJ::Settings::RemixMode') {
      const s = state(ix.user.id);
      s.remix = !s.remix;
      if (ix.message) discord.editMessage(ix.channelId, ix.message.id, { components: settingsRows(s) });
      discord.postMessage(ix.channelId, {
        ...answerTo(ix, 'settings'),
        flags: EPHEMERAL,
        content: s.remix
          ? 'Remix mode turned on! You can disable it with /prefer remix'
          : 'Remix mode turned off!',
      });
      return true;
    }
    // The other settings buttons are shown but change nothing here.
    return customId.startsWith('MJ::Settings::');
  };

  return { onCommand, onClick };
}
