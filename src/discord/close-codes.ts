/**
 * What a gateway close code means for the client: give up, start a new session, or resume.
 */

/** `fatal`: never reconnect; `identify`: the session is gone, start a new one; `resume`: pick the session up. */
export type CloseRecovery = 'fatal' | 'identify' | 'resume';

const FATAL = new Set([4004, 4010, 4011, 4012, 4013, 4014]);
/** 1000/1001 invalidate the session on Discord's side; 4003/4005/4007/4009 say it is not usable. */
const NEW_SESSION = new Set([1000, 1001, 4003, 4005, 4007, 4009]);

/** Close codes the client itself uses when it drops a connection it wants to resume. */
export const CLIENT_CLOSE = {
  /** Heartbeat not acknowledged (the code discord.js uses for the same reason). */
  zombie: 4200,
  /** Server asked us to reconnect (op 7) or invalidated the session (op 9). */
  reconnect: 4901,
  /** No Hello / undecodable stream: start over on a fresh socket. */
  broken: 4902,
} as const;

export const CLOSE_DESCRIPTIONS: Readonly<Record<number, string>> = {
  1000: 'normal closure',
  1001: 'going away',
  1006: 'connection lost',
  4000: 'unknown error',
  4001: 'unknown opcode',
  4002: 'decode error',
  4003: 'not authenticated',
  4004: 'authentication failed',
  4005: 'already authenticated',
  4007: 'invalid seq',
  4008: 'rate limited',
  4009: 'session timed out',
  4010: 'invalid shard',
  4011: 'sharding required',
  4012: 'invalid API version',
  4013: 'invalid intents',
  4014: 'disallowed intents',
  4015: 'too many sessions',
};

export function recoveryFor(code: number): CloseRecovery {
  if (FATAL.has(code)) return 'fatal';
  if (NEW_SESSION.has(code)) return 'identify';
  return 'resume';
}

/** A short readable text for a close: the server's reason if it gave one, else ours. */
export function describeClose(code: number, reason: string): string {
  return reason || CLOSE_DESCRIPTIONS[code] || `close code ${code}`;
}
