/**
 * Issue 12's bench row: jobs/s of one instance with 3 accounts against three instances with 3
 * accounts each (9), all on one Redis (waiting work in its BullMQ line) and one standalone
 * sandbox, every instance its own process. The baseline is the single instance of the same run;
 * three instances should come close to 3×. The sandbox runs at ×10 by default, so the simulated
 * job time bounds jobs/s and the row shows what the cluster itself costs; at ×100 (`--speed 100`)
 * the three processes on one 2-core machine run out of CPU first.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type InstanceProc,
  post,
  type RedisProc,
  type SandboxLine,
  startInstance,
  startRedis,
  startSandboxProcess,
} from '../test/helpers/processes.ts';
import { fmt, type Row } from './lib/report.ts';

async function waitReady(instances: InstanceProc[], accounts: number): Promise<void> {
  const by = Date.now() + 60_000;
  while (Date.now() < by) {
    const hs = (await Promise.all(instances.map((i) => i.health()))) as unknown as {
      accounts: { state: string }[];
      instance: { accounts: string[] };
    }[];
    const held = hs.reduce((n, h) => n + h.instance.accounts.length, 0);
    const spread = hs.every((h) => h.instance.accounts.length > 0);
    if (held === accounts && spread && hs.every((h) => h.accounts.every((a) => a.state === 'ready'))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the cluster did not get ready');
}

async function run(
  redis: RedisProc,
  db: number,
  line: SandboxLine,
  instances: number,
  accounts: number,
  jobs: number,
): Promise<{ jobsPerSec: number; finished: number }> {
  const base = {
    accounts: line.accounts.slice(0, accounts).map((a) => ({ ...a, concurrency: 3 })),
    proxy: line.proxy,
    store: { url: redis.url.replace(/\/0$/, `/${db}`) },
    images: { dir: join(mkdtempSync(join(tmpdir(), 'mjb-bench-cluster-')), 'images') },
    settings: { interactionIntervalMs: 0, maxQueue: jobs + 10 },
    logLevel: 'warn',
  };
  const procs = await Promise.all(
    Array.from({ length: instances }, (_, i) =>
      startInstance({ ...base, cluster: { instanceId: `bench-${db}-${i}`, leaseTtlMs: 3000 } }),
    ),
  );
  try {
    await waitReady(procs, accounts);
    const started = Date.now();
    const ids: { id: string; at: InstanceProc }[] = [];
    // Eight submitters, like a few busy clients (a burst of hundreds of sockets is not the point).
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < jobs; i = next++) {
          const at = procs[i % procs.length] as InstanceProc;
          const res = await post(`${at.url}/image/imagine`, { prompt: `bench job ${i}` });
          if (res.status === 200) ids.push({ id: res.body.taskId as string, at });
        }
      }),
    );
    const open = new Set(ids.map((x) => x.id));
    let finished = 0;
    const by = Date.now() + 5 * 60_000;
    while (open.size > 0 && Date.now() < by) {
      for (const { id, at } of ids) {
        if (!open.has(id)) continue;
        const t = (await (await fetch(`${at.url}/task/fetch?taskId=${id}`)).json()) as {
          data: { status: string };
        };
        if (t.data.status === 'FINISHED' || t.data.status === 'FAILED') {
          open.delete(id);
          if (t.data.status === 'FINISHED') finished++;
        }
      }
      if (open.size > 0) await new Promise((r) => setTimeout(r, 100));
    }
    return { jobsPerSec: finished / ((Date.now() - started) / 1000), finished };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

export async function clusterThroughput(jobsPerAccount = 20, speed = 10): Promise<Row[]> {
  const [redis, sandbox] = await Promise.all([startRedis(), startSandboxProcess(9, speed)]);
  try {
    const one = await run(redis, 1, sandbox.line, 1, 3, 3 * jobsPerAccount);
    const three = await run(redis, 2, sandbox.line, 3, 9, 9 * jobsPerAccount);
    const stats = await sandbox.stats();
    const ratio = three.jobsPerSec / one.jobsPerSec;
    return [
      {
        what: `cluster: 3 instances × 3 accounts vs 1 × 3, one Redis, sandbox ×${speed} (${jobsPerAccount} jobs per account)`,
        figure: `${fmt(three.jobsPerSec, 1)} jobs/s (${three.finished}/${9 * jobsPerAccount} finished, ${stats.duplicateNonces} duplicate nonces)`,
        baseline: `1 instance: ${fmt(one.jobsPerSec, 1)} jobs/s (${one.finished}/${3 * jobsPerAccount})`,
        ratio: `${fmt(ratio, 2)}×`,
        target: '≈ 3× (3× the accounts)',
        met: ratio >= 2.5,
      },
    ];
  } finally {
    await sandbox.stop();
    await redis.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./lib/report.ts');
  const at = process.argv.indexOf('--speed');
  const speed = at > 0 ? Number(process.argv[at + 1]) : 10;
  const rows = await clusterThroughput(process.argv.includes('--quick') ? 5 : 20, speed);
  process.stdout.write(`${table(rows)}\n`);
  process.exit(0);
}
