import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@redis/client';
import { parseConfig } from '../../src/config.ts';
import { Leases } from '../../src/engine/leases.ts';
import { type RedisProc, startRedis } from '../helpers/processes.ts';

describe('account leases on a real redis-server', () => {
  let redis: RedisProc;
  let client: ReturnType<typeof createClient>;
  before(async () => {
    redis = await startRedis();
    client = createClient({ url: redis.url });
    await client.connect();
  });
  after(async () => {
    await client?.quit();
    await redis?.stop();
  });

  test('one holder at a time; only the holder renews or frees it; it lapses after its TTL', async () => {
    const a = new Leases(client, 'instance-a', 400, 'test:lease:');
    const b = new Leases(client, 'instance-b', 400, 'test:lease:');
    assert.equal(await a.take('acc1'), true);
    assert.equal(await b.take('acc1'), false);
    assert.equal(await b.renew('acc1'), false, 'a non-holder cannot extend it');
    assert.equal(await b.release('acc1'), false, 'a non-holder cannot free it');
    assert.equal((await a.holder('acc1'))?.owner, 'instance-a');
    assert.equal(await a.renew('acc1'), true);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(await a.holder('acc1'), null, 'lapsed without renewal');
    assert.equal(await b.take('acc1'), true);
    assert.equal(await a.renew('acc1'), false, 'the old holder finds it gone');
    assert.equal(await a.release('acc1'), false, 'and cannot free the new holder’s lease');
    assert.equal(await b.release('acc1'), true);
    assert.equal(await a.take('acc1'), true);
  });

  test('a renewal that comes late keeps the lease while nobody took it meanwhile, and only then', async () => {
    const a = new Leases(client, 'instance-a', 300, 'test:late:');
    const b = new Leases(client, 'instance-b', 300, 'test:late:');
    assert.equal(await a.take('acc2'), true);
    await new Promise((r) => setTimeout(r, 450));
    assert.equal(await a.holder('acc2'), null, 'lapsed: a stalled past its TTL');
    assert.equal(await a.renew('acc2'), true, 'nobody took it: a keeps it');
    assert.equal((await b.holder('acc2'))?.owner, 'instance-a');
    assert.equal(await b.take('acc2'), false);
    assert.equal(a.lateRenewals, 1);

    await new Promise((r) => setTimeout(r, 450));
    // b takes it and gives it up again before a's late renewal: b may have acted on the account.
    assert.equal(await b.take('acc2'), true);
    assert.equal(await b.release('acc2'), true);
    assert.equal(await a.holder('acc2'), null);
    assert.equal(await a.renew('acc2'), false, 'someone held it meanwhile: a has lost it');
    assert.equal(await a.holder('acc2'), null, 'and it stays free for whoever takes it next');
  });
});

describe('the cluster section of the configuration', () => {
  const account = { token: 't0k3n', channel_id: '1300000000000000000' };

  test('defaults: instance id from host and pid, a 15 s lease', () => {
    const cfg = parseConfig({ accounts: [account], store: { url: 'redis://127.0.0.1:6379/0' }, cluster: {} });
    assert.equal(cfg.cluster?.leaseTtlMs, 15_000);
    assert.match(cfg.cluster?.instanceId ?? '', new RegExp(`-${process.pid}$`));
    assert.equal(parseConfig({}).cluster, null, 'off unless asked for');
  });

  test('a cluster on SQLite, or without accounts, stops the start with exit code 2 and readable lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mjb-cluster-cfg-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ cluster: { leaseTtlMs: 10 } }));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, MJB_CONFIG: file },
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cluster\.leaseTtlMs: /);
    assert.match(r.stderr, /cluster: needs store\.url redis:\/\/… \(every instance shares one Redis\)/);
    assert.match(r.stderr, /cluster: needs the accounts every instance shares/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});
