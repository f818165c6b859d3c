/**
 * Midjourney's refusals that come from the user's standing rather than the prompt (SPEC §14): a
 * timed block, a pending moderation notice (until Acknowledge is pressed), no fast hours left.
 * The prompt switches `--fail Pending mod message` and `--fail Blocked <n> <unit>` bring the
 * first two about, so tests can play them.
 */
import { randomBytes } from 'node:crypto';
import type { InteractionContext } from '../discord/api.ts';
import type { BotCore } from './core.ts';
import { answerTo, plainButton, RED } from './messages.ts';
import type { UserStates } from './users.ts';

export interface Moderation {
  /** True (and answered) when the user's state refuses any job now. */
  refused(ix: InteractionContext): boolean;
  /** Answers the moderation switches of `--fail <title>`; false for other titles. */
  failSwitch(ix: InteractionContext, title: string): boolean;
  /** The Acknowledge button of a pending notice; false for other buttons. */
  onClick(ix: InteractionContext, customId: string): boolean;
}

const UNIT_MS: Record<string, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

export function createModeration(core: BotCore, state: UserStates): Moderation {
  const { discord } = core;
  const later = (delay: number, fn: () => void) => core.later(null, delay, fn);

  const notice = (ix: InteractionContext) => {
    const token = randomBytes(6).toString('base64url');
    const msg = discord.postMessage(ix.channelId, {
      ...answerTo(ix, String(ix.data.name ?? 'imagine')),
      flags: 64,
      embeds: [
        {
          type: 'rich',
          title: 'Pending mod message',
          description:
            'You have a pending moderation message. Please acknowledge it before using the bot further.\n\nYour prompt was flagged by our moderators.',
          color: RED,
        },
      ],
      components: [
        {
          type: 1,
          components: [
            plainButton(`MJ::Prompts::Acknowledge::${token}`, 'Acknowledge', { style: 1 }),
            plainButton(`MJ::Prompts::Resubmit::${token}`, 'Resubmit'),
          ],
        },
      ],
    });
    state(ix.user.id).pendingMod = { messageId: msg.id, channelId: ix.channelId };
  };

  const refused = (ix: InteractionContext): boolean => {
    const s = state(ix.user.id);
    if (s.blockedUntil > Date.now()) {
      core.errorEmbed(ix, 'Blocked', s.blockText);
      return true;
    }
    if (s.pendingMod) {
      notice(ix);
      return true;
    }
    if (s.mode === 'fast' && s.fastHours <= 0) {
      core.errorEmbed(
        ix,
        'Credits exhausted',
        'You have run out of fast hours. Use /relax to keep going in relax mode.',
      );
      return true;
    }
    return false;
  };

  const failSwitch = (ix: InteractionContext, title: string): boolean => {
    if (/^pending mod message$/i.test(title)) {
      later(core.ms(500), () => notice(ix));
      return true;
    }
    const block = /^blocked\s+(\d+)\s*(minute|hour|day|week)s?$/i.exec(title);
    if (block) {
      const n = Number(block[1]);
      const unit = (block[2] ?? 'minute').toLowerCase();
      const s = state(ix.user.id);
      s.blockText = `You have been blocked from accessing Midjourney for ${n} ${unit}${n === 1 ? '' : 's'}. This happens on repeated or serious ToS violations.`;
      s.blockedUntil = Date.now() + core.ms(n * (UNIT_MS[unit] ?? 60_000));
      later(core.ms(500), () => core.errorEmbed(ix, 'Blocked', s.blockText));
      return true;
    }
    return false;
  };

  const onClick = (ix: InteractionContext, customId: string): boolean => {
    if (!customId.startsWith('MJ::Prompts::Acknowledge::')) return false;
    const s = state(ix.user.id);
    if (s.pendingMod) {
      const { channelId, messageId } = s.pendingMod;
      s.pendingMod = null;
      s.acknowledged++;
      if (discord.getMessage(channelId, messageId))
        discord.editMessage(channelId, messageId, { components: [] });
    }
    return true;
  };

  return { refused, failSwitch, onClick };
}
