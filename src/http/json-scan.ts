/**
 * A look at a JSON body while it arrives, before it is parsed: how deep it nests and how many
 * bytes each top-level field takes. It is fed chunk by chunk (so a 60 MB `data` is refused after
 * its first 400 KB, never buffered), and skips inside strings with `Buffer.indexOf` (native).
 * It does not validate JSON: the parser does that afterwards, on bodies that fit.
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
/** Longer top-level keys are not ours to name. */
const MAX_KEY = 256;

/** Incremental scanner of one body; {@link feed} each chunk in order. */
export class JsonScanner {
  private depth = 0;
  private topIsObject = false;
  private expectKey = false;
  private key: string | null = null;
  private inString = false;
  private escaped = false;
  private readingKey = false;
  private keyBytes: Buffer[] = [];
  private keyLength = 0;
  /** Absolute offsets: where the current top-level value began, and past which it is too large. */
  private valueStart = -1;
  private valueLimit = Number.POSITIVE_INFINITY;
  private offset = 0;
  private problem: ScanProblem | null = null;

  constructor(private readonly bounds: FieldBounds) {}

  /** Scans the next chunk; returns the first problem found (and keeps returning it). */
  feed(chunk: Buffer): ScanProblem | null {
    if (this.problem) return this.problem;
    this.problem = this.scan(chunk);
    this.offset += chunk.length;
    return this.problem;
  }

  private tooLarge(at: number): ScanProblem | null {
    return this.key !== null && at > this.valueLimit ? { field: this.key, kind: 'size' } : null;
  }

  private scan(buf: Buffer): ScanProblem | null {
    const n = buf.length;
    const base = this.offset;
    let i = 0;
    let nextBackslash = -2;
    while (i < n) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          if (this.readingKey) this.keep(buf, i, i + 1);
          i++;
          continue;
        }
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = buf.indexOf(BACKSLASH, i);
        const quote = buf.indexOf(QUOTE, i);
        const stop =
          quote === -1 ? nextBackslash : nextBackslash === -1 ? quote : Math.min(quote, nextBackslash);
        const end = stop === -1 ? n : stop;
        if (this.readingKey) this.keep(buf, i, stop === -1 ? n : stop + 1);
        if (stop === -1) {
          i = n;
          break;
        }
        if (stop === nextBackslash) {
          this.escaped = true;
          i = stop + 1;
          continue;
        }
        this.inString = false;
        i = end + 1;
        if (this.readingKey) {
          this.readingKey = false;
          this.key = this.keyName();
          this.expectKey = false;
        } else if (this.depth === 1 && this.valueStart >= 0) {
          const p = this.tooLarge(base + i);
          if (p) return p;
        }
        continue;
      }
      const c = buf[i];
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && this.topIsObject && this.expectKey) {
          this.readingKey = true;
          this.keyBytes = [];
          this.keyLength = 0;
          this.keep(buf, i, i + 1);
        }
      } else if (c === OPEN_OBJ || c === OPEN_ARR) {
        this.depth++;
        if (this.depth === 1) {
          this.topIsObject = c === OPEN_OBJ;
          this.expectKey = this.topIsObject;
        }
        if (this.depth > this.bounds.maxDepth)
          return { field: this.topIsObject ? this.key : null, kind: 'depth' };
      } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        this.depth--;
        if (this.depth === 0) {
          const p = this.tooLarge(base + i);
          if (p) return p;
          this.valueStart = -1;
          this.valueLimit = Number.POSITIVE_INFINITY;
        }
      } else if (this.depth === 1 && this.topIsObject) {
        if (c === COLON && this.key !== null) {
          this.valueStart = base + i + 1;
          this.valueLimit = this.valueStart + (this.bounds.fields[this.key] ?? this.bounds.otherField);
        } else if (c === COMMA) {
          const p = this.tooLarge(base + i);
          if (p) return p;
          this.valueStart = -1;
          this.valueLimit = Number.POSITIVE_INFINITY;
          this.key = null;
          this.expectKey = true;
        }
      }
      if (base + i > this.valueLimit) return { field: this.key, kind: 'size' };
      i++;
    }
    // A value still open at the end of this chunk may already be too large.
    return this.tooLarge(base + n);
  }

  private keep(buf: Buffer, from: number, to: number): void {
    if (this.keyLength > MAX_KEY) return;
    this.keyBytes.push(buf.subarray(from, Math.min(to, from + MAX_KEY + 1)));
    this.keyLength += to - from;
  }

  private keyName(): string {
    if (this.keyLength > MAX_KEY) return '(long key)';
    const raw = Buffer.concat(this.keyBytes).toString('utf8');
    try {
      return String(JSON.parse(raw));
    } catch {
      return raw.slice(1, -1);
    }
  }
}

/** Scans a whole body at once (see {@link JsonScanner}). */
export function scanJson(buf: Buffer, bounds: FieldBounds): ScanProblem | null {
  return new JsonScanner(bounds).feed(buf);
}
