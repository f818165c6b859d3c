import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderVideo } from '../../src/sandbox/mp4.ts';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function topBoxes(buf: Buffer): { type: string; start: number; size: number }[] {
  const out = [];
  let at = 0;
  while (at < buf.length) {
    const size = buf.readUInt32BE(at);
    assert.ok(size >= 8 && at + size <= buf.length, `box at ${at} has a sane size`);
    out.push({ type: buf.subarray(at + 4, at + 8).toString('latin1'), start: at, size });
    at += size;
  }
  return out;
}

test("the sandbox's MP4 is a well-formed ISO media file whose chunk offset points at its first frame", () => {
  const mp4 = renderVideo({ seed: 'a test video', frames: 3 });
  const boxes = topBoxes(mp4);
  assert.deepEqual(
    boxes.map((b) => b.type),
    ['ftyp', 'moov', 'mdat'],
  );
  assert.equal(mp4.subarray(8, 12).toString('latin1'), 'isom');
  const stco = mp4.indexOf(Buffer.from('stco'));
  const offset = mp4.readUInt32BE(stco + 12);
  const mdat = boxes[2] as { start: number };
  assert.equal(offset, mdat.start + 8, 'stco points at the data of mdat');
  assert.deepEqual(mp4.subarray(offset, offset + 8), PNG, 'the first sample is a PNG frame');
  const stsz = mp4.indexOf(Buffer.from('stsz'));
  assert.equal(mp4.readUInt32BE(stsz + 12), 3, 'three samples');
  assert.deepEqual(renderVideo({ seed: 'a test video', frames: 3 }), mp4, 'same seed, same bytes');
  assert.notDeepEqual(renderVideo({ seed: 'another', frames: 3 }), mp4);
});
