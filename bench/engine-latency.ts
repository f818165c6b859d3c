/**
 * §11 rows 2 and 3: engine overhead (request in → interaction accepted) and result detection
 * (final message on the gateway → task FINISHED and its callback handed over), each against a
 * baseline measured in the same run on the same simulated Discord.
 */
import { GatewayClient } from '../src/discord/gateway.ts';
import { RestClient } from '../src/discord/rest.ts';
import { nonce } from '../src/discord/snowflake.ts';
import type { Task } from '../src/engine/task.ts';
import { silentLogger } from '../src/log.ts';
import { DEFAULT_COMMANDS, imaginePayload } from '../src/midjourney/index.ts';
import { startService } from '../test/helpers/service.ts';
import { fmt, percentile, type Row } from './lib/report.ts';

export async function engineLatency(jobs = 200): Promise<Row[]> {
  const svc = await startService({ speed: 2000 });
  const account = svc.sandbox.accounts[0];
  if (!account) throw new Error('no sandbox account');
  // A second session of the same user sees the same dispatches: the floor for result detection.
  const watcher = new GatewayClient({
    token: account.token,
    url: svc.sandbox.proxy.gateway,
    userAgent: 'bench',
    logger: silentLogger(),
  });
  const seenAt = new Map<string, number>();
  watcher.on('dispatch', (e) => {
    if (e.t !== 'MESSAGE_CREATE') return;
    const m = e.d as { components?: unknown[]; attachments?: { filename: string }[]; content?: string };
    const file = m.attachments?.[0]?.filename ?? '';
    const hash = /([0-9a-f-]{36})\.png$/.exec(file)?.[1];
    if (hash) seenAt.set(hash, performance.now());
  });
  watcher.connect();
  await new Promise<void>((r) => watcher.once('ready', () => r()));
  const arrived = new Map<string, number>();
  svc.sandbox.discord.onInteraction((ix) => {
    if (ix.nonce) arrived.set(ix.nonce, performance.now());
  });
  const submitted: number[] = [];
  const detect: number[] = [];
  const finishedAt = new Map<string, { at: number; hash: string }>();
  svc.app.engine.on('task', (t: Task) => {
    if (t.status === 'FINISHED' && t.messageHash)
      finishedAt.set(t.id, { at: performance.now(), hash: t.messageHash });
  });
  for (let i = 0; i < jobs; i++) {
    const t0 = performance.now();
    const task = await svc.app.engine.imagine({ prompt: `latency ${i}` });
    await svc.waitTask(task.id);
    const rec = await svc.app.store.get(task.id);
    const at = rec?.meta.nonce ? arrived.get(rec.meta.nonce) : undefined;
    if (at !== undefined) submitted.push(at - t0);
    const fin = finishedAt.get(task.id);
    const floor = fin ? seenAt.get(fin.hash) : undefined;
    if (fin && floor !== undefined) detect.push(fin.at - floor);
  }
  // Baseline for the overhead: the same interaction posted straight to the fake Discord.
  const rest = new RestClient({
    baseUrl: svc.sandbox.proxy.server,
    token: account.token,
    userAgent: 'bench',
    logger: silentLogger(),
  });
  const raw: number[] = [];
  for (let i = 0; i < jobs; i++) {
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
  }
  await watcher.close();
  await svc.close();
  const overhead99 = percentile(submitted, 99) - percentile(raw, 99);
  return [
    {
      what: `engine overhead: imagine() → interaction at Discord (${jobs} jobs)`,
      figure: `p50 ${fmt(percentile(submitted, 50))} ms, p99 ${fmt(percentile(submitted, 99))} ms`,
      baseline: `raw POST /interactions p50 ${fmt(percentile(raw, 50))} ms, p99 ${fmt(percentile(raw, 99))} ms`,
      ratio: `+${fmt(overhead99)} ms at p99`,
      target: 'overhead p99 < 5 ms',
      met: overhead99 < 5,
    },
    {
      what: `result detection: final message seen by a bare session → task FINISHED (${detect.length} jobs)`,
      figure: `p50 ${fmt(percentile(detect, 50))} ms, p99 ${fmt(percentile(detect, 99))} ms after the bare session`,
      baseline: 'bare gateway session of the same user (0 ms by definition)',
      ratio: `+${fmt(percentile(detect, 99))} ms at p99`,
      target: 'p99 < 5 ms',
      met: percentile(detect, 99) < 5,
    },
  ];
}
