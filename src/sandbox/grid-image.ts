/**
 * Midjourney-sized results for the sandbox: a 2x2 grid of four distinct pictures at the real size
 * class (2048×2048 for 1:1, 2912×1632 for 16:9, …) and an upscale that is one of those pictures at
 * the quadrant's size. Pictures are drawn from a small set of variants per size; each half of a
 * grid (two pictures side by side) is compressed once and kept, and a PNG is then assembled from
 * kept halves (deflate blocks end byte-aligned, so they concatenate) — a grid costs a few copies.
 */
import { createHash } from 'node:crypto';
import { constants, crc32, deflateRawSync, deflateSync } from 'node:zlib';

/** Pictures per size class; a grid shows four distinct ones chosen by its seed. */
const VARIANTS = 6;

/** Quadrant sizes Midjourney renders for the common aspect ratios. */
const KNOWN: Record<string, [number, number]> = {
  '1:1': [1024, 1024],
  '16:9': [1456, 816],
  '9:16': [816, 1456],
  '2:3': [896, 1344],
  '3:2': [1344, 896],
  '4:3': [1232, 928],
  '3:4': [928, 1232],
  '4:5': [896, 1120],
  '5:4': [1120, 896],
  '21:9': [1680, 720],
  '9:21': [720, 1680],
};

/** The quadrant (= upscale) size for a prompt's `--ar`/`--aspect` (1:1 without one). */
export function quadrantSize(prompt: string): { width: number; height: number } {
  const m = /--(?:ar|aspect)\s+(\d{1,3}):(\d{1,3})\b/.exec(prompt);
  const w = Number(m?.[1] ?? 1);
  const h = Number(m?.[2] ?? 1);
  if (!(w > 0 && h > 0)) return { width: 1024, height: 1024 };
  const g = gcd(w, h);
  const known = KNOWN[`${w / g}:${h / g}`];
  if (known) return { width: known[0], height: known[1] };
  // Other ratios: about a megapixel, sides multiples of 16, within Midjourney's 1:3..3:1 spirit.
  const r = Math.min(4, Math.max(0.25, w / h));
  const area = 1024 * 1024 * 1.1;
  const side = (v: number) => Math.max(256, Math.round(v / 16) * 16);
  return { width: side(Math.sqrt(area * r)), height: side(Math.sqrt(area / r)) };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The four variants (distinct) a grid of this seed shows, in grid order. */
export function gridVariants(seed: string): number[] {
  const h = createHash('sha256').update(seed).digest();
  const pool = Array.from({ length: VARIANTS }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < 4; i++) {
    const k = (h[i] as number) % pool.length;
    out.push(pool.splice(k, 1)[0] as number);
  }
  return out;
}

/** Pictures are drawn in blocks of this many pixels: cheap to draw and to compress. */
const BLOCK = 4;

/** One picture at block resolution (RGB, `bw`×`bh`). */
interface Small {
  bw: number;
  bh: number;
  rgb: Uint8Array;
}

/** A two-colour gradient with rings, colours from the variant, at block resolution. */
function drawPicture(width: number, height: number, variant: number): Small {
  const h = createHash('sha256').update(`sandbox-picture-${variant}`).digest();
  const c = (i: number) => h[i] as number;
  const bw = Math.ceil(width / BLOCK);
  const bh = Math.ceil(height / BLOCK);
  const cx = (0.2 + (c(6) / 255) * 0.6) * bw;
  const cy = (0.2 + (c(7) / 255) * 0.6) * bh;
  const ring = 6 + (c(8) % 12);
  const steps = bw + bh;
  const rgb = new Uint8Array(bw * bh * 3);
  let i = 0;
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const t = (x + y) / steps;
      const dark = ((Math.sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy)) / ring) | 0) & 1 ? 0.72 : 1;
      rgb[i] = (c(0) * (1 - t) + c(3) * t) * dark;
      rgb[i + 1] = (c(1) * (1 - t) + c(4) * t) * dark;
      rgb[i + 2] = (c(2) * (1 - t) + c(5) * t) * dark;
      i += 3;
    }
  }
  return { bw, bh, rgb };
}

interface Band {
  /** Raw deflate blocks ending on a byte boundary (not final). */
  deflated: Buffer;
  adler: number;
  /** Length of the PNG rows it encodes. */
  length: number;
}

const pictures = new Map<string, Small>();
const bands = new Map<string, Band>();
let bandBytes = 0;
/** Kept compressed halves; past this the oldest are dropped (they are remade on demand). */
const MAX_BAND_BYTES = 16 * 1024 * 1024;
const MAX_PICTURES = 64;

