import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@redis/client';
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

// Long enough that a busy event loop on a loaded 2-core machine does not miss its renewal (every
// third of it) and lose a lease; short enough to keep the take-overs quick.
const TTL = 3000;

interface TaskJson {
  id: string;
  status: string;
  discordId: string | null;
  progress: string | null;
  failReason: string | null;
  seed?: string | null;
  buttons: { custom_id: string; label?: string }[][];
}

interface ClusterHealth {
  status: string;
  instance: { id: string; accounts: string[] };
  cluster: { instances: number; queue: number };
  accounts: { id: string; state: string }[];
}

async function fetchTask(inst: InstanceProc, id: string): Promise<TaskJson> {
  const body = (await (await fetch(`${inst.url}/task/fetch?taskId=${id}`)).json()) as { data: TaskJson };
  return body.data;
}

const health = async (inst: InstanceProc) => (await inst.health()) as unknown as ClusterHealth;

describe('several instances on one Redis (SPEC §13), as separate processes', () => {
  let redis: RedisProc;
  let sandbox: SandboxProc;
  const instances = new Map<string, InstanceProc>();
  let hook: Server;
  let hookUrl = '';
  const imagesDir = join(mkdtempSync(join(tmpdir(), 'mjb-cluster-')), 'images');
  /** Callbacks received: task id → bodies in order. */
  const callbacks = new Map<string, string[]>();

  const config = (id: string) => ({
    // One slot per account: six jobs on four accounts leave some waiting in an instance's queue.
    accounts: sandbox.line.accounts.map((a) => ({ ...a, timeoutMinutes: 2, concurrency: 1 })),
    proxy: sandbox.line.proxy,
    store: { url: redis.url },
    // One image directory shared by every instance (SPEC §13).
    images: { dir: imagesDir },
    settings: { interactionIntervalMs: 0, allowPrivateNetworks: true, notifyUrl: hookUrl },
    cluster: { instanceId: id, leaseTtlMs: TTL },
  });

  before(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        try {
          const t = JSON.parse(body) as TaskJson;
          callbacks.set(t.id, [...(callbacks.get(t.id) ?? []), body]);
        } catch {
          // not a task: counted nowhere
        }
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    [redis, sandbox] = await Promise.all([startRedis(), startSandboxProcess(4, 15)]);
    const started = await Promise.all(['i1', 'i2', 'i3'].map((id) => startInstance(config(id))));
    for (const inst of started) instances.set(((await health(inst)) as ClusterHealth).instance.id, inst);
  });

  after(async () => {
    await Promise.all([...instances.values()].map((i) => i.stop('SIGKILL')));
    await sandbox?.stop();
    await redis?.stop();
    hook?.close();
  });

  test('the four accounts spread over the three instances, each connected by its holder alone', async () => {
    const spread = await waitFor('every account leased and ready', async () => {
      const hs = await Promise.all([...instances.values()].map(health));
      const held = hs.flatMap((h) => h.instance.accounts);
      const everyoneHolds = hs.every((h) => h.instance.accounts.length >= 1);
      const ready = hs.every((h) => h.accounts.every((a) => a.state === 'ready'));
      return held.length === 4 && new Set(held).size === 4 && everyoneHolds && ready ? hs : undefined;
    });
    for (const [name, inst] of instances) {
      const metrics = await (await fetch(`${inst.url}/metrics`)).text();
      assert.match(metrics, new RegExp(`mjb_queue_length\\{mjb_instance="${name}"\\} 0`));
    }
    for (const h of spread) {
      assert.equal(h.status, 'ok');
      assert.equal(h.cluster.instances, 3);
      assert.equal(h.accounts.length, 4);
    }
  });

  test('jobs round-robin; the holder of a running job is SIGKILLed; survivors take over within one TTL and finish everything once', async () => {
    const all = [...instances.values()];
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await post(`${all[i % 3]?.url}/image/imagine`, { prompt: `harbour at night ${i}` });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      ids.push(res.body.taskId as string);
    }
    // A job running on an account whose holder we then kill.
    const holders = new Map<string, string>();
    for (const [name, inst] of instances)
      for (const a of (await health(inst)).instance.accounts) holders.set(a, name);
    const victimTask = await waitFor('a job RUNNING', async () => {
      for (const id of ids) {
        const t = await fetchTask(all[0] as InstanceProc, id);
        if (t.status === 'RUNNING' && t.discordId) return t;
      }
      return undefined;
    });
    const victimName = holders.get(victimTask.discordId as string) as string;
    const victim = instances.get(victimName) as InstanceProc;
    const orphaned = [...holders].filter(([, n]) => n === victimName).map(([a]) => a);
    const watcher = createClient({ url: redis.url });
    await watcher.connect();
    try {
      await victim.stop('SIGKILL');
      const killedAt = Date.now();
      instances.delete(victimName);
      const takenAt = await waitFor(
        'the orphaned leases taken by a survivor',
        async () => {
          for (const a of orphaned) {
            const owner = await watcher.get(`mjb:cluster:lease:${a}`);
            if (!owner || owner === victimName) return undefined;
          }
          return Date.now();
        },
        4 * TTL,
      );
      // The lease lapses at most one TTL after the kill and is taken at that moment; the margin
      // is for timers (and this test's own polling) firing late on a machine running the whole
      // suite on two cores.
      assert.ok(takenAt - killedAt <= 1.5 * TTL, `taken over after ${takenAt - killedAt} ms (TTL ${TTL})`);
    } finally {
      await watcher.quit();
    }

    const survivors = [...instances.values()];
    for (const id of ids) {
      const t = await waitFor(
        `task ${id} final`,
        async () => {
          const t = await fetchTask(survivors[0] as InstanceProc, id);
          return t.status === 'FINISHED' || t.status === 'FAILED' ? t : undefined;
        },
        60_000,
      );
      assert.equal(t.status, 'FINISHED', `${id}: ${t.failReason}`);
      const everywhere = await Promise.all(survivors.map((s) => fetchTask(s, id)));
      for (const other of everywhere) assert.deepEqual(other, t);
    }
    // The killed instance's running job was adopted by the new holder of its account.
    assert.equal(
      (await fetchTask(survivors[0] as InstanceProc, victimTask.id)).discordId,
      victimTask.discordId,
    );
    const stats = await sandbox.stats();
    assert.equal(stats.duplicateNonces, 0);
    assert.equal(stats.jobs, ids.length, 'each job started once in Midjourney');
    // Each callback once: no status (with its progress) reported twice for a task.
    await new Promise((r) => setTimeout(r, 300));
    for (const id of ids) {
      const seen = callbacks.get(id) ?? [];
      const statuses = seen.map((s) => (JSON.parse(s) as TaskJson).status);
      assert.equal(statuses.filter((s) => s === 'FINISHED').length, 1, `${id}: ${statuses.join(', ')}`);
      assert.equal(new Set(seen).size, seen.length, `${id}: a callback was sent twice`);
    }
    const hs = await Promise.all(survivors.map(health));
    for (const h of hs) assert.equal(h.cluster.instances, 2);
    assert.equal(new Set(hs.flatMap((h) => h.instance.accounts)).size, 4);
  });

  test('a follow-up posted to an instance that does not hold the parent’s account runs on that account', async () => {
    const survivors = [...instances.values()];
    const [first, second] = survivors as [InstanceProc, InstanceProc];
    const parentId = (await post(`${first.url}/image/imagine`, { prompt: 'a parent grid' })).body
      .taskId as string;
    const parent = await waitFor(
      'the parent finished',
      async () => {
        const t = await fetchTask(first, parentId);
        return t.status === 'FINISHED' ? t : undefined;
      },
      30_000,
    );
    const holderOf = async (inst: InstanceProc) => (await health(inst)).instance.accounts;
    const elsewhere = (await holderOf(first)).includes(parent.discordId as string) ? second : first;
    assert.ok(!(await holderOf(elsewhere)).includes(parent.discordId as string));
    const u1 = parent.buttons.flat().find((b) => b.label === 'U1');
    assert.ok(u1, 'the grid has U1');
    const res = await post(`${elsewhere.url}/image/action`, { taskId: parentId, customId: u1.custom_id });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const childId = res.body.taskId as string;
    const child = await waitFor(
      'the upscale finished',
      async () => {
        const t = await fetchTask(elsewhere, childId);
        return t.status === 'FINISHED' || t.status === 'FAILED' ? t : undefined;
      },
      30_000,
    );
    assert.equal(child.status, 'FINISHED', child.failReason ?? '');
    assert.equal(child.discordId, parent.discordId);
    assert.deepEqual(await fetchTask(first, childId), await fetchTask(second, childId));
  });

  test('the seed of a task asked on an instance that does not hold its account comes from the holder', async () => {
    const [first, second] = [...instances.values()] as [InstanceProc, InstanceProc];
    const id = (await post(`${first.url}/image/imagine`, { prompt: 'a seed from elsewhere' })).body
      .taskId as string;
    const done = await waitFor(
      'the job finished',
      async () => {
        const t = await fetchTask(first, id);
        return t.status === 'FINISHED' ? t : undefined;
      },
      30_000,
    );
    // Read on both first (a cached copy without the seed), then the seed asked where the account is not.
    assert.deepEqual(await fetchTask(first, id), await fetchTask(second, id));
    const holds = (await health(first)).instance.accounts.includes(done.discordId as string);
    const elsewhere = holds ? second : first;
    const res = await fetch(`${elsewhere.url}/task/seed?taskId=${id}`);
    const body = (await res.json()) as { code: number; data: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.match(body.data, /^\d+$/);
    const mj = (await (await fetch(`${elsewhere.url}/mj/task/${id}/image-seed`)).json()) as {
      result: string;
    };
    assert.equal(mj.result, body.data);
    for (const inst of [first, second]) assert.equal((await fetchTask(inst, id)).seed, body.data);
    assert.equal((await sandbox.stats()).duplicateNonces, 0);
  });

  test('a cancel posted to an instance that does not run the task is done by the one that does', async () => {
    const [first, second] = [...instances.values()] as [InstanceProc, InstanceProc];
    const id = (await post(`${first.url}/image/imagine`, { prompt: 'cancel me elsewhere' })).body
      .taskId as string;
    const running = await waitFor('the job RUNNING', async () => {
      const t = await fetchTask(first, id);
      return t.status === 'RUNNING' && t.progress !== null ? t : undefined;
    });
    const holds = (await health(first)).instance.accounts.includes(running.discordId as string);
    const elsewhere = holds ? second : first;
    const res = await post(`${elsewhere.url}/task/cancel`, { taskId: id });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const data = res.body.data as TaskJson;
    assert.equal(data.status, 'FAILED');
    assert.equal(data.failReason, 'cancelled');
    assert.deepEqual(await fetchTask(first, id), await fetchTask(second, id));
  });

  test('SIGTERM hands the leases over at once; a job running there still finishes', async () => {
    const [leaving, staying] = [...instances.entries()] as [[string, InstanceProc], [string, InstanceProc]];
    const mine = (await health(leaving[1])).instance.accounts;
    assert.ok(mine.length >= 1);
    // Start jobs until one runs on the leaving instance's account.
    let running: TaskJson | undefined;
    for (let i = 0; i < 6 && !running; i++) {
      const id = (await post(`${leaving[1].url}/image/imagine`, { prompt: `hand over ${i}` })).body
        .taskId as string;
      const t = await waitFor('RUNNING or done', async () => {
        const t = await fetchTask(leaving[1], id);
        return t.status === 'RUNNING' || t.status === 'FINISHED' ? t : undefined;
      });
      if (t.status === 'RUNNING' && mine.includes(t.discordId as string)) running = t;
    }
    assert.ok(running, 'a job ran on the leaving instance');
    assert.equal(await leaving[1].stop('SIGTERM'), 0);
    instances.delete(leaving[0]);
    // Released, not left to lapse: right after the exit no lease still names the leaver.
    const watcher = createClient({ url: redis.url });
    await watcher.connect();
    try {
      for (const a of mine) assert.notEqual(await watcher.get(`mjb:cluster:lease:${a}`), leaving[0]);
    } finally {
      await watcher.quit();
    }
    await waitFor(
      'the staying instance holds every account',
      async () => ((await health(staying[1])).instance.accounts.length === 4 ? true : undefined),
      4 * TTL,
    );
    const done = await waitFor(
      'the handed-over job finished',
      async () => {
        const t = await fetchTask(staying[1], running.id);
        return t.status === 'FINISHED' || t.status === 'FAILED' ? t : undefined;
      },
      30_000,
    );
    assert.equal(done.status, 'FINISHED', done.failReason ?? '');
    assert.equal(done.discordId, running.discordId);
    const stats = await sandbox.stats();
    assert.equal(stats.duplicateNonces, 0);
  });
  test('an instance that joins later is handed accounts; work it takes before that runs elsewhere', async () => {
    const late = await startInstance(config('i4'));
    instances.set('i4', late);
    const id = (await post(`${late.url}/image/imagine`, { prompt: 'posted to the newcomer' })).body
      .taskId as string;
    const t = await waitFor(
      'the newcomer’s first job final',
      async () => {
        const t = await fetchTask(late, id);
        return t.status === 'FINISHED' || t.status === 'FAILED' ? t : undefined;
      },
      30_000,
    );
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    const spread = await waitFor(
      'the accounts spread over both instances',
      async () => {
        const hs = await Promise.all([...instances.values()].map(health));
        return hs.every((h) => h.instance.accounts.length === 2) ? hs : undefined;
      },
      10 * TTL,
    );
    assert.equal(new Set(spread.flatMap((h) => h.instance.accounts)).size, 4);
    assert.equal((await sandbox.stats()).duplicateNonces, 0);
  });

  test('an instance whose images.dir is not the one the others share refuses to start', async () => {
    const elsewhere = join(mkdtempSync(join(tmpdir(), 'mjb-cluster-other-')), 'images');
    await assert.rejects(startInstance({ ...config('i5'), images: { dir: elsewhere } }), (err: Error) => {
      assert.match(err.message, /exited with 2/);
      assert.match(err.message, /images\.dir .* is not the directory the other instances of the cluster use/);
      return true;
    });
  });
});
