/**
 * §11 rows 2 and 3: engine overhead (request in → interaction accepted) and result detection
 * (final message on the gateway → task FINISHED and its callback handed over), each against a
 * baseline measured in the same run on the same simulated Discord.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';
import { GatewayClient } from '../src/discord/gateway.ts';
import { RestClient } from '../src/discord/rest.ts';
import { nonce } from '../src/discord/snowflake.ts';
import type { Task } from '../src/engine/task.ts';
import { silentLogger } from '../src/log.ts';
import { DEFAULT_COMMANDS, imaginePayload } from '../src/midjourney/index.ts';
import { startSandboxProcess } from '../test/helpers/sandbox-process-client.ts';
import { fmt, percentile, type Row } from './lib/report.ts';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across this machine's processes. */
const now = () => performance.timeOrigin + performance.now();

export async function engineLatency(jobs = 200): Promise<Row[]> {
  // The simulated Discord runs in a process of its own: its image rendering and garbage are not
  // the engine's pauses. It reports when each interaction reached it.
  const sandbox = await startSandboxProcess(2000);
  const account = sandbox.accounts[0];
  if (!account) throw new Error('no sandbox account');
  const dir = mkdtempSync(join(tmpdir(), 'mjb-latency-'));
  const config = parseConfig({
    listen: 'http://127.0.0.1:0',
    accounts: [{ token: account.token, channel_id: account.channel_id, guild_id: account.guild_id }],
    proxy: sandbox.proxy,
    store: { url: `sqlite://${join(dir, 'tasks.sqlite')}` },
    // Stored results off: keeping the image (§6.7) has its own row; this one times the engine.
    images: { store: 'off' },
    settings: { interactionIntervalMs: 0 },
    logLevel: 'silent',
  });
  const app = await startApp(config, {
    logger: silentLogger(),
    engine: { backoff: { minMs: 20, maxMs: 100 } },
  });
  for (const deadline = Date.now() + 10_000; app.engine.health().status !== 'ok' && Date.now() < deadline; )
    await new Promise((r) => setTimeout(r, 10));
  // A second session of the same user sees the same dispatches: the floor for result detection.
  const watcher = new GatewayClient({
    token: account.token,
    url: sandbox.proxy.gateway,
    userAgent: 'bench',
    logger: silentLogger(),
  });
  const seenAt = new Map<string, number>();
  watcher.on('dispatch', (e) => {
    if (e.t !== 'MESSAGE_CREATE') return;
    const m = e.d as { components?: unknown[]; attachments?: { filename: string }[]; content?: string };
    const file = m.attachments?.[0]?.filename ?? '';
    const hash = /([0-9a-f-]{36})\.png$/.exec(file)?.[1];
    if (hash) seenAt.set(hash, now());
  });
  watcher.connect();
  await new Promise<void>((r) => watcher.once('ready', () => r()));
  const startedAt: { nonce: string; at: number }[] = [];
  const detect: number[] = [];
  const finishedAt = new Map<string, { at: number; hash: string }>();
  const waiting = new Map<string, () => void>();
  app.engine.on('task', (t: Task) => {
    if (t.status === 'FINISHED' && t.messageHash) finishedAt.set(t.id, { at: now(), hash: t.messageHash });
    if (t.status === 'FINISHED' || t.status === 'FAILED') waiting.get(t.id)?.();
  });
  // Baseline for the overhead: the same interaction posted straight to the fake Discord, one
  // after each job, so both meet the same moments of a shared machine.
  const rest = new RestClient({
    baseUrl: sandbox.proxy.server,
    token: account.token,
    userAgent: 'bench',
    logger: silentLogger(),
  });
  const raw: number[] = [];
  const postRaw = async (i: number) => {
    const t0 = performance.now();
    await rest.request('POST', '/interactions', {
      json: imaginePayload(
        {
          guildId: account.guild_id,
          channelId: account.channel_id,
          sessionId: watcher.sessionId ?? '',
          nonce: nonce(),
        },
        DEFAULT_COMMANDS.imagine,
        `raw ${i} --fail Invalid parameter`,
      ),
    });
    raw.push(performance.now() - t0);
  };
  // Warm-up, both paths, not measured: the first jobs time the JIT and start-up's garbage.
  const warmup = Math.min(30, Math.ceil(jobs / 5));
  for (let i = 0; i < warmup; i++) {
    await postRaw(-1 - i);
    const task = await app.engine.imagine({ prompt: `warm-up ${i}` });
    await new Promise<void>((r) => waiting.set(task.id, r));
  }
  raw.length = 0;
  finishedAt.clear();
  for (let i = 0; i < jobs; i++) {
    await postRaw(i);
    const t0 = now();
    const task = await app.engine.imagine({ prompt: `latency ${i}` });
    await new Promise<void>((r) => waiting.set(task.id, r));
    const rec = await app.store.get(task.id);
    if (rec?.meta.nonce) startedAt.push({ nonce: rec.meta.nonce, at: t0 });
    const fin = finishedAt.get(task.id);
    // The engine may finish before the bare session has read the same message from its socket:
    // that job counts too (a negative figure), or the row would keep only the slow ones.
    let floor = fin ? seenAt.get(fin.hash) : undefined;
    for (let w = 0; fin && floor === undefined && w < 200; w++) {
      await new Promise((r) => setTimeout(r, 5));
      floor = seenAt.get(fin.hash);
    }
    if (fin && floor !== undefined) detect.push(fin.at - floor);
  }
  // Each process's clock is its start's wall time plus its monotonic clock: a wall-clock step
  // between the two starts (NTP) would show as latency. The sandbox's clock is read against ours
  // (the midpoint of the fastest of a few round trips) and its arrival times moved onto ours.
  let offset = 0;
  let bestTrip = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 20; i++) {
    const sent = now();
    const theirs = await sandbox.ask<number>('clock');
    const back = now();
    if (back - sent < bestTrip) {
      bestTrip = back - sent;
      offset = theirs - (sent + back) / 2;
    }
  }
  const arrivals = Object.fromEntries(
    Object.entries(await sandbox.arrivals()).map(([k, at]) => [k, at - offset]),
  );
  const submitted = startedAt
    .map((s) => (arrivals[s.nonce] === undefined ? undefined : (arrivals[s.nonce] as number) - s.at))
    .filter((v): v is number => v !== undefined);
  await watcher.close();
  await app.close();
  await sandbox.close();
  const overhead99 = percentile(submitted, 99) - percentile(raw, 99);
  return [
    {
      what: `engine overhead: imagine() → interaction at Discord (${jobs} jobs after ${warmup} warm-up jobs)`,
      figure: `p50 ${fmt(percentile(submitted, 50))} ms, p99 ${fmt(percentile(submitted, 99))} ms`,
      baseline: `raw POST /interactions p50 ${fmt(percentile(raw, 50))} ms, p99 ${fmt(percentile(raw, 99))} ms`,
      ratio: `${overhead99 >= 0 ? '+' : ''}${fmt(overhead99)} ms at p99`,
      target: 'overhead p99 < 5 ms',
      met: overhead99 < 5,
    },
    {
      what: `result detection: final message seen by a bare session → task FINISHED (${detect.length} jobs; below 0: FINISHED first)`,
      figure: `p50 ${fmt(percentile(detect, 50))} ms, p99 ${fmt(percentile(detect, 99))} ms after the bare session`,
      baseline: 'bare gateway session of the same user (0 ms by definition)',
      ratio: `+${fmt(percentile(detect, 99))} ms at p99`,
      target: 'p99 < 5 ms',
      met: percentile(detect, 99) < 5,
    },
  ];
}