function picture(width: number, height: number, variant: number): Small {
  const key = `${width}x${height}:${variant}`;
  let p = pictures.get(key);
  if (!p) {
    p = drawPicture(width, height, variant);
    pictures.set(key, p);
    if (pictures.size > MAX_PICTURES) pictures.delete(pictures.keys().next().value as string);
  }
  return p;
}

/** PNG rows (filter 0) of the pictures side by side, deflated and kept. */
function band(width: number, height: number, variants: number[]): Band {
  const key = `${width}x${height}:${variants.join(',')}`;
  const kept = bands.get(key);
  if (kept) {
    bands.delete(key);
    bands.set(key, kept);
    return kept;
  }
  const pics = variants.map((v) => picture(width, height, v));
  const w3 = width * 3;
  const rowBytes = 1 + w3 * pics.length;
  const rows = new Uint8Array(rowBytes * height);
  for (let y0 = 0; y0 < height; y0 += BLOCK) {
    const o = y0 * rowBytes;
    const by = y0 / BLOCK;
    for (let k = 0; k < pics.length; k++) {
      const p = pics[k] as Small;
      const base = o + 1 + k * w3;
      for (let x = 0; x < width; x++) {
        const src = (by * p.bw + ((x / BLOCK) | 0)) * 3;
        rows[base + x * 3] = p.rgb[src] as number;
        rows[base + x * 3 + 1] = p.rgb[src + 1] as number;
        rows[base + x * 3 + 2] = p.rgb[src + 2] as number;
      }
    }
    for (let y = y0 + 1; y < Math.min(height, y0 + BLOCK); y++)
      rows.copyWithin(y * rowBytes, o, o + rowBytes);
  }
  // A stored (level 0) zlib stream ends with the rows' Adler-32, computed natively.
  const stored = deflateSync(rows, { level: 0 });
  const made: Band = {
    deflated: deflateRawSync(rows, { level: 1, finishFlush: constants.Z_SYNC_FLUSH }),
    adler: stored.readUInt32BE(stored.length - 4),
    length: rows.length,
  };
  bands.set(key, made);
  bandBytes += made.deflated.length;
  for (const [k, b] of bands) {
    if (bandBytes <= MAX_BAND_BYTES) break;
    bands.delete(k);
    bandBytes -= b.deflated.length;
  }
  return made;
}

const BASE = 65521;

/** Adler-32 of two byte runs joined, from theirs (zlib's adler32_combine). */
function adlerCombine(a1: number, a2: number, len2: number): number {
  const rem = len2 % BASE;
  let sum1 = a1 & 0xffff;
  let sum2 = (rem * sum1) % BASE;
  sum1 += (a2 & 0xffff) + BASE - 1;
  sum2 += ((a1 >>> 16) & 0xffff) + ((a2 >>> 16) & 0xffff) + BASE - rem;
  if (sum1 >= BASE) sum1 -= BASE;
  if (sum1 >= BASE) sum1 -= BASE;
  if (sum2 >= 2 * BASE) sum2 -= 2 * BASE;
  if (sum2 >= BASE) sum2 -= BASE;
  return ((sum2 << 16) | sum1) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))) >>> 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG (RGB, 8 bit) of `width`×`height` from bands stacked top to bottom. */
function assemble(width: number, height: number, parts: Band[]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  let adler = parts[0]?.adler ?? 1;
  for (const p of parts.slice(1)) adler = adlerCombine(adler, p.adler, p.length);
  const tail = Buffer.alloc(6);
  // An empty final fixed-Huffman block, then the stream's Adler-32.
  tail[0] = 0x03;
  tail[1] = 0x00;
  tail.writeUInt32BE(adler, 2);
  const idat = Buffer.concat([Buffer.from([0x78, 0x01]), ...parts.map((p) => p.deflated), tail]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 2x2 grid PNG for `seed` whose quadrants are `quadrant`-sized, four distinct pictures. */
export function renderGrid(seed: string, quadrant: { width: number; height: number }): Buffer {
  const [a, b, c, d] = gridVariants(seed) as [number, number, number, number];
  const { width, height } = quadrant;
  return assemble(width * 2, height * 2, [band(width, height, [a, b]), band(width, height, [c, d])]);
}

/** Image `index` (1–4) of the grid of `seed`, alone at the quadrant's size (what U1–U4 give). */
export function renderUpscale(
  seed: string,
  index: number,
  quadrant: { width: number; height: number },
): Buffer {
  const v = gridVariants(seed)[Math.min(3, Math.max(0, index - 1))] as number;
  return assemble(quadrant.width, quadrant.height, [band(quadrant.width, quadrant.height, [v])]);
}
