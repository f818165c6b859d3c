import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { constants, createDeflate } from 'node:zlib';
import { ZlibStreamDecoder, ZlibStreamError } from '../../src/discord/zlib-stream.ts';

/** What a zlib-stream server sends: one deflate context, one sync-flushed frame per payload. */
async function compressStream(payloads: string[]): Promise<Buffer[]> {
  const deflate = createDeflate();
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  const frames: Buffer[] = [];
  for (const p of payloads) {
    deflate.write(p);
    await new Promise<void>((resolve) => deflate.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    frames.push(Buffer.concat(out.splice(0)));
  }
  deflate.close();
  return frames;
}

const payload = (i: number, extra = '') =>
  JSON.stringify({
    op: 0,
    s: i,
    t: 'MESSAGE_CREATE',
    d: { id: String(1e17 + i), content: `message number ${i} ${extra}` },
  });

describe('zlib-stream decoder', () => {
  test('decodes consecutive payloads that share one compression context', async () => {
    const texts = Array.from({ length: 50 }, (_, i) => payload(i, 'the same words again and again'));
    const frames = await compressStream(texts);
    // Later frames are much smaller than their text: they refer back into earlier payloads.
    assert.ok((frames[40]?.length ?? 0) < (texts[40]?.length ?? 0) / 2);
    const decoder = new ZlibStreamDecoder();
    assert.deepEqual(
      frames.map((f) => decoder.push(f)),
      texts,
    );
  });

  test('a payload split across websocket messages is buffered until its sync-flush suffix', async () => {
    const texts = [payload(1), payload(2, 'x'.repeat(5000)), payload(3)];
    const frames = await compressStream(texts);
    const decoder = new ZlibStreamDecoder();
    assert.equal(decoder.push(frames[0]!), texts[0]);
    const big = frames[1]!;
    // Cut in three, the last cut inside the 4-byte suffix itself.
    assert.equal(decoder.push(big.subarray(0, 10)), undefined);
    assert.equal(decoder.push(big.subarray(10, big.length - 2)), undefined);
    assert.equal(decoder.push(big.subarray(big.length - 2)), texts[1]);
    assert.deepEqual(decoder.pushJson(frames[2]!), JSON.parse(texts[2]!));
  });

  test('payloads larger than the 32 KiB window and a long history decode exactly', async () => {
    const texts = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({
        op: 0,
        s: i,
        d: { blob: randomBytes(9000 + i * 1000).toString('base64'), again: 'tail' },
      }),
    );
    const frames = await compressStream(texts);
    const decoder = new ZlibStreamDecoder();
    for (const [i, f] of frames.entries()) assert.equal(decoder.push(f), texts[i]);
  });

  test('corrupt data is a typed error; after reset a new stream decodes', async () => {
    const decoder = new ZlibStreamDecoder();
    assert.throws(() => decoder.push(Buffer.from([1, 2, 3, 4, 0, 0, 0xff, 0xff])), ZlibStreamError);
    decoder.reset();
    const frames = await compressStream([payload(7)]);
    assert.equal(decoder.push(frames[0]!), payload(7));
  });

  test('a frame that never ends is refused instead of buffered forever', () => {
    const decoder = new ZlibStreamDecoder(1024);
    assert.equal(decoder.push(Buffer.alloc(600, 1)), undefined);
    assert.throws(() => decoder.push(Buffer.alloc(600, 1)), ZlibStreamError);
  });
});
