/**
 * The speed prefixes `/mj-fast`, `/mj-relax`, `/mj-turbo` (SPEC §12.1): a new job's prompt gets
 * Midjourney's `--fast` / `--relax` / `--turbo` unless it already names a speed, and the job
 * carries the speed to the engine, which switches the account's mode first for the jobs that
 * have no prompt to carry it (blend, describe). Follow-ups run in the speed of their parent, so
 * they are left alone.
 */

export type Speed = 'fast' | 'relax' | 'turbo';

const MOUNT = /^\/mj-(fast|relax|turbo)(?=\/mj(?:\/|$))/;

/** Splits `/mj-relax/mj/submit/imagine` into the speed and `/mj/submit/imagine`. */
export function splitSpeed(path: string): { speed: Speed | null; path: string } {
  const m = MOUNT.exec(path);
  if (!m) return { speed: null, path };
  return { speed: m[1] as Speed, path: path.slice(m[0].length) };
}

/** The prompt with the speed flag appended, unless it has one of its own. */
export function withSpeed(prompt: string, speed: Speed | null): string {
  if (!speed || /(^|\s)--(fast|relax|turbo)\b/i.test(prompt)) return prompt;
  return `${prompt} --${speed}`;
}
