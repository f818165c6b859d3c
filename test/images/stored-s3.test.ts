import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { Task } from '../../src/engine/task.ts';
import { silentLogger } from '../../src/log.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { type Service, startService } from '../helpers/service.ts';
import { checkServing, checkStoredGrid, load } from './helpers.ts';

const BUCKET = 'mjb-test';

describe('stored results in an S3-compatible bucket (s3rver on loopback)', () => {
  let s3: S3rver;
  let endpoint: string;
  let client: S3Client;
  let sandbox: Sandbox;
  let svc: Service;
  let grid: Task;
  const s3Config = () => ({
    endpoint,
    region: 'us-east-1',
    bucket: BUCKET,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
  });
  before(async () => {
    s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: mkdtempSync(join(tmpdir(), 'mjb-s3rver-')),
      configureBuckets: [{ name: BUCKET, configs: [] }],
    });
    const info = await s3.run();
    endpoint = `http://127.0.0.1:${info.port}`;
    client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    sandbox = await startSandbox({ speed: 200, logger: silentLogger() });
    svc = await startService({ sandbox, config: { images: { store: 's3', s3: s3Config() } } });
  });
  after(async () => {
    await svc?.close();
    await sandbox?.close();
    client?.destroy();
    await s3?.close();
  });

  test('the same checks as on disk pass, and the objects are in the bucket', async () => {
    grid = await svc.waitTask(await svc.submit('/image/imagine', { prompt: 'a harbour in fog' }));
    const { grid: bytes } = await checkStoredGrid(grid, svc.app.url);
    await checkServing(grid, bytes, svc.app.url);
    const token = new URL(grid.imageUrl as string).pathname.split('/')[4];
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `mjb/${grid.id}/` }));
    const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
    for (const name of ['image.png', '1.png', '2.png', '3.png', '4.png', 'thumb.webp'])
      assert.ok(keys.includes(`mjb/${grid.id}/${token}/${name}`), `${name} in ${keys.join(', ')}`);
    const health = await svc.call('/health');
    assert.deepEqual(health.body.images, { store: 's3', ok: true });
  });

  test('the stored files outlive the CDN and a restart', async () => {
    await svc.close();
    sandbox.discord.faults.cdnDown(true);
    try {
      svc = await startService({
        sandbox,
        storeFile: svc.storeFile,
        config: { images: { store: 's3', s3: s3Config() } },
      });
      const again = await svc.fetchTask(grid.id);
      const path = new URL(again.imageUrl as string).pathname;
      for (const e of again.imageUrls) {
        const p = new URL(e.url).pathname;
        assert.equal((await load(svc.app.url + p)).status, 200, p);
      }
      assert.equal((await load(svc.app.url + path)).status, 200);
    } finally {
      sandbox.discord.faults.cdnDown(false);
    }
  });

  test('with images.s3.publicUrl the URLs point straight at the bucket', async () => {
    await svc.close();
    svc = await startService({
      sandbox,
      config: { images: { store: 's3', s3: { ...s3Config(), publicUrl: `${endpoint}/${BUCKET}` } } },
    });
    const t = await svc.waitTask(await svc.submit('/image/imagine', { prompt: 'a lantern' }));
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.ok(t.imageUrl?.startsWith(`${endpoint}/${BUCKET}/mjb/${t.id}/`), t.imageUrl ?? '');
    const direct = await load(t.imageUrl as string);
    assert.equal(direct.status, 200);
    assert.equal(direct.headers.get('content-type'), 'image/png');
    const part = await load(t.imageUrls[2]?.url as string);
    assert.equal(part.status, 200);
  });

  test('a bucket that cannot be written is a start-up error naming images.s3', async () => {
    await assert.rejects(
      startService({
        sandbox,
        config: { images: { store: 's3', s3: { ...s3Config(), bucket: 'no-such-bucket' } } },
      }),
      (err: Error & { problems?: string[] }) => {
        assert.match(err.problems?.[0] ?? '', /^images\.s3: cannot write to bucket "no-such-bucket"/);
        return true;
      },
    );
  });
});
