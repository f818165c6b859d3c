/**
 * Cuts a result image into the files a task keeps (SPEC §6.7.2–3): the original bytes untouched,
 * a 2x2 grid's four quadrants as pixel-exact crops in the grid's own format, and ≤ 512 px WebP
 * previews. The header alone names every file ({@link probeImage}, {@link planFiles}), so the
 * original can be stored and announced first; the derived files are cut later from one decode.
 */
import sharp, { type Region } from 'sharp';
import { ImageStoreError } from './types.ts';

// libvips' operation cache keeps recent results (up to 50 MB) for repeats; a result is cut once
// and never again, so the cache only held memory (about 40 MB more peak RSS per process).
sharp.cache(false);

/** One file to store under the task's prefix. */
export interface CutFile {
  name: string;
  bytes: Buffer;
  contentType: string;
}

/** Longest side of a preview. */
export const THUMB_MAX = 512;

const FORMATS: Record<string, { ext: string; type: string }> = {
  png: { ext: 'png', type: 'image/png' },
  jpeg: { ext: 'jpg', type: 'image/jpeg' },
  webp: { ext: 'webp', type: 'image/webp' },
  gif: { ext: 'gif', type: 'image/gif' },
};

type Pixels = { data: Buffer; info: { width: number; height: number; channels: 1 | 2 | 3 | 4 } };

function encode(p: Pixels, format: string, region?: Region): Promise<Buffer> {
  let img = sharp(p.data, { raw: p.info });
  if (region) img = img.extract(region);
  // Lossless where the format allows, so a quadrant has the grid's pixels exactly; fast zlib
  // settings because every finished grid costs this on the cores the service shares (the bytes
  // are ours to serve, not to win a size contest).
  if (format === 'png') return img.png({ compressionLevel: 3, adaptiveFiltering: false }).toBuffer();
  if (format === 'webp') return img.webp({ lossless: true, effort: 1 }).toBuffer();
  if (format === 'gif') return img.gif().toBuffer();
  return img.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
}

function webpThumb(p: Pixels, region?: Region): Promise<Buffer> {
  let img = sharp(p.data, { raw: p.info });
  if (region) img = img.extract(region);
  return img.webp({ quality: 80, effort: 0 }).toBuffer();
}

/** The four quadrants of a `width`×`height` grid, top-left, top-right, bottom-left, bottom-right. */
export function quadrants(width: number, height: number): Region[] {
  const w = Math.floor(width / 2);
  const h = Math.floor(height / 2);
  return [
    { left: 0, top: 0, width: w, height: h },
    { left: w, top: 0, width: w, height: h },
    { left: 0, top: h, width: w, height: h },
    { left: w, top: h, width: w, height: h },
  ];
}

/** What a result's header says: enough to name its files without decoding it. */
export interface Probe {
  format: string;
  width: number;
  height: number;
  pages: number;
}

/** The names of a result's files, known before any of them is cut. */
export interface Plan {
  format: string;
  /** `image.<ext>`: the original bytes. */
  image: string;
  contentType: string;
  /** A 2x2 grid cut in four (its quadrants and their previews are made too). */
  split: boolean;
  /** Quadrant names in grid order, or `[image]` for a single image. */
  parts: string[];
  /** Preview of each entry of `parts`, same order. */
  partThumbs: string[];
  thumb: string;
}

/** A PNG's size from its IHDR chunk, which the format puts first. */
function pngProbe(bytes: Buffer): Probe | undefined {
  if (bytes.length < 24 || bytes.readUInt32BE(0) !== 0x89504e47 || bytes.readUInt32BE(4) !== 0x0d0a1a0a)
    return undefined;
  if (bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { format: 'png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), pages: 1 };
}

/** A baseline or progressive JPEG's size from its first SOF segment. */
function jpegProbe(bytes: Buffer): Probe | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] as number;
    // Fill bytes and markers without a length.
    if (marker === 0xff || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += marker === 0xff ? 1 : 2;
      continue;
    }
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return {
        format: 'jpeg',
        height: bytes.readUInt16BE(at + 5),
        width: bytes.readUInt16BE(at + 7),
        pages: 1,
      };
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  return undefined;
}

