/**
 * Who may use the bot (SPEC §7.5): `allowedUsers` by id or @username (empty = everyone), admins
 * (always allowed, may press anyone's buttons, receive account alerts), and the one polite
 * refusal a stranger gets.
 */
import type { TelegramConfig } from '../config.ts';
import type { TgUser } from './updates.ts';

interface Who {
  ids: Set<number>;
  names: Set<string>;
}

function split(list: readonly (number | string)[]): Who {
  const who: Who = { ids: new Set(), names: new Set() };
  for (const item of list) {
    if (typeof item === 'number') who.ids.add(item);
    else if (/^\d+$/.test(item)) who.ids.add(Number(item));
    else who.names.add(item.replace(/^@/, '').toLowerCase());
  }
  return who;
}

function matches(who: Who, user: TgUser): boolean {
  return who.ids.has(user.id) || (user.username !== undefined && who.names.has(user.username.toLowerCase()));
}

export class Access {
  private readonly allowedList: Who;
  private readonly admins: Who;
  private readonly open: boolean;
  private readonly refused = new Set<number>();
  /** Admins named by @username, once they wrote to the bot (a bot cannot look a username up). */
  private readonly adminIdsSeen = new Set<number>();

  constructor(config: Pick<TelegramConfig, 'allowedUsers' | 'admins'>) {
    this.allowedList = split(config.allowedUsers);
    this.admins = split(config.admins);
    this.open = config.allowedUsers.length === 0;
  }

  isAdmin(user: TgUser): boolean {
    return matches(this.admins, user);
  }

  allowed(user: TgUser): boolean {
    if (this.isAdmin(user)) {
      this.adminIdsSeen.add(user.id);
      return true;
    }
    return this.open || matches(this.allowedList, user);
  }

  /** True the first time a stranger is turned away (they get one polite refusal, then silence). */
  firstRefusal(userId: number): boolean {
    if (this.refused.has(userId)) return false;
    this.refused.add(userId);
    return true;
  }

  /** Chats to alert: admins by id, and admins by name who have written to the bot. */
  adminChats(): number[] {
    return [...new Set([...this.admins.ids, ...this.adminIdsSeen])];
  }
}
