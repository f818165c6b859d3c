/**
 * Checks shared by the stored-image tests: what a client loading a finished task's URLs sees.
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { Task } from '../../src/engine/task.ts';

export interface Loaded {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

export async function load(url: string, headers: Record<string, string> = {}): Promise<Loaded> {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

export async function pixels(bytes: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** The task's `imageUrl` serves the grid with immutable caching; its four `imageUrls` are the quadrants. */
export async function checkStoredGrid(task: Task, origin: string): Promise<{ grid: Buffer }> {
  assert.equal(task.status, 'FINISHED', task.failReason ?? '');
  assert.ok(task.imageUrl?.startsWith(`${origin}/`), `imageUrl ${task.imageUrl} is on ${origin}`);
  assert.match(task.imageUrl ?? '', new RegExp(`/${task.id}/[A-Za-z0-9_-]{16,}/image\\.png$`));
  const grid = await load(task.imageUrl as string);
  assert.equal(grid.status, 200);
  assert.equal(grid.headers.get('content-type'), 'image/png');
  assert.equal(grid.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.ok(grid.headers.get('etag'), 'an ETag');
  assert.equal(Number(grid.headers.get('content-length')), grid.bytes.length);
  const whole = await pixels(grid.bytes);
  assert.deepEqual([whole.width, whole.height], [2048, 2048], 'a 1:1 grid is 2048×2048, like Midjourney');
  assert.equal(task.imageUrls.length, 4);
  const seen = new Set<string>();
  for (const [i, entry] of task.imageUrls.entries()) {
    const part = await load(entry.url);
    assert.equal(part.status, 200, entry.url);
    assert.equal(part.headers.get('content-type'), 'image/png');
    const got = await pixels(part.bytes);
    const crop = await sharp(grid.bytes)
      .extract({ left: (i % 2) * 1024, top: Math.floor(i / 2) * 1024, width: 1024, height: 1024 })
      .removeAlpha()
      .raw()
      .toBuffer();
    assert.deepEqual([got.width, got.height], [1024, 1024]);
    assert.ok(got.data.equals(crop), `imageUrls[${i}] is quadrant ${i + 1} pixel for pixel`);
    seen.add(got.data.subarray(0, 3000).toString('hex'));
    assert.ok(entry.thumbnail, 'each image has a thumbnail');
    const thumb = await load(entry.thumbnail as string);
    assert.equal(thumb.headers.get('content-type'), 'image/webp');
    const meta = await sharp(thumb.bytes).metadata();
    assert.ok(Math.max(meta.width ?? 0, meta.height ?? 0) <= 512);
  }
  assert.equal(seen.size, 4, 'the four quadrants are four different pictures');
  assert.ok(task.thumbnailUrl);
  const thumb = await load(task.thumbnailUrl as string);
  assert.equal(thumb.status, 200);
  assert.equal(thumb.headers.get('content-type'), 'image/webp');
  const meta = await sharp(thumb.bytes).metadata();
  assert.equal(meta.format, 'webp');
  assert.ok(Math.max(meta.width ?? 0, meta.height ?? 0) <= 512, 'the thumbnail is at most 512 px');
  return { grid: grid.bytes };
}

/** A wrong token, an unknown task and a bad name are 404; `Range: bytes=0-99` is 206 with 100 bytes. */
export async function checkServing(task: Task, grid: Buffer, serviceOrigin: string): Promise<void> {
  const url = new URL(task.imageUrl as string);
  const [, , , id, token, name] = url.pathname.split('/');
  const local = `${serviceOrigin}/image/file/${id}/${token}/${name}`;
  const wrong = `${serviceOrigin}/image/file/${id}/${'x'.repeat((token ?? '').length)}/${name}`;
  assert.equal((await load(wrong)).status, 404, 'wrong token');
  assert.equal((await load(`${serviceOrigin}/image/file/1764000000000000000/${token}/${name}`)).status, 404);
  assert.equal((await load(`${serviceOrigin}/image/file/${id}/${token}/..%2F..%2Fetc`)).status, 404);
  const ranged = await load(local, { range: 'bytes=0-99' });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.bytes.length, 100);
  assert.equal(ranged.headers.get('content-range'), `bytes 0-99/${grid.length}`);
  assert.ok(ranged.bytes.equals(grid.subarray(0, 100)));
  const etag = (await load(local)).headers.get('etag') ?? '';
  assert.equal((await load(local, { 'if-none-match': etag })).status, 304);
  assert.equal((await load(local, { range: `bytes=${grid.length}-` })).status, 416);
}
