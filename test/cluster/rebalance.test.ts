import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type InstanceProc,
  post,
  type RedisProc,
  type SandboxProc,
  startInstance,
  startRedis,
  startSandboxProcess,
  waitFor,
} from '../helpers/processes.ts';

const TTL = 3000;

interface TaskJson {
  id: string;
  status: string;
  failReason: string | null;
}

/**
 * Accounts move while work flows (SPEC §13): instances join a busy one, which hands accounts
 * over to even the cluster out while jobs are being taken from the line and results stored.
 * A job caught in a hand-over must neither hang nor be sent twice.
 */
describe('accounts handed over to joining instances while jobs flow', () => {
  let redis: RedisProc;
  let sandbox: SandboxProc;
  const instances: InstanceProc[] = [];
  const imagesDir = join(mkdtempSync(join(tmpdir(), 'mjb-rebalance-')), 'images');

  const config = (id: string) => ({
    accounts: sandbox.line.accounts.map((a) => ({ ...a, timeoutMinutes: 2, concurrency: 2 })),
    proxy: sandbox.line.proxy,
    store: { url: redis.url },
    images: { dir: imagesDir },
    settings: { interactionIntervalMs: 0, allowPrivateNetworks: true, maxQueue: 500 },
    cluster: { instanceId: id, leaseTtlMs: TTL },
  });

  before(async () => {
    [redis, sandbox] = await Promise.all([startRedis(), startSandboxProcess(4, 20)]);
    instances.push(await startInstance(config('r1')));
  });

  after(async () => {
    await Promise.all(instances.map((i) => i.stop('SIGKILL')));
    await sandbox?.stop();
    await redis?.stop();
  });

  test('every job submitted while two instances join ends FINISHED, each sent to Midjourney once', async () => {
    const first = instances[0] as InstanceProc;
    const ids: string[] = [];
    let submitting = true;
    const submitter = (async () => {
      for (let i = 0; submitting; i++) {
        const r = await post(`${first.url}/image/imagine`, { prompt: `a flowing river ${i}` });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        ids.push(r.body.taskId as string);
        await new Promise((res) => setTimeout(res, 150));
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    instances.push(await startInstance(config('r2')));
    await new Promise((r) => setTimeout(r, TTL));
    instances.push(await startInstance(config('r3')));
    // The accounts spread out (every instance holds at least one) while the jobs keep coming.
    await waitFor(
      'the accounts spread over the three instances',
      async () => {
        const hs = (await Promise.all(instances.map((i) => i.health()))) as unknown as {
          instance: { accounts: string[] };
        }[];
        return hs.every((h) => h.instance.accounts.length >= 1) ? true : undefined;
      },
      10 * TTL,
    );
    await new Promise((r) => setTimeout(r, TTL));
    submitting = false;
    await submitter;
    assert.ok(ids.length >= 20, `${ids.length} jobs submitted`);

    const ends = await Promise.all(
      ids.map((id) =>
        waitFor(
          `task ${id} final`,
          async () => {
            const body = (await (await fetch(`${first.url}/task/fetch?taskId=${id}`)).json()) as {
              data: TaskJson;
            };
            const t = body.data;
            return t.status === 'FINISHED' || t.status === 'FAILED' ? t : undefined;
          },
          60_000,
          200,
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${instances.map((i) => i.stderr().slice(-1500)).join('\n---\n')}`);
        }),
      ),
    );
    for (const t of ends) assert.equal(t.status, 'FINISHED', `${t.id}: ${t.failReason}`);
    const stats = await sandbox.stats();
    assert.equal(stats.duplicateNonces, 0, 'no interaction sent twice');
    assert.equal(stats.jobs, ids.length, 'one Midjourney job per task');
  });
});
