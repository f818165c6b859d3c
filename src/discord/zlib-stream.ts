/**
 * Decoder for Discord's `compress=zlib-stream` gateway transport: one zlib stream per connection,
 * every payload ended by a sync flush (`00 00 ff ff`), possibly spread over several websocket
 * messages.
 *
 * The decoder is synchronous, so no payload waits on the thread pool and none is reordered. It
 * keeps ONE inflate context for the whole stream and drives it through the zlib handle the way
 * Node's own `inflateSync` does (the public sync functions close their context after each call).
 * Where this Node has no such handle, each payload is inflated as raw deflate with the stream's
 * last 32 KiB as the preset dictionary: the same bytes, at a fraction of the speed (a new context
 * and a 32 KiB dictionary per payload).
 */
import { constants, createInflate, inflateRawSync } from 'node:zlib';

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

  /** The long-lived inflater, when this Node offers its handle; else the dictionary path. */
  private stream: StreamInflater | undefined;

  constructor(private readonly maxPendingBytes = DEFAULT_MAX_PENDING) {
    this.stream = StreamInflater.create();
  }

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
    if (this.stream) return this.stream.inflate(input);
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
    this.stream?.close();
    this.stream = this.stream ? StreamInflater.create() : undefined;
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

/** Node's zlib handle as its own sync functions drive it (not part of the public API). */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Buffer,
    inOff: number,
    inLen: number,
    out: Buffer,
    outOff: number,
    outLen: number,
  ): void;
}

/** One inflate context for a whole stream, fed synchronously payload by payload. */
class StreamInflater {
  private out = Buffer.allocUnsafe(64 * 1024);
  private error: Error | undefined;

  private constructor(
    private readonly zlib: ReturnType<typeof createInflate>,
    private readonly handle: ZlibHandle,
    /** [availOut, availIn] after each write, filled in by the handle. */
    private readonly state: Uint32Array,
  ) {
    zlib.on('error', (err: Error) => {
      this.error = err;
    });
  }

  /** A new inflater, or undefined when this Node does not expose the handle. */
  static create(): StreamInflater | undefined {
    const zlib = createInflate();
    const inner = zlib as unknown as { _handle?: Partial<ZlibHandle>; _writeState?: unknown };
    if (typeof inner._handle?.writeSync !== 'function' || !(inner._writeState instanceof Uint32Array)) {
      zlib.close();
      return undefined;
    }
    return new StreamInflater(zlib, inner._handle as ZlibHandle, inner._writeState);
  }

  /** The payload's text. @throws {ZlibStreamError} on corrupt data. */
  inflate(input: Buffer): string {
    if (this.failed()) throw new ZlibStreamError('inflate failed: the stream is broken');
    const parts: Buffer[] = [];
    let inOff = 0;
    let availIn = input.length;
    for (;;) {
      this.handle.writeSync(constants.Z_SYNC_FLUSH, input, inOff, availIn, this.out, 0, this.out.length);
      // zlib reports corrupt data by destroying the stream at once (its 'error' event comes later).
      if (this.failed()) throw new ZlibStreamError('inflate failed: corrupt zlib stream');
      const availOut = this.state[0] ?? 0;
      const availInAfter = this.state[1] ?? 0;
      const produced = this.out.length - availOut;
      inOff += availIn - availInAfter;
      availIn = availInAfter;
      // Output space left over: the flush is complete (the usual case: decoded straight to text).
      if (availOut !== 0) {
        if (parts.length === 0) return this.out.toString('utf8', 0, produced);
        parts.push(Buffer.from(this.out.subarray(0, produced)));
        break;
      }
      // A full buffer may hold more: keep this part and go on with a larger one.
      parts.push(Buffer.from(this.out));
      if (this.out.length < 4 * 1024 * 1024) this.out = Buffer.allocUnsafe(this.out.length * 2);
    }
    return Buffer.concat(parts).toString('utf8');
  }

  private failed(): boolean {
    return this.error !== undefined || this.zlib.destroyed;
  }

  close(): void {
    this.zlib.close();
  }
}
