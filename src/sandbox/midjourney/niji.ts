/**
 * The niji・journey bot of the sandbox: the same simulated bot, seen through a view of the fake
 * Discord in which it has niji's application id, user and command ids (reference §4.1, §4.2). It
 * hears only interactions sent to niji, and everything it posts is authored by niji.
 */
import type { DiscordMessage } from '../../discord/types.ts';
import { MIDJOURNEY_APP_ID, NIJI_APP_ID, NIJI_COMMANDS } from '../../midjourney/index.ts';
import type { FakeDiscord, FakeUser, MessageInit } from '../discord/api.ts';
import { MJ_USER } from './messages.ts';

/** The niji bot's user (its id is its application id, as for Midjourney). */
export const NIJI_USER: FakeUser & { bot: true } = {
  id: NIJI_APP_ID,
  token: 'niji-bot-token-not-for-clients',
  username: 'niji・journey Bot',
  bot: true,
};

function nijiAuthor(author: MessageInit['author']): MessageInit['author'] {
  if (author?.id !== MJ_USER.id) return author;
  return { id: NIJI_USER.id, username: NIJI_USER.username, bot: true };
}

function asNiji(init: MessageInit): MessageInit {
  const out: MessageInit = { ...init, author: nijiAuthor(init.author) };
  if (init.webhook_id === MIDJOURNEY_APP_ID) out.webhook_id = NIJI_APP_ID;
  if (init.application_id === MIDJOURNEY_APP_ID) out.application_id = NIJI_APP_ID;
  const ref = init.referenced_message as DiscordMessage | undefined;
  if (ref) {
    out.referenced_message = { ...ref, author: nijiAuthor(ref.author) as DiscordMessage['author'] };
  }
  return out;
}

/** The bot's own messages look like Midjourney's to it, so its checks hold unchanged. */
function asMidjourney(msg: DiscordMessage): DiscordMessage {
  if (msg.author?.id !== NIJI_APP_ID) return msg;
  return { ...msg, author: { ...msg.author, id: MJ_USER.id } };
}

/** A view of `discord` for a bot written for Midjourney that is to act as niji. */
export function nijiView(discord: FakeDiscord): FakeDiscord {
  return {
    get origin() {
      return discord.origin;
    },
    get gatewayUrl() {
      return discord.gatewayUrl;
    },
    get faults() {
      return discord.faults;
    },
    get messageState() {
      return discord.messageState;
    },
    addUser: (u) => discord.addUser(u),
    addChannel: (c) => discord.addChannel(c),
    addCommand: (cmd) => {
      const niji = NIJI_COMMANDS[cmd.name as keyof typeof NIJI_COMMANDS];
      if (!niji) return;
      discord.addCommand({ ...cmd, id: niji.id, version: niji.version, applicationId: NIJI_APP_ID });
    },
    setCommandVersion: (name, version) => discord.setCommandVersion(name, version),
    onInteraction: (handler) =>
      discord.onInteraction((ix) => {
        if (ix.applicationId !== NIJI_APP_ID) return;
        handler({
          ...ix,
          applicationId: MIDJOURNEY_APP_ID,
          ...(ix.message ? { message: asMidjourney(ix.message) } : {}),
        });
      }),
    onReaction: (handler) =>
      discord.onReaction((r) => {
        if (r.message.author?.id !== NIJI_APP_ID) return;
        handler({ ...r, message: asMidjourney(r.message) });
      }),
    // Vary (Region) stays Midjourney's: the fake has one inpaint form host.
    onInpaintSubmit: () => {},
    postMessage: (channelId, init) => discord.postMessage(channelId, asNiji(init)),
    editMessage: (channelId, id, patch) => discord.editMessage(channelId, id, patch),
    deleteMessage: (channelId, id) => discord.deleteMessage(channelId, id),
    getMessage: (channelId, id) => {
      const msg = discord.getMessage(channelId, id);
      return msg ? asMidjourney(msg) : undefined;
    },
    storeFile: (channelId, filename, bytes, contentType) =>
      discord.storeFile(channelId, filename, bytes, contentType),
    dispatchToUser: (userId, t, d) => discord.dispatchToUser(userId, t, d),
    stats: () => discord.stats(),
    close: () => discord.close(),
  };
}
