/**
 * A look at a JSON body before it is parsed: how deep it nests and how many bytes each top-level
 * field takes. Strings are skipped with `Buffer.indexOf` (native), so refusing a 60 MB `data`
 * costs a few milliseconds instead of a parse that holds the event loop.
 */

/** Raw-byte bounds of one route's body. */
export interface FieldBounds {
  /** Deepest nesting of the whole body (the body object itself is level 1). */
  maxDepth: number;
  /** Raw bytes a top-level field's value may take, by field name. */
  fields: Readonly<Record<string, number>>;
  /** For fields not listed. */
  otherField: number;
}

/** Why a body was refused before parsing: the field (if any) and what was exceeded. */
export interface ScanProblem {
  field: string | null;
  kind: 'depth' | 'size';
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** End of the string starting at the quote `start` (index of its closing quote), or -1. */
function stringEnd(buf: Buffer, start: number): number {
  let j = start + 1;
  for (;;) {
    j = buf.indexOf(QUOTE, j);
    if (j < 0) return -1;
    let k = j - 1;
    while (k > start && buf[k] === BACKSLASH) k--;
    if ((j - 1 - k) % 2 === 0) return j;
    j++;
  }
}

function keyName(buf: Buffer, start: number, end: number): string {
  if (end - start > 256) return '(long key)';
  const raw = buf.toString('utf8', start, end + 1);
  try {
    return String(JSON.parse(raw));
  } catch {
    return raw.slice(1, -1);
  }
}

/**
 * Checks `buf` against `bounds`; null when it fits (it may still be invalid JSON, which the
 * parser then reports). Only a top-level object gets per-field bounds.
 */
export function scanJson(buf: Buffer, bounds: FieldBounds): ScanProblem | null {
  let depth = 0;
  let topIsObject = false;
  let expectKey = false;
  let key: string | null = null;
  let valueStart = -1;
  /** Past this offset the current top-level value is too large. */
  let valueLimit = Number.POSITIVE_INFINITY;
  const n = buf.length;
  const fieldDone = (end: number): ScanProblem | null =>
    key !== null && end > valueLimit ? { field: key, kind: 'size' } : null;
  for (let i = 0; i < n; i++) {
    if (i > valueLimit) return { field: key, kind: 'size' };
    const c = buf[i];
    if (c === QUOTE) {
      const end = stringEnd(buf, i);
      if (end < 0) return null;
      if (depth === 1 && topIsObject && expectKey) {
        key = keyName(buf, i, end);
        expectKey = false;
      }
      i = end;
      // A long string value is judged at once, not after the rest of the body.
      if (depth === 1 && valueStart >= 0) {
        const p = fieldDone(end + 1);
        if (p) return p;
      }
    } else if (c === OPEN_OBJ || c === OPEN_ARR) {
      depth++;
      if (depth === 1) {
        topIsObject = c === OPEN_OBJ;
        expectKey = topIsObject;
      }
      if (depth > bounds.maxDepth) return { field: topIsObject ? key : null, kind: 'depth' };
    } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
      depth--;
      if (depth === 0) {
        const p = fieldDone(i);
        if (p) return p;
        valueStart = -1;
        valueLimit = Number.POSITIVE_INFINITY;
      }
    } else if (depth === 1 && topIsObject) {
      if (c === COLON && key !== null) {
        valueStart = i + 1;
        valueLimit = valueStart + (bounds.fields[key] ?? bounds.otherField);
      } else if (c === COMMA) {
        const p = fieldDone(i);
        if (p) return p;
        valueStart = -1;
        valueLimit = Number.POSITIVE_INFINITY;
        key = null;
        expectKey = true;
      }
    }
  }
  return null;
}
