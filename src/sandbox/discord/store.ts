/**
 * The state of the simulated Discord: users, channels, application commands, messages per
 * channel, and the modals interactions opened. Messages are completed here to the full objects
 * Discord sends (timestamps, mentions, `guild_id`, referenced message …).
 */
import type { DiscordMessage, DiscordUser } from '../../discord/types.ts';
import type { FakeChannel, FakeCommand, FakeUser, MessageInit } from './api.ts';
import { SnowflakeSource } from './snowflakes.ts';

/** Messages kept per channel; older ones are forgotten (a bench posts many thousands). */
const DEFAULT_MAX_MESSAGES = 1000;
const EPHEMERAL = 1 << 6;

export interface OpenModal {
  userId: string;
  channelId: string;
  customId: string;
}

export class DiscordStore {
  readonly ids = new SnowflakeSource();
  private readonly users = new Map<string, FakeUser>();
  private readonly byToken = new Map<string, FakeUser>();
  private readonly channels = new Map<string, FakeChannel>();
  private readonly commands: FakeCommand[] = [];
  private readonly messages = new Map<string, Map<string, DiscordMessage>>();
  private readonly modals = new Map<string, OpenModal>();
  /** Called after every change of a channel's messages (the sandbox persists them). */
  onChange: ((channelId: string) => void) | undefined;

  constructor(private readonly maxMessagesPerChannel = DEFAULT_MAX_MESSAGES) {}

  /** The channel's newest messages, oldest first: those with buttons, and the newest others. */
  exportChannel(channelId: string, limit: number): DiscordMessage[] {
    const all = [...(this.messages.get(channelId)?.values() ?? [])];
    return all.slice(-limit);
  }

  /** Takes back exported messages (after a restart), keeping their ids. */
  importChannel(channelId: string, msgs: DiscordMessage[]): void {
    for (const m of msgs) if (m && typeof m.id === 'string') this.keep(channelId, m);
  }

  channelIds(): string[] {
    return [...this.channels.keys()];
  }

  addUser(user: FakeUser): void {
    const old = this.users.get(user.id);
    if (old) this.byToken.delete(old.token);
    this.users.set(user.id, { ...user });
    this.byToken.set(user.token, this.users.get(user.id)!);
  }

  user(id: string): FakeUser | undefined {
    return this.users.get(id);
  }

  userByToken(token: string | undefined): FakeUser | undefined {
    return token ? this.byToken.get(token) : undefined;
  }

  addChannel(channel: FakeChannel): void {
    this.channels.set(channel.id, { ...channel, memberIds: [...channel.memberIds] });
  }

  channel(id: string): FakeChannel | undefined {
    return this.channels.get(id);
  }

  /** Whether the user is in at least one channel of the guild; undefined when no channel has it. */
  guildMember(guildId: string, userId: string): boolean | undefined {
    let known = false;
    for (const c of this.channels.values()) {
      if (c.guildId !== guildId) continue;
      known = true;
      if (c.memberIds.includes(userId)) return true;
    }
    return known ? false : undefined;
  }

  addCommand(cmd: FakeCommand): void {
    const i = this.commands.findIndex((c) => c.id === cmd.id);
    if (i >= 0) this.commands[i] = { ...cmd };
    else this.commands.push({ ...cmd });
  }

  command(id: string): FakeCommand | undefined {
    return this.commands.find((c) => c.id === id);
  }

  allCommands(): readonly FakeCommand[] {
    return this.commands;
  }

  /** @throws {Error} when no command has that name. */
  setCommandVersion(name: string, version: string): void {
    const hits = this.commands.filter((c) => c.name === name);
    if (hits.length === 0) throw new Error(`no application command named ${name}`);
    for (const c of hits) c.version = version;
  }

  rememberModal(interactionId: string, modal: OpenModal): void {
    this.modals.set(interactionId, modal);
  }

  /** The modal an interaction of this user opened and that was not submitted yet. */
  openModal(interactionId: string, userId: string): OpenModal | undefined {
    const m = this.modals.get(interactionId);
    return m && m.userId === userId ? m : undefined;
  }

  /** A modal is submitted once. */
  closeModal(interactionId: string): void {
    this.modals.delete(interactionId);
  }

  // ------------------------------------------------------------------ messages

  /** Completes `init` to a full message and keeps it. */
  createMessage(channelId: string, init: MessageInit): DiscordMessage {
    const channel = this.channels.get(channelId);
    if (!channel) throw new Error(`no channel ${channelId}`);
    // MessageInit loses its field types to the schema's index signature; they are a message's fields.
    const fields = init as unknown as Partial<DiscordMessage>;
    const flags = fields.flags ?? 0;
    const ephemeral = (flags & EPHEMERAL) !== 0;
    const referenced = this.referenced(channelId, fields);
    const msg: DiscordMessage = {
      type: 0,
      content: '',
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      components: [],
      pinned: false,
      mention_everyone: false,
      tts: false,
      timestamp: discordTimestamp(),
      edited_timestamp: null,
      flags,
      ...(referenced ? { referenced_message: referenced } : {}),
      ...init,
      author: publicUser(init.author),
      id: this.ids.next(),
      channel_id: channelId,
    };
    if (fields.message_reference && channel.guildId && !fields.message_reference.guild_id) {
      msg.message_reference = { ...fields.message_reference, guild_id: channel.guildId };
    }
    if (channel.guildId && !ephemeral) msg.guild_id = channel.guildId;
    else delete msg.guild_id;
    this.keep(channelId, msg);
    return clone(msg);
  }

