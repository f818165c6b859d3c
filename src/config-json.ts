/**
 * Where a configuration file stops being JSON, as a line and column, without quoting it: the
 * file can hold tokens, and JSON.parse's own messages may echo a piece of it.
 */

function viable(text: string, length: number): boolean {
  const prefix = text.slice(0, length);
  try {
    JSON.parse(prefix);
    return true;
  } catch (err) {
    const msg = (err as Error).message;
    if (/Unexpected end of JSON input/.test(msg)) return true;
    // A prefix cut inside a string or number fails right at its end: that is still viable.
    const at = /at position (\d+)/.exec(msg);
    return at !== null && Number(at[1]) >= prefix.length;
  }
}

/**
 * The 1-based line and column of the first character that makes `text` invalid JSON (the longest
 * prefix that can still be completed ends just before it), or null when `text` parses.
 */
export function jsonErrorAt(text: string): { line: number; column: number } | null {
  try {
    JSON.parse(text);
    return null;
  } catch {
    // Once a prefix cannot be completed no longer one can: binary search the last that can.
  }
  let lo = 0;
  let hi = text.length;
  // A complete text that parses is viable; the whole text is not.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (mid < text.length && viable(text, mid)) lo = mid;
    else hi = mid - 1;
  }
  // An input cut short fails at its very end.
  const offset = viable(text, text.length) ? text.length : lo;
  const before = text.slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}
