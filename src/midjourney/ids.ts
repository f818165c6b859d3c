/**
 * The Discord ids of the Midjourney bots (reference §4.1): the user id that authors their
 * messages is also their application id.
 */
import type { DiscordMessage } from '../discord/types.ts';

/** Midjourney Bot: user id, application id and `webhook_id` of its interaction replies. */
export const MIDJOURNEY_APP_ID = '936929561302675456';

/** The niji・journey bot, which speaks the same message language. */
export const NIJI_APP_ID = '1022952195194359889';

/** True when the message was written by the Midjourney bot or the niji bot. */
export function isMidjourneyAuthor(message: Pick<DiscordMessage, 'author'>): boolean {
  const id = message.author?.id;
  return id === MIDJOURNEY_APP_ID || id === NIJI_APP_ID;
}