/**
 * Reads the header of `bytes` (no decoding; PNG and JPEG, Midjourney's results, without leaving
 * the thread: under load every hop to the thread pool can wait tens of milliseconds).
 * @throws {ImageStoreError} `IMAGE_INVALID` when the bytes are not a PNG/JPEG/WebP/GIF image.
 */
export async function probeImage(bytes: Buffer): Promise<Probe> {
  const quick = pngProbe(bytes) ?? jpegProbe(bytes);
  if (quick && quick.width > 0 && quick.height > 0) return quick;
  try {
    const meta = await sharp(bytes).metadata();
    const format = meta.format ?? '';
    if (!FORMATS[format] || !meta.width || !meta.height) throw new Error(`format ${format || 'unknown'}`);
    return { format, width: meta.width, height: meta.height, pages: meta.pages ?? 1 };
  } catch (err) {
    throw new ImageStoreError('IMAGE_INVALID', `not a PNG/JPEG/WebP/GIF image: ${(err as Error).message}`);
  }
}

/** The files a result gets: with `grid`, a one-page image of at least 2×2 is cut in four. */
export function planFiles(probe: Probe, grid: boolean): Plan {
  const f = FORMATS[probe.format] as { ext: string; type: string };
  const image = `image.${f.ext}`;
  const split = grid && probe.pages === 1 && probe.width >= 2 && probe.height >= 2;
  const base = { format: probe.format, image, contentType: f.type, split, thumb: 'thumb.webp' };
  if (!split) return { ...base, parts: [image], partThumbs: ['thumb.webp'] };
  return {
    ...base,
    parts: [1, 2, 3, 4].map((i) => `${i}.${f.ext}`),
    partThumbs: [1, 2, 3, 4].map((i) => `thumb-${i}.webp`),
  };
}

/**
 * Decodes `bytes` once and makes the files derived from it: the previews and, for a split grid,
 * the four quadrants (the original itself is not among them).
 * @throws {ImageStoreError} `IMAGE_INVALID` when the bytes cannot be decoded.
 */
export async function cutDerived(bytes: Buffer, plan: Plan): Promise<CutFile[]> {
  let pixels: Pixels;
  try {
    const raw = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    pixels = { data: raw.data, info: raw.info as Pixels['info'] };
  } catch (err) {
    throw new ImageStoreError('IMAGE_INVALID', `not a PNG/JPEG/WebP/GIF image: ${(err as Error).message}`);
  }
  const { width, height } = pixels.info;
  const split = plan.split && width >= 2 && height >= 2;
  const scale = Math.min(1, THUMB_MAX / Math.max(width, height));
  const small: Pixels = await sharp(pixels.data, { raw: pixels.info })
    .resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)))
    .raw()
    .toBuffer({ resolveWithObject: true })
    .then((r) => ({ data: r.data, info: r.info as Pixels['info'] }));
  const regions = split ? quadrants(width, height) : [];
  const smallRegions = split ? quadrants(small.info.width, small.info.height) : [];
  // One encode after another: the cut runs beside the service's own work (it is no longer on the
  // FINISHED path), so it takes one core of the thread pool, never all of them at once.
  const encodes = [
    () => webpThumb(small),
    ...regions.map((r) => () => encode(pixels, plan.format, r)),
    ...smallRegions.map((r) => () => webpThumb(small, r)),
  ];
  const outputs: Buffer[] = [];
  for (const run of encodes) outputs.push(await run());
  const [thumb, ...rest] = outputs;

  const files: CutFile[] = [{ name: plan.thumb, bytes: thumb as Buffer, contentType: 'image/webp' }];
  if (!split) return files;
  plan.parts.forEach((name, i) => {
    files.push({ name, bytes: rest[i] as Buffer, contentType: plan.contentType });
  });
  plan.partThumbs.forEach((name, i) => {
    files.push({ name, bytes: rest[4 + i] as Buffer, contentType: 'image/webp' });
  });
  return files;
}
