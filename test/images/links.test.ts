import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { parseConfig } from '../../src/config.ts';
import { createImageArchive } from '../../src/images/index.ts';
import { silentLogger } from '../../src/log.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { type Service, startService } from '../helpers/service.ts';
import { load } from './helpers.ts';

async function metric(svc: Service, name: string): Promise<number> {
  const text = await (await fetch(`${svc.app.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}

describe('results that are not stored', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ speed: 200, logger: silentLogger() });
  });
  after(async () => {
    sandbox.discord.faults.cdnUrlLifetime(24 * 3600);
    await sandbox.close();
  });

  test('images.store "off": an expired Discord link is refreshed when the task is fetched', async () => {
    const svc = await startService({ sandbox, config: { images: { store: 'off' } } });
    try {
      sandbox.discord.faults.cdnUrlLifetime(1);
      const t = await svc.waitTask(await svc.submit('/image/imagine', { prompt: 'a paper boat' }));
      sandbox.discord.faults.cdnUrlLifetime(24 * 3600);
      assert.equal(t.status, 'FINISHED', t.failReason ?? '');
      assert.ok(t.imageUrl?.startsWith(sandbox.proxy.cdn), 'off: the CDN-replaced Discord link');
      assert.deepEqual(t.imageUrls, []);
      assert.equal(t.thumbnailUrl, null);
      assert.deepEqual((await svc.call('/health')).body.images, { store: 'off', ok: true });
      // Discord's `ex=` is in seconds: wait until it has passed.
      const ex = Number.parseInt(new URL(t.imageUrl as string).searchParams.get('ex') ?? '0', 16) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, ex - Date.now()) + 1100));
      assert.equal((await load(t.imageUrl as string)).status, 404, 'the expired link no longer serves');
      const fresh = await svc.fetchTask(t.id);
      assert.notEqual(fresh.imageUrl, t.imageUrl);
      assert.ok(fresh.imageRawUrl?.startsWith('https://cdn.discordapp.com/attachments/'));
      const img = await load(fresh.imageUrl as string);
      assert.equal(img.status, 200);
      assert.equal((await sharp(img.bytes).metadata()).width, 2048);
      const again = await svc.fetchTask(t.id);
      assert.equal(again.imageUrl, fresh.imageUrl, 'at most one refresh per hour');
    } finally {
      await svc.close();
    }
  });

  test('a download failing three times finishes with the Discord link, counted; a later fetch stores it', async () => {
    const svc = await startService({ sandbox, imageTiming: { retryEveryMs: 300 } });
    try {
      sandbox.discord.faults.cdnErrorNext(3);
      const t = await svc.waitTask(await svc.submit('/image/imagine', { prompt: 'a kite over dunes' }));
      assert.equal(t.status, 'FINISHED', t.failReason ?? '');
      assert.ok(t.imageUrl?.startsWith(sandbox.proxy.cdn), `the Discord link stays: ${t.imageUrl}`);
      assert.deepEqual(t.imageUrls, []);
      assert.equal(await metric(svc, 'mjb_image_store_failures_total{kind="image"}'), 1);
      assert.equal((await load(t.imageUrl as string)).status, 200, 'the Discord link itself works');
      const soon = await svc.fetchTask(t.id);
      assert.equal(soon.imageUrl, t.imageUrl, 'no new attempt within the retry interval');
      await new Promise((r) => setTimeout(r, 350));
      const later = await svc.fetchTask(t.id);
      assert.ok(later.imageUrl?.startsWith(`${svc.app.url}/image/file/${t.id}/`), later.imageUrl ?? '');
      assert.equal(later.imageUrls.length, 4);
      assert.equal((await load(later.imageUrls[0]?.url as string)).status, 200);
      assert.equal(later.imageRawUrl, t.imageRawUrl, 'the Discord URL is kept as sent');
    } finally {
      await svc.close();
    }
  });
});

test('the expiry sweep deletes the files of tasks older than store.expiredDates', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mjb-sweep-'));
  const archive = createImageArchive(parseConfig({ images: { dir } }).images, {
    publicBase: () => 'http://127.0.0.1:1',
    logger: silentLogger(),
    expiredDays: 1,
  });
  await archive.start();
  try {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c33' } })
      .png()
      .toBuffer();
    const filed = await archive.fileImage('1764000000000000001', 'a'.repeat(24), png, { grid: true });
    assert.equal(filed.imageUrls.length, 4);
    await archive.fileImage('1764000000000000002', 'b'.repeat(24), png, { grid: false });
    const old = (Date.now() - 2 * 24 * 3600_000) / 1000;
    utimesSync(join(dir, '1764000000000000001'), old, old);
    assert.equal(await archive.sweep(), 1);
    assert.deepEqual(readdirSync(dir), ['1764000000000000002']);
    assert.equal(await archive.stat('1764000000000000001', 'a'.repeat(24), 'image.png'), undefined);
    assert.ok(await archive.stat('1764000000000000002', 'b'.repeat(24), 'image.png'));
  } finally {
    await archive.close();
  }
});