  /** @throws {Error} for an unknown message. */
  updateMessage(channelId: string, messageId: string, patch: Partial<DiscordMessage>): DiscordMessage {
    const list = this.messages.get(channelId);
    const cur = list?.get(messageId);
    if (!list || !cur) throw new Error(`Unknown Message ${messageId} in channel ${channelId}`);
    const next: DiscordMessage = {
      ...cur,
      ...patch,
      ...(patch.author ? { author: publicUser(patch.author) } : {}),
      id: cur.id,
      channel_id: cur.channel_id,
      edited_timestamp: discordTimestamp(),
    };
    if (cur.guild_id) next.guild_id = cur.guild_id;
    list.set(messageId, next);
    this.onChange?.(channelId);
    return clone(next);
  }

  /** The removed message, or undefined when there was none. */
  removeMessage(channelId: string, messageId: string): DiscordMessage | undefined {
    const list = this.messages.get(channelId);
    const cur = list?.get(messageId);
    if (!list || !cur) return undefined;
    list.delete(messageId);
    this.onChange?.(channelId);
    return cur;
  }

  message(channelId: string, messageId: string): DiscordMessage | undefined {
    const m = this.messages.get(channelId)?.get(messageId);
    return m ? clone(m) : undefined;
  }

  /** Channel history, newest first, without ephemeral messages (they are not part of it on Discord). */
  history(channelId: string, opts: { limit: number; before?: string; after?: string }): DiscordMessage[] {
    const list = [...(this.messages.get(channelId)?.values() ?? [])].filter(
      (m) => ((m.flags ?? 0) & EPHEMERAL) === 0,
    );
    const out: DiscordMessage[] = [];
    for (let i = list.length - 1; i >= 0 && out.length < opts.limit; i--) {
      const m = list[i]!;
      if (opts.before && BigInt(m.id) >= BigInt(opts.before)) continue;
      if (opts.after && BigInt(m.id) <= BigInt(opts.after)) continue;
      out.push(clone(m));
    }
    return out;
  }

  /** Who receives a message's events: every member, or only the invoking user for an ephemeral one. */
  recipients(channelId: string, msg: DiscordMessage): string[] {
    const members = this.channels.get(channelId)?.memberIds ?? [];
    if (((msg.flags ?? 0) & EPHEMERAL) === 0) return members;
    const target = msg.interaction_metadata?.user?.id ?? msg.interaction?.user?.id;
    return target && members.includes(target) ? [target] : members;
  }

  private keep(channelId: string, msg: DiscordMessage): void {
    let list = this.messages.get(channelId);
    if (!list) {
      list = new Map();
      this.messages.set(channelId, list);
    }
    list.set(msg.id, msg);
    if (list.size > this.maxMessagesPerChannel) {
      const oldest = list.keys().next().value;
      if (oldest !== undefined) list.delete(oldest);
    }
    this.onChange?.(channelId);
  }

  /** Replies (type 19 & co.) carry the message they answer, one level deep. */
  private referenced(channelId: string, init: Partial<DiscordMessage>): DiscordMessage | undefined {
    const ref = init.message_reference?.message_id;
    if (!ref || 'referenced_message' in init) return undefined;
    const m = this.messages.get(channelId)?.get(ref);
    if (!m) return undefined;
    const { referenced_message: _nested, ...flat } = m as DiscordMessage & { referenced_message?: unknown };
    return clone(flat as DiscordMessage);
  }
}

/** A user as messages show it: never the token. */
export function publicUser(u: FakeUser | DiscordUser | undefined): DiscordUser {
  if (!u)
    return { id: '0', username: 'Deleted User', global_name: null, discriminator: '0000', avatar: null };
  const src = u as Partial<FakeUser & DiscordUser> & { public_flags?: number };
  return {
    id: src.id ?? '0',
    username: src.username ?? 'user',
    global_name: src.global_name ?? null,
    discriminator: src.discriminator ?? '0',
    avatar: src.avatar ?? null,
    public_flags: src.public_flags ?? 0,
    ...(src.bot ? { bot: true } : {}),
  };
}

/** `2023-03-10T16:29:14.383000+00:00`, the way Discord writes timestamps. */
export function discordTimestamp(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

function clone<T>(v: T): T {
  return structuredClone(v);
}
