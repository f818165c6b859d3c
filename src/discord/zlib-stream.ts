/**
 * Discord's `compress=zlib-stream` transport: one zlib context per connection; a payload is
 * complete when the buffered bytes end with the sync-flush suffix `00 00 ff ff`.
 */
import { constants, createInflate, type Inflate } from 'node:zlib';

const SUFFIX = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * Feeds binary frames in order; calls `onText` once per complete payload, in order. Complete
 * payloads are written without waiting for the previous one: a write's callback runs after its
 * output was emitted and before the next write's, so each callback takes exactly its payload.
 */
export class ZlibStreamDecoder {
  private readonly inflate: Inflate;
  private pending: Buffer[] = [];
  private out: Buffer[] = [];
  private closed = false;

  constructor(
    private readonly onText: (text: string) => void,
    private readonly onError: (err: Error) => void,
  ) {
    this.inflate = createInflate({ flush: constants.Z_SYNC_FLUSH, chunkSize: 64 * 1024 });
    this.inflate.on('data', (chunk: Buffer) => this.out.push(chunk));
    this.inflate.on('error', (err) => this.onError(err));
  }

  push(frame: Buffer): void {
    if (this.closed) return;
    this.pending.push(frame);
    if (frame.length < 4 || !frame.subarray(-4).equals(SUFFIX)) return;
    const data = this.pending.length === 1 ? frame : Buffer.concat(this.pending);
    this.pending = [];
    this.inflate.write(data, () => {
      const text =
        this.out.length === 1
          ? (this.out[0] as Buffer).toString('utf8')
          : Buffer.concat(this.out).toString('utf8');
      this.out = [];
      if (text && !this.closed) this.onText(text);
    });
  }

  close(): void {
    this.closed = true;
    this.inflate.close();
  }
}
