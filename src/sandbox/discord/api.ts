/**
 * The contract between the simulated Discord (gateway + REST + uploads + CDN, in this folder) and
 * the simulated Midjourney bot (`../midjourney`). The fake Discord knows nothing of Midjourney: it
 * validates interactions like Discord does, answers 204, fires INTERACTION_CREATE/SUCCESS to the
 * caller's session, and hands the interaction to whoever registered with `onInteraction`.
 */
import type { DiscordAttachment, DiscordMessage } from '../../discord/types.ts';

/** A user account known to the fake (the token is what REST `Authorization` and Identify carry). */
export interface FakeUser {
  id: string;
  token: string;
  username: string;
  bot?: boolean;
}

/** A channel; DM channels have no guild. Members receive the channel's MESSAGE_* dispatches. */
export interface FakeChannel {
  id: string;
  guildId?: string;
  memberIds: string[];
}

/** One application command as the command index lists it (id/version are checked on interactions). */
export interface FakeCommand {
  id: string;
  version: string;
  name: string;
  applicationId: string;
  type?: number;
}

/** What the bot receives for every accepted `POST /api/v9/interactions` (type 2, 3 or 5). */
export interface InteractionContext {
  /** Interaction id (snowflake) also sent in INTERACTION_CREATE/SUCCESS. */
  id: string;
  type: 2 | 3 | 5;
  nonce: string | undefined;
  user: FakeUser;
  channelId: string;
  guildId: string | undefined;
  sessionId: string | undefined;
  applicationId: string;
  /** The raw `data` object of the request. */
  data: Record<string, unknown>;
  /** For type 3: the message the component sits on (already checked to exist: 404 10008 otherwise). */
  message?: DiscordMessage;
  /** Attachments referenced by `data.attachments`, resolved to their uploaded bytes. */
  files: { id: string; filename: string; bytes: Buffer; contentType: string }[];
  /** Answer a component with a modal: fires INTERACTION_MODAL_CREATE to the session (instead of SUCCESS). */
  openModal(modal: { custom_id: string; title: string; components: unknown[] }): void;
  /** Answer with an iframe modal (Vary Region / captcha): fires INTERACTION_IFRAME_MODAL_CREATE. */
  openIframeModal(modal: { custom_id: string; title: string; iframe_path: string }): void;
}

/** A reaction a user added (the bot reads the ✉️ one to send a job's seed). */
export interface ReactionContext {
  user: FakeUser;
  channelId: string;
  message: DiscordMessage;
  /** The emoji as Discord decodes it from the path, e.g. `✉️`. */
  emoji: string;
}

/** Message fields the bot supplies; the fake fills id, channel_id, guild_id, timestamp, tts, mentions… */
export type MessageInit = Partial<Omit<DiscordMessage, 'id' | 'channel_id'>> & {
  author: FakeUser | DiscordMessage['author'];
};

/** Faults the tests (and a curious user) can inject into the transport. */
export interface DiscordFaults {
  /** Terminate every gateway socket of this user (no close frame, like a dropped TCP). */
  dropSocket(userId?: string): void;
  /** Send op 7 Reconnect to the user's sockets. */
  sendReconnect(userId?: string): void;
  /** Send op 9 Invalid Session with `d` = resumable. */
  sendInvalidSession(resumable: boolean, userId?: string): void;
  /** Close the user's sockets with this close code. */
  closeWith(code: number, userId?: string): void;
  /** The next `n` REST calls (optionally only those whose path contains `pathPart`) answer 429. */
  rateLimitNext(n: number, opts?: { retryAfterSec?: number; global?: boolean; pathPart?: string }): void;
  /** The next `n` interactions answer 400 50035 INTERACTION_APPLICATION_COMMAND_INVALID_VERSION. */
  outdatedCommandNext(n: number): void;
  /** The next `n` REST calls (optionally filtered) answer 500. */
  serverErrorNext(n: number, pathPart?: string): void;
  /** Stop ACKing heartbeats (zombie connection) until `resumeAcks()`. */
  stopAcks(): void;
  resumeAcks(): void;
  /** Split every compressed frame in two websocket messages (tests the client's buffering). */
  splitFrames(on: boolean): void;
  /** The CDN answers 404 for every file while on (Discord no longer serving the originals). */
  cdnDown(on: boolean): void;
  /** The next `n` CDN downloads answer 500. */
  cdnErrorNext(n: number): void;
  /** While on, CDN downloads get no answer; turning it off answers every held one. */
  cdnHold(on: boolean): void;
  /** Links signed from now on live this many seconds (default a day, like Discord's). */
  cdnUrlLifetime(seconds: number): void;
}

/** The running fake Discord. */
export interface FakeDiscord {
  /** `http://127.0.0.1:<port>`: REST (`/api/v9/...`), uploads (`/upload/...`), CDN (`/attachments/...`). */
  readonly origin: string;
  /** `ws://127.0.0.1:<port>` — the gateway. */
  readonly gatewayUrl: string;
  readonly faults: DiscordFaults;
  addUser(user: FakeUser): void;
  addChannel(channel: FakeChannel): void;
  addCommand(cmd: FakeCommand): void;
  /** Change a command's current version (older versions then get the outdated-version error). */
  setCommandVersion(name: string, version: string): void;
  /** Every registered handler sees every accepted interaction (the bot, and benches that time it). */
  onInteraction(handler: (ix: InteractionContext) => void): void;
  /** Every `PUT …/messages/{id}/reactions/{emoji}/@me` a user makes on an existing message. */
  onReaction(handler: (reaction: ReactionContext) => void): void;
  /** Inpaint iframe submit handler, served at `POST /inpaint/api/submit-job`. */
  onInpaintSubmit(
    handler: (body: { customId: string; mask: string; prompt: string }) => {
      ok: boolean;
      status?: number;
      message?: string;
    },
  ): void;
  /** Post a message; dispatches MESSAGE_CREATE to every member of the channel. */
  postMessage(channelId: string, init: MessageInit): DiscordMessage;
  /** Edit a message (full object dispatched as MESSAGE_UPDATE). */
  editMessage(channelId: string, messageId: string, patch: Partial<DiscordMessage>): DiscordMessage;
  deleteMessage(channelId: string, messageId: string): void;
  getMessage(channelId: string, messageId: string): DiscordMessage | undefined;
  /** Store bytes on the CDN; the attachment's `url` is a `https://cdn.discordapp.com/attachments/...` URL. */
  storeFile(channelId: string, filename: string, bytes: Buffer, contentType: string): DiscordAttachment;
  /** Dispatches `t`/`d` to every gateway session of `userId`. */
  dispatchToUser(userId: string, t: string, d: unknown): void;
  /** The messages the sandbox persists (see `../state.ts`). */
  readonly messageState: {
    channelIds(): string[];
    exportChannel(channelId: string, limit: number): DiscordMessage[];
    importChannel(channelId: string, msgs: DiscordMessage[]): void;
    onChange(fn: (channelId: string) => void): void;
  };
  /** Counters for tests and benches. */
  stats(): {
    interactions: number;
    restCalls: number;
    identifies: number;
    resumes: number;
    connections: number;
  };
  close(): Promise<void>;
}

/** The Discord origins the fake stands in for; a client swaps them for `origin` via `proxy.*`. */
export const REAL_CDN_ORIGIN = 'https://cdn.discordapp.com';
export const REAL_MEDIA_ORIGIN = 'https://media.discordapp.net';
export const REAL_UPLOAD_ORIGIN = 'https://discord-attachments-uploads-prd.storage.googleapis.com';
