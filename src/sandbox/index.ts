/**
 * The sandbox: a simulated Discord with the simulated Midjourney bot in it, and accounts ready to
 * use. `npm start` runs on it when no account is configured; the tests run on it too.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { FakeDiscord, FakeUser } from './discord/api.ts';
import { startFakeDiscord } from './discord/server.ts';
import { attachMidjourneyBot, type MidjourneyBot } from './midjourney/bot.ts';
import { MJ_USER } from './midjourney/messages.ts';
import { NIJI_USER, nijiView } from './midjourney/niji.ts';

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
}

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const discord = await startFakeDiscord({
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41250,
    ...(opts.logger ? { logger: opts.logger } : {}),
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
  const botOptions = {
    speed: opts.speed,
    otherUser: other,
    noiseChannelId: noiseChannel,
    dmChannelFor: (userId: string) => dms.get(userId),
  };
  // niji first: clients that read the command index by name keep the last of a name, and a
  // client that only knows Midjourney must end up with Midjourney's commands.
  const niji = attachMidjourneyBot(nijiView(discord), botOptions);
  const bot = attachMidjourneyBot(discord, botOptions);
  const origin = discord.origin;
  return {
    discord,
    bot,
    niji,
    accounts,
    proxy: { server: origin, cdn: origin, gateway: discord.gatewayUrl, upload: origin, inpaint: origin },
    async close() {
      bot.close();
      niji.close();
      await discord.close();
    },
  };
}
