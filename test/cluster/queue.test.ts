import assert from 'node:assert/strict';
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

// Long enough that a busy event loop on a loaded 2-core machine does not miss its renewal (every
// third of it) and lose a lease; short enough to keep the take-overs quick.
const TTL = 3000;
const MAX_QUEUE = 3;

interface TaskJson {
  id: string;
  status: string;
  queuePosition: number | null;
  discordId: string | null;
  failReason: string | null;
}

interface ClusterHealth {
  instance: { id: string; accounts: string[] };
  cluster: { instances: number; queue: number };
  queue: number;
  accounts: { id: string; state: string }[];
}

async function health(inst: InstanceProc): Promise<ClusterHealth> {
  try {
    return (await inst.health()) as unknown as ClusterHealth;
  } catch (err) {
    throw new Error(
      `no /health (${(err as Error).message}); the instance said: ${inst.stderr().slice(-2000)}`,
    );
  }
}

async function fetchTask(inst: InstanceProc, id: string): Promise<TaskJson> {
  const body = (await (await fetch(`${inst.url}/task/fetch?taskId=${id}`)).json()) as { data: TaskJson };
  return body.data;
}

/**
 * The cluster's one waiting line (SPEC §13 on §6.2): BullMQ on the shared Redis. Slow jobs (the
 * sandbox at ×2) keep every account busy while the line is filled, so what waits is known.
 */
