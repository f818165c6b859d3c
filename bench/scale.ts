/**
 * §11 row 5: 50 accounts × 3 slots and 5,000 jobs on the sandbox at ×100. The service runs as its
 * own process (configured as 50 live accounts whose outside URLs point at the sandbox in this
 * process), so its peak RSS is its own. Lost = not FINISHED; misrouted = a result whose job was
 * started for another prompt or another account.
 */
import { readFileSync } from 'node:fs';
import type { Task } from '../src/engine/task.ts';
import { silentLogger } from '../src/log.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import { fmt, type Row } from './lib/report.ts';
import { spawnService } from './lib/spawned-service.ts';

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

export async function scale(accounts = 50, jobs = 5000): Promise<Row[]> {
  const sandbox = await startSandbox({ speed: 100, accounts, logger: silentLogger() });
  const svc = await spawnService(sandbox, {
    prefix: 'mjb-bench-',
    config: {
      // This row is about the pool and the engine; 5,000 stored 2048² grids would be gigabytes
      // of disk (stored images have their own row, bench/images.ts).
      images: { store: 'off' },
      settings: { interactionIntervalMs: 0, maxQueue: jobs + 10 },
    },
  }).catch(async (err: unknown) => {
    await sandbox.close();
    throw err;
  });
  const { call, child } = svc;
  try {
    const idleRss = peakRss(child.pid as number);
    const t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < jobs; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, jobs - i) }, (_, k) =>
          call('/image/imagine', { prompt: `scale job ${i + k}` }),
        ),
      );
      for (const b of batch) if (b.taskId) ids.push(b.taskId);
    }
    const tasks = new Map<string, Task>();
    const deadline = Date.now() + 10 * 60_000;
    while (tasks.size < ids.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      for (let i = 0; i < ids.length; i += 100) {
        await Promise.all(
          ids.slice(i, i + 100).map(async (id) => {
            if (tasks.has(id)) return;
            const t = (await call(`/task/fetch?taskId=${id}`)).data as Task;
            if (t.status === 'FINISHED' || t.status === 'FAILED') tasks.set(id, t);
          }),
        );
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const peak = peakRss(child.pid as number);
    const userOf = new Map(sandbox.accounts.map((a) => [a.channel_id, a.user_id]));
    let lost = ids.length < jobs ? jobs - ids.length : 0;
    let misrouted = 0;
    for (const id of ids) {
      const t = tasks.get(id);
      if (t?.status !== 'FINISHED') {
        lost++;
        continue;
      }
      const job = t.messageHash ? sandbox.bot.jobByHash(t.messageHash) : undefined;
      if (!job || job.prompt !== t.prompt || job.userId !== userOf.get(t.discordId ?? '')) misrouted++;
    }
    const met = lost === 0 && misrouted === 0 && peak < 300 * 1024 * 1024;
    return [
      {
        what: `${accounts} accounts × 3 slots, ${jobs} jobs, sandbox ×100`,
        figure: `${lost} lost, ${misrouted} misrouted, peak RSS ${fmt(peak / 1048576, 0)} MB, ${fmt(jobs / seconds, 1)} jobs/s`,
        baseline: `idle service RSS ${fmt(idleRss / 1048576, 0)} MB`,
        ratio: `${fmt(peak / idleRss)}× idle RSS`,
        target: '0 lost, 0 misrouted, RSS < 300 MB',
        met,
      },
    ];
  } finally {
    await svc.close('scale');
    await sandbox.close();
  }
}
