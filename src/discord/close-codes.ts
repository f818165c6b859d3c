/**
 * What to do when the gateway closes (reference §1.9): give up, start a new session, or resume.
 */
export type CloseRecovery = 'fatal' | 'identify' | 'resume';

const FATAL = new Set([4004, 4010, 4011, 4012, 4013, 4014]);
const NEW_SESSION = new Set([1000, 1001, 4003, 4005, 4007, 4009]);

export function recoveryFor(code: number): CloseRecovery {
  if (FATAL.has(code)) return 'fatal';
  if (NEW_SESSION.has(code)) return 'identify';
  return 'resume';
}

export function fatalReason(code: number): string {
  return code === 4004 ? 'token invalid' : `gateway refused the session (${code})`;
}
