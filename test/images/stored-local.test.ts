import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Task } from '../../src/engine/task.ts';
import { silentLogger } from '../../src/log.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { type CompatTaskJson, NewApiRelay } from '../compat/clients.ts';
import { freePort } from '../helpers/free-port.ts';
import { button, type Service, startService } from '../helpers/service.ts';
import { checkServing, checkStoredGrid, load, pixels } from './helpers.ts';

describe('stored results on local disk (the default)', () => {
  let sandbox: Sandbox;
  let svc: Service;
  let port: number;
  let grid: Task;
  let gridBytes: Buffer;
  before(async () => {
    sandbox = await startSandbox({ speed: 200, logger: silentLogger() });
    port = await freePort();
    svc = await startService({ sandbox, config: { listen: `http://127.0.0.1:${port}` } });
  });
  after(async () => {
    await svc.close();
    await sandbox.close();
  });

  test("an imagine's imageUrl is on the service's origin; imageUrls are the four quadrants", async () => {
    grid = await svc.waitTask(await svc.submit('/image/imagine', { prompt: 'a lighthouse at dusk' }));
    ({ grid: gridBytes } = await checkStoredGrid(grid, svc.app.url));
    assert.ok(grid.imageRawUrl?.startsWith('https://cdn.discordapp.com/'), 'the Discord URL is kept');
    const health = await svc.call('/health');
    assert.deepEqual(health.body.images, { store: 'local', ok: true });
  });

  test('wrong token 404, Range 206, ETag 304', async () => {
    await checkServing(grid, gridBytes, svc.app.url);
  });

  test('an upscale is one quadrant at the quadrant size, stored with its thumbnail', async () => {
    const id = await svc.submit('/image/action', {
      taskId: grid.id,
      customId: button(grid, (b) => b.label === 'U2'),
    });
    const up = await svc.waitTask(id);
    assert.equal(up.status, 'FINISHED', up.failReason ?? '');
    assert.ok(up.imageUrl?.startsWith(`${svc.app.url}/image/file/${up.id}/`));
    assert.equal(up.imageUrls.length, 1);
    assert.equal(up.imageUrls[0]?.url, up.imageUrl);
    assert.equal(up.imageUrls[0]?.thumbnail, up.thumbnailUrl);
    const img = await pixels((await load(up.imageUrl as string)).bytes);
    assert.deepEqual([img.width, img.height], [1024, 1024]);
    const quadrant = await pixels((await load(grid.imageUrls[1]?.url as string)).bytes);
    assert.ok(img.data.equals(quadrant.data), 'U2 is the grid picture 2');
  });

  test('a V8 grid (no upscale buttons, SPEC §14) is stored as four quadrants like a V7 grid, on both APIs', async () => {
    const seedV8 = await svc.waitTask(
      await svc.submit('/image/imagine', { prompt: 'a quiet harbour --v 8' }),
    );
    const ids = seedV8.buttons.flat().map((b) => b.custom_id);
    assert.equal(
      ids.filter((id) => id.startsWith('MJ::JOB::upsample::')).length,
      0,
      'the grid has no U buttons',
    );
    await checkStoredGrid(seedV8, svc.app.url);

    const relay = new NewApiRelay(svc.app.url, '');
    const id = String((await relay.accepted('imagine', { prompt: 'a windmill at noon --v 8.1' })).result);
    const compat = (await relay.poll(id)) as CompatTaskJson & {
      imageUrls: { url: string; thumbnail: string | null }[];
    };
    assert.equal(compat.status, 'SUCCESS', compat.failReason ?? '');
    assert.ok(!compat.buttons.some((b) => b.customId.startsWith('MJ::JOB::upsample::')), 'no U buttons');
    assert.equal(compat.imageUrls.length, 4, 'the /mj task has the four quadrants');
    for (const entry of compat.imageUrls) assert.ok(entry.thumbnail, 'each with a thumbnail');
    const same = await svc.fetchTask(id);
    assert.deepEqual(same.imageUrls, compat.imageUrls);
    await checkStoredGrid(same, svc.app.url);
  });

  test('--ar 16:9 gives a 2912×1632 grid and 1456×816 quadrants', async () => {
    const wide = await svc.waitTask(
      await svc.submit('/image/imagine', { prompt: 'a wide valley --ar 16:9' }),
    );
    assert.equal(wide.status, 'FINISHED', wide.failReason ?? '');
    const meta = await sharp((await load(wide.imageUrl as string)).bytes).metadata();
    assert.deepEqual([meta.width, meta.height], [2912, 1632]);
    const q = await sharp((await load(wide.imageUrls[3]?.url as string)).bytes).metadata();
    assert.deepEqual([q.width, q.height], [1456, 816]);
  });

  test('after a restart, and with the CDN no longer serving the original, every stored URL serves', async () => {
    await svc.close();
    sandbox.discord.faults.cdnDown(true);
    try {
      const raw = await load(
        grid.imageRawUrl?.replace('https://cdn.discordapp.com', sandbox.proxy.cdn) ?? '',
      );
      assert.equal(raw.status, 404, 'Discord no longer serves it');
      svc = await startService({
        sandbox,
        storeFile: svc.storeFile,
        config: { listen: `http://127.0.0.1:${port}` },
      });
      const again = await svc.fetchTask(grid.id);
      assert.equal(again.imageUrl, grid.imageUrl);
      const urls = [
        grid.imageUrl,
        grid.thumbnailUrl,
        ...grid.imageUrls.flatMap((e) => [e.url, e.thumbnail]),
      ] as string[];
      for (const url of urls) assert.equal((await load(url)).status, 200, url);
      assert.ok((await load(grid.imageUrl as string)).bytes.equals(gridBytes));
    } finally {
      sandbox.discord.faults.cdnDown(false);
    }
  });
});
