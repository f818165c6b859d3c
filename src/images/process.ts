/**
 * Cuts a result image into the files a task keeps (SPEC §6.7.2–3): the original bytes untouched,
 * a 2x2 grid's four quadrants as pixel-exact crops in the grid's own format, and ≤ 512 px WebP
 * previews. The image is decoded once; every output is cut from the same pixels.
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

export interface CutResult {
  /** `image.<ext>` (the original), then quadrants and previews. */
  files: CutFile[];
  image: string;
  /** Quadrant names in grid order, or `[image]` for a single image. */
  parts: string[];
  /** Preview of each entry of `parts`, same order. */
  partThumbs: string[];
  thumb: string;
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
  // settings because the store sits on the FINISHED path (the bytes are ours to serve, not to win
  // a size contest).
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

/** The format a file's first bytes announce (PNG or JPEG), else '' (sharp is asked). */
function formatOf(bytes: Buffer): string {
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a)
    return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return '';
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

/**
 * Decodes `bytes` and makes every file of the result.
 * @throws {ImageStoreError} `IMAGE_INVALID` when the bytes are not a PNG/JPEG/WebP/GIF image.
 */
export async function cutResult(bytes: Buffer, opts: { grid: boolean }): Promise<CutResult> {
  let pixels: Pixels;
  let format: string;
  let pages = 1;
  try {
    // PNG and JPEG (Midjourney's results) are one page: no separate metadata pass for them.
    format = formatOf(bytes);
    if (format !== 'png' && format !== 'jpeg') {
      const meta = await sharp(bytes).metadata();
      format = meta.format ?? '';
      pages = meta.pages ?? 1;
    }
    if (!FORMATS[format]) throw new Error(`format ${format || 'unknown'}`);
    const raw = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    pixels = { data: raw.data, info: raw.info as Pixels['info'] };
  } catch (err) {
    throw new ImageStoreError('IMAGE_INVALID', `not a PNG/JPEG/WebP/GIF image: ${(err as Error).message}`);
  }
  const f = FORMATS[format] as { ext: string; type: string };
  const image = `image.${f.ext}`;
  const { width, height } = pixels.info;
  const split = opts.grid && pages === 1 && width >= 2 && height >= 2;
  const scale = Math.min(1, THUMB_MAX / Math.max(width, height));
  const small: Pixels = await sharp(pixels.data, { raw: pixels.info })
    .resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)))
    .raw()
    .toBuffer({ resolveWithObject: true })
    .then((r) => ({ data: r.data, info: r.info as Pixels['info'] }));
  const regions = split ? quadrants(width, height) : [];
  const smallRegions = split ? quadrants(small.info.width, small.info.height) : [];
  const [thumb, ...rest] = await Promise.all([
    webpThumb(small),
    ...regions.map((r) => encode(pixels, format, r)),
    ...smallRegions.map((r) => webpThumb(small, r)),
  ]);
  const files: CutFile[] = [
    { name: image, bytes, contentType: f.type },
    { name: 'thumb.webp', bytes: thumb as Buffer, contentType: 'image/webp' },
  ];
  if (!split) return { files, image, parts: [image], partThumbs: ['thumb.webp'], thumb: 'thumb.webp' };
  const parts = [1, 2, 3, 4].map((i) => `${i}.${f.ext}`);
  const partThumbs = [1, 2, 3, 4].map((i) => `thumb-${i}.webp`);
  parts.forEach((name, i) => {
    files.push({ name, bytes: rest[i] as Buffer, contentType: f.type });
  });
  partThumbs.forEach((name, i) => {
    files.push({ name, bytes: rest[4 + i] as Buffer, contentType: 'image/webp' });
  });
  return { files, image, parts, partThumbs, thumb: 'thumb.webp' };
}
