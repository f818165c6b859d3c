/**
 * The sandbox: a simulated Discord with the simulated Midjourney bot in it, and accounts ready to
 * use. `npm start` runs on it when no account is configured; the tests run on it too.
 */
import { randomBytes } from 'node:crypto';
import type { DiscordMessage } from '../discord/types.ts';
import type { Logger } from '../log.ts';
import type { FakeDiscord, FakeUser } from './discord/api.ts';
import { type FakeDiscordOptions, startFakeDiscord } from './discord/server.ts';
import { attachMidjourneyBot, type BotState, type MidjourneyBot } from './midjourney/bot.ts';
import { MJ_USER } from './midjourney/messages.ts';
import { NIJI_USER, nijiView } from './midjourney/niji.ts';
import { type SandboxKv, SandboxPersistence } from './state.ts';

/** Messages kept per channel across a restart (the newest; their buttons keep working). */
const PERSISTED_MESSAGES = 500;
const DEFAULT_CDN_BYTES = 256 * 1024 * 1024;

export interface SandboxAccount {
  token: string;
  channel_id: string;
  guild_id: string;
  user_id: string;
  /** The user's DM channel with the bots (seed DMs arrive there). */
  dm_channel_id: string;
}

export interface Sandbox {
  discord: FakeDiscord;
  bot: MidjourneyBot;
  /** The niji・journey bot: the same simulation under niji's ids (SPEC §14). */
  niji: MidjourneyBot;
  accounts: SandboxAccount[];
  /** The `proxy.*` URLs that point a client at the sandbox. */
  proxy: { server: string; cdn: string; gateway: string; upload: string; inpaint: string };
  close(): Promise<void>;
}

export interface SandboxOptions {
  speed: number;
  accounts?: number;
  logger?: Logger;
  heartbeatIntervalMs?: number;
  /** Port of the simulated Discord (default: any free one). */
  port?: number;
  /** Extra HTTP routes on the simulated Discord's port (see `FakeDiscordOptions.extraRoute`). */
  extraRoute?: FakeDiscordOptions['extraRoute'];
  /** CDN bytes kept in memory (default 256 MiB: it must hold every result until the service has stored it). */
  maxCdnBytes?: number;
  /**
   * Where the sandbox keeps its state (messages, jobs and their buttons, jobs in flight) so a
   * restart loses none of it (SPEC §8): the service passes a space of its own store.
   */
  state?: SandboxKv;
}

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const discord = await startFakeDiscord({
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41250,
    // Bounded like Discord's expiring links: the oldest files go first (the service stores the
    // results it wants as they finish), so a long-running sandbox does not grow.
    maxCdnBytes: opts.maxCdnBytes ?? DEFAULT_CDN_BYTES,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.extraRoute ? { extraRoute: opts.extraRoute } : {}),
  });
  const guildId = '1100000000000000001';
  const other: FakeUser = {
    id: '1200000000000000099',
    token: randomBytes(24).toString('base64url'),
    username: 'someone_else',
  };
  discord.addUser(other);
  discord.addUser(MJ_USER);
  discord.addUser(NIJI_USER);
  const accounts: SandboxAccount[] = [];
  const n = opts.accounts ?? 1;
  const noiseChannel = '1300000000000000999';
  const all = [other.id, MJ_USER.id, NIJI_USER.id];
  const dms = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const user: FakeUser = {
      id: `12000000000000000${String(i).padStart(2, '0')}`,
      token: `sandbox.${randomBytes(24).toString('base64url')}`,
      username: `sandbox_user_${i}`,
    };
    discord.addUser(user);
    const channelId = `13000000000000000${String(i).padStart(2, '0')}`;
    discord.addChannel({ id: channelId, guildId, memberIds: [user.id, other.id, MJ_USER.id, NIJI_USER.id] });
    const dmId = `14000000000000000${String(i).padStart(2, '0')}`;
    discord.addChannel({ id: dmId, memberIds: [user.id, MJ_USER.id, NIJI_USER.id] });
    dms.set(user.id, dmId);
    accounts.push({
      token: user.token,
      channel_id: channelId,
      guild_id: guildId,
      user_id: user.id,
      dm_channel_id: dmId,
    });
    all.push(user.id);
  }
  discord.addChannel({ id: noiseChannel, guildId, memberIds: all });
  const persistence = opts.state ? new SandboxPersistence(opts.state, opts.logger) : undefined;
  const botOptions = {
    speed: opts.speed,
    otherUser: other,
    noiseChannelId: noiseChannel,
    dmChannelFor: (userId: string) => dms.get(userId),
  };
  // niji first: clients that read the command index by name keep the last of a name, and a
  // client that only knows Midjourney must end up with Midjourney's commands.
  const niji = attachMidjourneyBot(nijiView(discord), botOptions);
  // Midjourney's jobs (the state that matters across a restart) are persisted.
  const bot: MidjourneyBot = attachMidjourneyBot(discord, {
    ...botOptions,
    onChange: () => persistence?.mark('bot', () => bot.exportState()),
  });
  if (persistence) await restore(persistence, discord, bot);
  const origin = discord.origin;
  return {
    discord,
    bot,
    niji,
    accounts,
    proxy: { server: origin, cdn: origin, gateway: discord.gatewayUrl, upload: origin, inpaint: origin },
    async close() {
      // What is in flight is written before the bot lets go of it.
      const written = persistence?.flush();
      bot.close();
      niji.close();
      await written;
      await discord.close();
    },
  };
}

/** Takes back the stored state, then keeps it written as it changes. */
async function restore(
  persistence: SandboxPersistence,
  discord: FakeDiscord,
  bot: MidjourneyBot,
): Promise<void> {
  const state = discord.messageState;
  for (const channelId of state.channelIds()) {
    const msgs = await persistence.load(`messages:${channelId}`);
    if (Array.isArray(msgs)) state.importChannel(channelId, msgs as DiscordMessage[]);
  }
  const saved = (await persistence.load('bot')) as BotState | undefined;
  if (saved && Array.isArray(saved.jobs) && Array.isArray(saved.running)) bot.restore(saved);
  state.onChange((channelId) =>
    persistence.mark(`messages:${channelId}`, () => state.exportChannel(channelId, PERSISTED_MESSAGES)),
  );
}