describe('one waiting line for three instances (BullMQ on the shared Redis)', () => {
  let redis: RedisProc;
  let sandbox: SandboxProc;
  const instances = new Map<string, InstanceProc>();
  /** Which instance accepted each task. */
  const acceptedBy = new Map<string, string>();

  const config = (id: string) => ({
    accounts: sandbox.line.accounts.map((a) => ({ ...a, timeoutMinutes: 5, concurrency: 1 })),
    proxy: sandbox.line.proxy,
    store: { url: redis.url },
    images: { store: 'off' },
    settings: { interactionIntervalMs: 0, allowPrivateNetworks: true, maxQueue: MAX_QUEUE },
    cluster: { instanceId: id, leaseTtlMs: TTL },
  });

  before(async () => {
    [redis, sandbox] = await Promise.all([startRedis(), startSandboxProcess(4, 2)]);
    const started = await Promise.all(['q1', 'q2', 'q3'].map((id) => startInstance(config(id))));
    for (const inst of started) instances.set((await health(inst)).instance.id, inst);
    await waitFor(
      'every account leased and ready',
      async () => {
        const hs = await Promise.all([...instances.values()].map(health));
        const held = new Set(hs.flatMap((h) => h.instance.accounts));
        const ready = hs.every((h) => h.accounts.every((a) => a.state === 'ready'));
        return held.size === 4 && ready && hs.every((h) => h.instance.accounts.length >= 1)
          ? true
          : undefined;
      },
      60_000,
    );
  });

  after(async () => {
    await Promise.all([...instances.values()].map((i) => i.stop('SIGKILL')));
    await sandbox?.stop();
    await redis?.stop();
  });

  test('no instance warns at start (one BullMQ queue and worker per account do not overload a connection)', () => {
    for (const inst of instances.values()) assert.doesNotMatch(inst.stderr(), /MaxListenersExceededWarning/);
  });

  test('settings.maxQueue counts the whole cluster: submissions to any instance beyond it are refused', async () => {
    const all = [...instances.entries()];
    // One job per account, running (slowly): whatever comes next waits.
    const running: string[] = [];
    for (let i = 0; i < 4; i++) {
      const [name, inst] = all[i % 3] as [string, InstanceProc];
      const res = await post(`${inst.url}/image/imagine`, { prompt: `slow harbour ${i}` });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      running.push(res.body.taskId as string);
      acceptedBy.set(res.body.taskId as string, name);
    }
    await waitFor('every account running one job', async () => {
      const ts = await Promise.all(running.map((id) => fetchTask(all[0]?.[1] as InstanceProc, id)));
      return ts.every((t) => t.status === 'RUNNING') && new Set(ts.map((t) => t.discordId)).size === 4
        ? true
        : undefined;
    });
    // Nine at once, three through each instance: the line takes exactly MAX_QUEUE.
    const burst = await Promise.all(
      Array.from({ length: 9 }, (_, i) => {
        const [name, inst] = all[i % 3] as [string, InstanceProc];
        return post(`${inst.url}/image/imagine`, { prompt: `waiting ${i}` }).then((r) => ({ name, r }));
      }),
    );
    const accepted = burst.filter((b) => b.r.status === 200);
    const refused = burst.filter((b) => b.r.status !== 200);
    assert.equal(accepted.length, MAX_QUEUE, JSON.stringify(burst.map((b) => b.r.status)));
    for (const b of refused) {
      assert.equal(b.r.status, 429, JSON.stringify(b.r.body));
      assert.match(JSON.stringify(b.r.body), /queue is full/);
    }
    for (const b of accepted) acceptedBy.set(b.r.body.taskId as string, b.name);
    // And one more on every front: each says the queue is full.
    for (const [, inst] of all) {
      const res = await post(`${inst.url}/image/imagine`, { prompt: 'one too many' });
      assert.equal(res.status, 429, JSON.stringify(res.body));
    }
    // Every instance shows the cluster's line (counted at its next beat).
    await waitFor('every /health showing the cluster queue', async () => {
      const hs = await Promise.all(all.map(([, inst]) => health(inst)));
      return hs.every((h) => h.cluster.queue === MAX_QUEUE && h.queue === MAX_QUEUE) ? true : undefined;
    });
    // Each waiting task's place in the one line, the same on every instance whichever took it,
    // on the seed API and on /mj (single and bulk).
    const waitingIds = accepted.map((b) => b.r.body.taskId as string);
    const places = new Map<string, number | null>();
    for (const id of waitingIds) {
      const seen = await Promise.all(all.map(([, inst]) => fetchTask(inst, id)));
      for (const t of seen) assert.equal(t.status, 'PENDING');
      assert.deepEqual(new Set(seen.map((t) => t.queuePosition)).size, 1, JSON.stringify(seen));
      places.set(id, seen[0]?.queuePosition ?? null);
    }
    assert.deepEqual([...places.values()].sort(), [1, 2, 3], JSON.stringify([...places]));
    for (const [, inst] of all) {
      for (const id of waitingIds) {
        const mj = (await (await fetch(`${inst.url}/mj/task/${id}/fetch`)).json()) as { description: string };
        assert.equal(mj.description, `In queue, position ${places.get(id)}`);
      }
      const res = await fetch(`${inst.url}/mj/task/list-by-condition`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ids: waitingIds }),
      });
      const many = (await res.json()) as { id: string; description: string }[];
      assert.equal(many.length, waitingIds.length);
      for (const t of many) assert.equal(t.description, `In queue, position ${places.get(t.id)}`);
    }
  });

  test('work queued through an instance that is SIGKILLed runs on the survivors, each job once, one at a time per account', async () => {
    // The instance that accepted the most waiting work (and holds accounts with running jobs) dies.
    const waiting = [...acceptedBy.keys()].slice(4);
    const counts = new Map<string, number>();
    for (const id of waiting)
      counts.set(acceptedBy.get(id) as string, (counts.get(acceptedBy.get(id) as string) ?? 0) + 1);
    const victimName = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] as string;
    await instances.get(victimName)?.stop('SIGKILL');
    instances.delete(victimName);
    const survivors = [...instances.values()];
    const ids = [...acceptedBy.keys()];
    for (const id of ids) {
      const t = await waitFor(
        `task ${id} final`,
        async () => {
          const t = await fetchTask(survivors[0] as InstanceProc, id);
          return t.status === 'FINISHED' || t.status === 'FAILED' ? t : undefined;
        },
        120_000,
        200,
      );
      assert.equal(t.status, 'FINISHED', `${id}: ${t.failReason}`);
    }
    const stats = await sandbox.stats();
    assert.equal(stats.jobs, ids.length, 'each job started once in Midjourney');
    assert.equal(stats.duplicateNonces, 0);
    // concurrency 1 on every account, whichever instance held it, before and after the kill.
    assert.equal(Object.keys(stats.peakRunning).length, 4, 'every account ran jobs');
    for (const [account, peak] of Object.entries(stats.peakRunning)) {
      assert.ok(peak <= 1, `account ${account} ran ${peak} jobs at once`);
    }
    await waitFor('the line empty on every /health', async () => {
      const hs = await Promise.all(survivors.map(health));
      return hs.every((h) => h.cluster.queue === 0) ? true : undefined;
    });
  });
});
