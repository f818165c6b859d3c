/**
 * A small real PNG encoder (RGB, 8 bit, zlib) and deterministic pictures that differ by prompt and
 * by step, so the sandbox's CDN serves images a viewer opens and a test can tell apart.
 */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** Encodes RGB pixels (`width*height*3` bytes) as a PNG file. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A picture for a prompt (`seed`) at a progress `step` (0–100): colour bands from the prompt's
 * hash, sharper as the step grows; `grid` draws the 2×2 quadrants of a Midjourney grid.
 */
export function renderImage(opts: {
  seed: string;
  step: number;
  width: number;
  height: number;
  grid?: boolean;
}): Buffer {
  const { width, height } = opts;
  const h = createHash('sha256').update(opts.seed).digest();
  const rgb = new Uint8Array(width * height * 3);
  const blur = Math.max(1, Math.round((100 - Math.min(100, opts.step)) / 10));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const q = opts.grid ? (x < width / 2 ? 0 : 1) + (y < height / 2 ? 0 : 2) : 0;
      const qx = Math.floor(x / blur) * blur;
      const qy = Math.floor(y / blur) * blur;
      const i = (y * width + x) * 3;
      const base = q * 3;
      rgb[i] = ((h[base] as number) + qx * (((h[12] as number) % 5) + 1)) & 0xff;
      rgb[i + 1] = ((h[base + 1] as number) + qy * (((h[13] as number) % 5) + 1)) & 0xff;
      rgb[i + 2] = ((h[base + 2] as number) + (qx + qy) * (((h[14] as number) % 3) + 1) + opts.step) & 0xff;
    }
  }
  return encodePng(width, height, rgb);
}
