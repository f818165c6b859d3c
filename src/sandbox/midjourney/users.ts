/**
 * What Midjourney keeps per user (SPEC §14): remix, speed mode, fast hours and moderation, and
 * the switches tests use to set and read it.
 */

/** Per-user state Midjourney keeps: remix, speed mode, fast hours, moderation. */
export interface UserState {
  remix: boolean;
  mode: 'fast' | 'relax' | 'turbo';
  fastHours: number;
  /** The moderation notice waiting for Acknowledge. */
  pendingMod: { messageId: string; channelId: string } | null;
  acknowledged: number;
  blockedUntil: number;
  blockText: string;
}

/** Switches and readings for tests (and a curious user). */
export interface BotControls {
  /** Remix mode of a user (as `/settings` would switch it). */
  setRemix(userId: string, on: boolean): void;
  /** Fast hours left; 0 makes fast jobs answer `Credits exhausted`. */
  setFastHours(userId: string, hours: number): void;
  /** What the bot knows of a user: remix, mode, moderation notices acknowledged, block end. */
  user(userId: string): {
    remix: boolean;
    mode: string;
    fastHours: number;
    pendingMod: boolean;
    acknowledged: number;
    blockedUntil: number;
  };
}

/** A user's state by id, made on first use. */
export type UserStates = (userId: string) => UserState;

/** The users the bot has met, and the test switches over them. */
export interface Users {
  state: UserStates;
  controls: BotControls;
}

/** The users the bot has met, each with a fresh Standard-plan state at first. */
export function createUsers(): Users {
  const users = new Map<string, UserState>();
  const state: UserStates = (userId) => {
    let s = users.get(userId);
    if (!s) {
      s = {
        remix: false,
        mode: 'fast',
        fastHours: 14.5,
        pendingMod: null,
        acknowledged: 0,
        blockedUntil: 0,
        blockText: '',
      };
      users.set(userId, s);
    }
    return s;
  };
  const controls: BotControls = {
    setRemix: (userId, on) => {
      state(userId).remix = on;
    },
    setFastHours: (userId, hours) => {
      state(userId).fastHours = hours;
    },
    user: (userId) => {
      const s = state(userId);
      return {
        remix: s.remix,
        mode: s.mode,
        fastHours: s.fastHours,
        pendingMod: s.pendingMod !== null,
        acknowledged: s.acknowledged,
        blockedUntil: s.blockedUntil,
      };
    },
  };
  return { state, controls };
}
