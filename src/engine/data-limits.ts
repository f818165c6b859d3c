/**
 * Bounds on a caller's `data` (the small value echoed back in its task): its depth and its
 * serialised size. Checked without recursion, so a value nested thousands of levels deep is
 * measured, not a stack overflow.
 */

/** Deepest nesting accepted in `data` (an object or array counts one level). */
export const DATA_MAX_DEPTH = 32;
/** Largest accepted `data`, as UTF-8 JSON. */
export const DATA_MAX_BYTES = 64 * 1024;

/**
 * What is wrong with `value` as a task's `data`, as one sentence naming `field`, or null when it
 * fits. Stops at the first limit crossed, so a huge value costs little to refuse.
 */
export function dataProblem(value: unknown, field = 'data'): string | null {
  if (value === undefined || value === null) return null;
  const tooBig = `${field} is larger than ${DATA_MAX_BYTES / 1024} KiB as JSON`;
  const tooDeep = `${field} is nested deeper than ${DATA_MAX_DEPTH} levels`;
  let bytes = 0;
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop() as { v: unknown; depth: number };
    if (typeof v === 'string') {
      // A UTF-8 byte count is at least the UTF-16 length: a long string is refused unread.
      if (bytes + v.length > DATA_MAX_BYTES) return tooBig;
      bytes += Buffer.byteLength(JSON.stringify(v));
    } else if (v !== null && typeof v === 'object') {
      if (depth + 1 > DATA_MAX_DEPTH) return tooDeep;
      if (Array.isArray(v)) {
        bytes += 2 + Math.max(0, v.length - 1);
        if (bytes > DATA_MAX_BYTES) return tooBig;
        for (const item of v) stack.push({ v: item, depth: depth + 1 });
      } else {
        const entries = Object.entries(v as Record<string, unknown>);
        bytes += 2 + Math.max(0, entries.length - 1);
        if (bytes > DATA_MAX_BYTES) return tooBig;
        for (const [k, item] of entries) {
          if (item === undefined) continue;
          bytes += Buffer.byteLength(JSON.stringify(k)) + 1;
          stack.push({ v: item, depth: depth + 1 });
        }
      }
    } else if (v === undefined) {
      bytes += 4;
    } else {
      bytes += String(JSON.stringify(v) ?? 'null').length;
    }
    if (bytes > DATA_MAX_BYTES) return tooBig;
  }
  return null;
}
