import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp, { type Region } from 'sharp';
import { parseConfig } from '../../src/config.ts';
import { createImageArchive, type ImageService } from '../../src/images/index.ts';
import { silentLogger } from '../../src/log.ts';
import { renderGrid, renderUpscale } from '../../src/sandbox/grid-image.ts';

/**
 * The original is stored when `fileImage` resolves (the task is announced then); its previews and
 * quadrants are cut right after. Whatever the order, every URL the task shows answers with its
 * bytes as soon as it is asked for.
 */

async function bytesOf(archive: ImageService, url: string): Promise<Buffer | undefined> {
  const [, , , taskId = '', token = '', name = ''] = new URL(url).pathname.split('/');
  const file = await archive.stat(taskId, token, name);
  if (!file) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of await archive.read(taskId, token, name)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function rgb(bytes: Buffer, region?: Region): Promise<Buffer> {
  const img = sharp(bytes);
  if (region) img.extract(region);
  return img.removeAlpha().raw().toBuffer();
}

function archiveIn(dir: string): ImageService {
  return createImageArchive(parseConfig({ images: { dir } }).images, {
    publicBase: () => 'http://127.0.0.1:1',
    logger: silentLogger(),
    expiredDays: 30,
  });
}

describe('previews and quadrants made after the original', () => {
  let dir: string;
  let archive: ImageService;
  const grids = Array.from({ length: 8 }, (_, i) => renderGrid(`burst ${i}`, { width: 1024, height: 1024 }));
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mjb-derived-'));
    archive = archiveIn(dir);
    await archive.start();
  });
  after(async () => {
    await archive.close();
  });

  test('the last grid of a burst serves its quadrants and previews as soon as it is filed', async () => {
    const filed = [];
    for (const [i, grid] of grids.entries())
      filed.push(
        await archive.fileImage(`17640000000000001${i}`, `tok${i}`.padEnd(20, 'x'), grid, { grid: true }),
      );
    const last = filed.at(-1);
    const grid = grids.at(-1) as Buffer;
    assert.ok(last);
    assert.ok((await bytesOf(archive, last.imageUrl))?.equals(grid), 'the original, byte for byte');
    for (const [i, entry] of last.imageUrls.entries()) {
      const part = await bytesOf(archive, entry.url);
      assert.ok(part, entry.url);
      const region = { left: (i % 2) * 1024, top: Math.floor(i / 2) * 1024, width: 1024, height: 1024 };
      assert.ok((await rgb(part)).equals(await rgb(grid, region)), `quadrant ${i + 1} pixel for pixel`);
      const thumb = await bytesOf(archive, entry.thumbnail as string);
      assert.equal((await sharp(thumb).metadata()).format, 'webp');
    }
    const thumb = await bytesOf(archive, last.thumbnailUrl as string);
    assert.ok(thumb, 'the preview of the whole grid');
    const meta = await sharp(thumb).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 512, 512]);
    for (const f of filed) for (const e of f.imageUrls) assert.ok(await bytesOf(archive, e.url), e.url);
  });

  test('files lost before they were cut (a restart, another instance) are cut from the original on request', async () => {
    const grid = grids[0] as Buffer;
    const filed = await archive.fileImage('1764000000000000200', 'r'.repeat(20), grid, { grid: true });
    const up = renderUpscale('lost', 2, { width: 1024, height: 1024 });
    const single = await archive.fileImage('1764000000000000201', 's'.repeat(20), up, { grid: false });
    await archive.close();
    // Only the originals survive.
    for (const task of ['1764000000000000200', '1764000000000000201']) {
      const prefix = join(dir, task, readdirSync(join(dir, task))[0] as string);
      for (const name of readdirSync(prefix)) if (!name.startsWith('image.')) rmSync(join(prefix, name));
      assert.deepEqual(readdirSync(prefix), ['image.png']);
    }
    archive = archiveIn(dir);
    await archive.start();
    const part = await bytesOf(archive, filed.imageUrls[3]?.url as string);
    assert.ok(part, 'quadrant 4 serves');
    const region = { left: 1024, top: 1024, width: 1024, height: 1024 };
    assert.ok((await rgb(part)).equals(await rgb(grid, region)), 'quadrant 4 pixel for pixel');
    assert.ok(await bytesOf(archive, filed.imageUrls[0]?.thumbnail as string));
    const thumb = await bytesOf(archive, single.thumbnailUrl as string);
    assert.ok(thumb, "the upscale's preview serves");
    const meta = await sharp(thumb).metadata();
    assert.equal(meta.format, 'webp');
    assert.ok(Math.max(meta.width ?? 0, meta.height ?? 0) <= 512);
    const wrongFormat = filed.imageUrls[0]?.url.replace(/\.png$/, '.jpg') as string;
    assert.equal(await bytesOf(archive, wrongFormat), undefined, 'a name the result never has: none');
  });
});
