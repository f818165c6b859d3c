/**
 * A small real MP4 (ISO base media file: `ftyp`, `moov` with one video track, `mdat`) for the
 * sandbox's video jobs. Its frames are PNG pictures (QuickTime's `png ` sample format), so no
 * video encoder is needed and each job's video differs like its images do.
 */
import { renderImage } from './png.ts';

function box(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

/** A "full box": version and flags before the body. */
function fullBox(type: string, version: number, flags: number, ...parts: Buffer[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, vf, ...parts);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => {
    b.writeUInt32BE(v >>> 0, i * 4);
  });
  return b;
}

function u16(...values: number[]): Buffer {
  const b = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => {
    b.writeUInt16BE(v & 0xffff, i * 2);
  });
  return b;
}

/** The identity transformation matrix of `mvhd`/`tkhd`. */
const MATRIX = u32(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000);

function moov(
  width: number,
  height: number,
  sizes: number[],
  dataOffset: number,
  durationMs: number,
): Buffer {
  const n = sizes.length;
  const mvhd = fullBox(
    'mvhd',
    0,
    0,
    u32(0, 0, 1000, durationMs, 0x00010000),
    u16(0x0100, 0),
    Buffer.alloc(8),
    MATRIX,
    Buffer.alloc(24),
    u32(2),
  );
  const tkhd = fullBox(
    'tkhd',
    0,
    3,
    u32(0, 0, 1, 0, durationMs),
    Buffer.alloc(8),
    u16(0, 0, 0, 0),
    MATRIX,
    u32(width << 16, height << 16),
  );
  const mdhd = fullBox('mdhd', 0, 0, u32(0, 0, 1000, durationMs), u16(0x55c4, 0));
  const hdlr = fullBox(
    'hdlr',
    0,
    0,
    u32(0),
    Buffer.from('vide', 'latin1'),
    Buffer.alloc(12),
    Buffer.from('VideoHandler\0'),
  );
  const vmhd = fullBox('vmhd', 0, 1, u16(0, 0, 0, 0));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  const compressor = Buffer.alloc(32);
  compressor.writeUInt8(3, 0);
  compressor.write('PNG', 1, 'latin1');
  const sampleEntry = box(
    'png ',
    Buffer.alloc(6),
    u16(1),
    u16(0, 0),
    Buffer.alloc(12),
    u16(width, height),
    u32(0x00480000, 0x00480000, 0),
    u16(1),
    compressor,
    u16(0x0018, 0xffff),
  );
  const stsd = fullBox('stsd', 0, 0, u32(1), sampleEntry);
  const stts = fullBox('stts', 0, 0, u32(1, n, Math.max(1, Math.round(durationMs / n))));
  const stsc = fullBox('stsc', 0, 0, u32(1, 1, n, 1));
  const stsz = fullBox('stsz', 0, 0, u32(0, n, ...sizes));
  const stco = fullBox('stco', 0, 0, u32(1, dataOffset));
  const stbl = box('stbl', stsd, stts, stsc, stsz, stco);
  const minf = box('minf', vmhd, dinf, stbl);
  const trak = box('trak', tkhd, box('mdia', mdhd, hdlr, minf));
  return box('moov', mvhd, trak);
}

/** A short MP4 whose frames are pictures of `seed`; same seed, same bytes. */
export function renderVideo(opts: {
  seed: string;
  width?: number;
  height?: number;
  frames?: number;
}): Buffer {
  const width = opts.width ?? 64;
  const height = opts.height ?? 64;
  const frames = Array.from({ length: opts.frames ?? 4 }, (_, i) =>
    renderImage({ seed: opts.seed, step: 25 * (i + 1), width, height }),
  );
  const ftyp = box('ftyp', Buffer.from('isom', 'latin1'), u32(0x200), Buffer.from('isomiso2mp41', 'latin1'));
  const sizes = frames.map((f) => f.length);
  const durationMs = 1000;
  // `stco` points into `mdat`, whose place depends on the size of `moov`: that size does not
  // depend on the offset's value, so measure once, then build for real.
  const moovSize = moov(width, height, sizes, 0, durationMs).length;
  const dataOffset = ftyp.length + moovSize + 8;
  return Buffer.concat([ftyp, moov(width, height, sizes, dataOffset, durationMs), box('mdat', ...frames)]);
}
