/**
 * §11 "slot use": 10 accounts × 3 slots, 300 jobs, Midjourney taking 2 s per job. The ideal is
 * every slot busy all the time: 30 slots / 2 s = 15 jobs/s. The service runs as its own process
 * (10 live accounts whose outside URLs point at the sandbox in this process), with stored results
 * on as by default. A slot is free once Midjourney's final arrives; the task is FINISHED once its
 * result is stored. The row's figure is the slots' use while jobs were waiting; the whole batch's
 * rates (the slots' and the FINISHED one) are printed beside it.
 */
import { silentLogger } from '../src/log.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import { fmt, type Row } from './lib/report.ts';
import { spawnService } from './lib/spawned-service.ts';

/** A sandbox job lasts (800 ms + 8 steps × 5 s) / speed: 2 s at this speed. */
const JOB_MS = 2000;
const SPEED = 40_800 / JOB_MS;

export async function slotUse(accounts = 10, jobs = 300): Promise<Row[]> {
  const sandbox = await startSandbox({ speed: SPEED, accounts, logger: silentLogger() });
  // When each interaction reached Midjourney, to measure how long its jobs really took.
  const arrived = new Map<string, number>();
  sandbox.discord.onInteraction((ix) => arrived.set(ix.id, Date.now()));
  const svc = await spawnService(sandbox, {
    prefix: 'mjb-slots-',
    config: {
      // Stored results on, as a user runs it (§6.7): every grid is downloaded, split and stored.
      images: {},
      // 0: the default 1 s between one account's interactions would cap it below 1.5 jobs/s.
      settings: { interactionIntervalMs: 0, maxQueue: jobs + 10 },
    },
  }).catch(async (err: unknown) => {
    await sandbox.close();
    throw err;
  });
  const call = svc.call;
  try {
    const t0 = performance.now();
    const t0Wall = Date.now();
    const answers = await Promise.all(
      Array.from({ length: jobs }, (_, i) => call('/image/imagine', { prompt: `slot job ${i}` })),
    );
    const ids = answers.map((a) => a.taskId ?? '');
    if (ids.some((id) => !id)) throw new Error('a submission was refused');
    // Slots done: nothing waits and no slot is taken; polled every 20 ms (late by at most that).
    // A slot is given back when Midjourney's final arrives, while the result may still be stored.
    let slotsDone = t0;
    const deadline = Date.now() + 5 * 60_000;
    while (Date.now() < deadline) {
      const h = await call('/health');
      if (h.queue === 0 && (h.accounts ?? []).every((a) => a.running === 0)) {
        slotsDone = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    // Done: every task final (FINISHED once its result is stored). Only the tasks not final yet
    // are asked, every 50 ms.
    const final = new Map<string, { status: string; messageHash: string | null }>();
    let last = slotsDone;
    while (final.size < ids.length && Date.now() < deadline) {
      const open = ids.filter((id) => !final.has(id));
      await Promise.all(
        open.map(async (id) => {
          const t = (await call(`/task/fetch?taskId=${id}`)).data as
            | { status: string; messageHash: string | null }
            | undefined;
          if (t && (t.status === 'FINISHED' || t.status === 'FAILED')) final.set(id, t);
        }),
      );
      last = performance.now();
      if (final.size < ids.length) await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (last - t0) / 1000;
    const hashes = [...final.values()].filter((t) => t.status === 'FINISHED').map((t) => t.messageHash ?? '');
    const finishedCount = hashes.length;
    const failed = jobs - finishedCount;
    // Slot use: jobs per second of Midjourney's slots (each slot is free once its final arrives).
    const rate = finishedCount / ((slotsDone - t0) / 1000);
    // What a caller sees: jobs FINISHED (result stored, §6.7) per second.
    const storedRate = finishedCount / seconds;
    // Under load the simulated Midjourney's timers slip: the ideal is taken from the job time it
    // really took (interaction in → result posted), measured here, not from the nominal 2 s.
    const spans: { start: number; end: number }[] = [];
    for (const hash of hashes) {
      const job = sandbox.bot.jobByHash(hash);
      const start = job ? arrived.get(job.interactionId) : undefined;
      const result = job?.resultMessageId
        ? sandbox.discord.getMessage(job.channelId, job.resultMessageId)
        : undefined;
      if (start !== undefined && result?.timestamp) spans.push({ start, end: Date.parse(result.timestamp) });
    }
    const took = spans.map((j) => j.end - j.start);
    const jobMs = took.length > 0 ? took.reduce((a, b) => a + b, 0) / took.length : JOB_MS;
    const ideal = (accounts * 3) / (jobMs / 1000);
    // While jobs were waiting (from the submissions until the last one reached Midjourney) every
    // slot could have been busy: the share of that slot time Midjourney spent on a job. After it,
    // slots fall idle one by one as the batch runs out, whatever the service does (300 jobs on 30
    // slots leave a tail of up to one job time), which the whole-batch rate counts against it.
    const lastStart = Math.max(...spans.map((j) => j.start));
    const busy = spans.reduce(
      (sum, j) => sum + Math.max(0, Math.min(j.end, lastStart) - Math.max(j.start, t0Wall)),
      0,
    );
    const use = busy / (accounts * 3 * (lastStart - t0Wall));
    return [
      {
        what: `slot use: ${accounts} accounts × 3 slots, ${jobs} jobs, Midjourney taking ${JOB_MS / 1000} s per job, stored results on`,
        figure: `${fmt(use * ideal)} jobs/s while jobs waited (slots busy ${fmt(100 * use, 1)} % of ${fmt((lastStart - t0Wall) / 1000, 1)} s); whole batch: ${fmt(rate)} jobs/s through the slots (all free after ${fmt((slotsDone - t0) / 1000, 1)} s), ${fmt(storedRate)} jobs/s FINISHED with results stored (${finishedCount}/${jobs} in ${fmt(seconds, 1)} s)`,
        baseline: `ideal ${fmt(ideal)} jobs/s (${accounts * 3} slots / ${fmt(jobMs / 1000)} s, the measured job time; nominal ${JOB_MS / 1000} s)`,
        ratio: `${fmt(100 * use, 1)} % while jobs waited; whole batch: slots ${fmt((100 * rate) / ideal, 1)} %, stored ${fmt((100 * storedRate) / ideal, 1)} %`,
        target: '≥ 95 % of the ideal jobs/s',
        met: failed === 0 && use >= 0.95,
      },
    ];
  } finally {
    await svc.close('slot use');
    await sandbox.close();
  }
}
