/**
 * Decoder for Discord's `compress=zlib-stream` gateway transport: one zlib stream per connection,
 * every payload ended by a sync flush (`00 00 ff ff`), possibly spread over several websocket
 * messages.
 *
 * The decoder is synchronous. Node's sync inflate cannot keep a zlib context between calls, but a
 * sync-flushed deflate stream only carries one thing from a payload to the next: the last 32 KiB
 * of output, which back-references may point into. So each payload is inflated as raw deflate with
 * that window given as the preset dictionary. Same bytes out as a long-lived inflater, and no
 * callbacks to reorder.
 */
import { constants, inflateRawSync } from 'node:zlib';

const SUFFIX = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Deflate's largest window: back-references never reach further than this. */
const WINDOW = 32 * 1024;
/** A payload that never ends is a broken stream, not something to buffer forever. */
const DEFAULT_MAX_PENDING = 64 * 1024 * 1024;

/** The compressed stream cannot be decoded; the connection must be dropped (and the decoder reset). */
export class ZlibStreamError extends Error {
  readonly code = 'ZLIB_STREAM';
  constructor(message: string) {
    super(message);
    this.name = 'ZlibStreamError';
  }
}

/** One per gateway connection; call {@link reset} when a new socket starts. */
export class ZlibStreamDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private headerSeen = false;
  /** Decompressed history: the last WINDOW bytes are the dictionary of the next payload. */
  private history = Buffer.alloc(WINDOW * 4);
  private historyLen = 0;

  constructor(private readonly maxPendingBytes = DEFAULT_MAX_PENDING) {}

  /**
   * Takes one binary websocket message. Returns the payload text once a message ends with the
   * sync-flush suffix, `undefined` while a payload is still incomplete.
   * @throws {ZlibStreamError} on corrupt data; the stream is unusable afterwards.
   */
  push(chunk: Buffer): string | undefined {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > this.maxPendingBytes) {
      this.pending = [];
      this.pendingBytes = 0;
      throw new ZlibStreamError(`a payload grew past ${this.maxPendingBytes} bytes without a flush`);
    }
    if (!endsWithSuffix(chunk, this.pending)) return undefined;
    let input = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.headerSeen) {
      input = stripZlibHeader(input);
      this.headerSeen = true;
    }
    const out = this.inflate(input);
    this.remember(out);
    return out.toString('utf8');
  }

  /** Like {@link push}, parsing the payload as JSON. */
  pushJson(chunk: Buffer): unknown {
    const text = this.push(chunk);
    return text === undefined ? undefined : JSON.parse(text);
  }

  /** Forgets everything: the next message must start a new zlib stream. */
  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.headerSeen = false;
    this.historyLen = 0;
  }

  private inflate(input: Buffer): Buffer {
    try {
      return inflateRawSync(input, {
        finishFlush: constants.Z_SYNC_FLUSH,
        ...(this.historyLen > 0
          ? { dictionary: this.history.subarray(Math.max(0, this.historyLen - WINDOW), this.historyLen) }
          : {}),
      });
    } catch (err) {
      throw new ZlibStreamError(`inflate failed: ${(err as Error).message}`);
    }
  }

  private remember(out: Buffer): void {
    if (this.historyLen + out.length > this.history.length) {
      const keep = Math.min(this.historyLen, WINDOW);
      const next = Buffer.allocUnsafe(Math.max(WINDOW * 4, keep + out.length + WINDOW));
      this.history.copy(next, 0, this.historyLen - keep, this.historyLen);
      this.history = next;
      this.historyLen = keep;
    }
    out.copy(this.history, this.historyLen);
    this.historyLen += out.length;
  }
}

/** The suffix may straddle the last two messages when a frame was split at an odd place. */
function endsWithSuffix(last: Buffer, all: Buffer[]): boolean {
  if (last.length >= 4) return last.subarray(last.length - 4).equals(SUFFIX);
  const tail = Buffer.concat(all.slice(-4));
  return tail.length >= 4 && tail.subarray(tail.length - 4).equals(SUFFIX);
}

/** The stream's first bytes are the 2-byte zlib header (`78 9c` and friends); raw inflate wants them gone. */
function stripZlibHeader(input: Buffer): Buffer {
  const cmf = input[0];
  const flg = input[1];
  if (cmf === undefined || flg === undefined) throw new ZlibStreamError('stream shorter than its header');
  const valid = (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0;
  if (!valid) throw new ZlibStreamError('stream does not start with a zlib header');
  if (flg & 0x20) throw new ZlibStreamError('stream asks for a preset dictionary');
  return input.subarray(2);
}
