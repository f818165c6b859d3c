/**
 * Discord's `compress=zlib-stream` transport: one zlib context per connection; a payload is
 * complete when the buffered bytes end with the sync-flush suffix `00 00 ff ff`.
 */
import { constants, createInflate, type Inflate } from 'node:zlib';

const SUFFIX = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Feeds binary frames in order; calls `onText` once per complete payload, in order. */
export class ZlibStreamDecoder {
  private readonly inflate: Inflate;
  private pending: Buffer[] = [];
  private out: Buffer[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly onText: (text: string) => void,
    private readonly onError: (err: Error) => void,
  ) {
    this.inflate = createInflate({ flush: constants.Z_SYNC_FLUSH, chunkSize: 64 * 1024 });
    this.inflate.on('data', (chunk: Buffer) => this.out.push(chunk));
    this.inflate.on('error', (err) => this.onError(err));
  }

  push(frame: Buffer): void {
    this.pending.push(frame);
    if (frame.length < 4 || !frame.subarray(-4).equals(SUFFIX)) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    this.chain = this.chain.then(
      () =>
        new Promise<void>((resolve) => {
          this.inflate.write(data);
          this.inflate.flush(constants.Z_SYNC_FLUSH, () => {
            const text = Buffer.concat(this.out).toString('utf8');
            this.out = [];
            if (text) this.onText(text);
            resolve();
          });
        }),
    );
  }

  close(): void {
    this.inflate.close();
  }
}
