/**
 * §11 row 7: per-job latency side by side with the npm `midjourney` client, on the same simulated
 * Discord at the same speed: imagine → grid result, one job at a time.
 */
import { Midjourney } from 'midjourney';
import { startService } from '../test/helpers/service.ts';
import { fmt, percentile, type Row } from './lib/report.ts';

export async function vsNpmClient(jobs = 10): Promise<Row[]> {
  const svc = await startService({ speed: 50 });
  const account = svc.sandbox.accounts[0];
  if (!account) throw new Error('no sandbox account');
  const client = new Midjourney({
    ServerId: account.guild_id,
    ChannelId: account.channel_id,
    SalaiToken: account.token,
    DiscordBaseUrl: svc.sandbox.proxy.server,
    WsBaseUrl: `${svc.sandbox.proxy.gateway}/?encoding=json&v=9`,
    Ws: true,
  });
  try {
    await client.Connect();
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < jobs; i++) {
      const t0 = performance.now();
      const id = await svc.submit('/image/imagine', { prompt: `side by side ${i}` });
      await svc.waitTask(id);
      ours.push(performance.now() - t0);
      const t1 = performance.now();
      await client.Imagine(`their side ${i}`);
      theirs.push(performance.now() - t1);
    }
    const a = percentile(ours, 50);
    const b = percentile(theirs, 50);
    return [
      {
        what: `per-job latency, imagine → grid (${jobs} jobs, sandbox ×50)`,
        figure: `median ${fmt(a, 0)} ms (p99 ${fmt(percentile(ours, 99), 0)} ms)`,
        baseline: `npm midjourney client: median ${fmt(b, 0)} ms (p99 ${fmt(percentile(theirs, 99), 0)} ms)`,
        ratio: `${fmt(a / b)}×`,
        target: 'lower than the npm client',
        met: a < b,
      },
    ];
  } finally {
    client.Close();
    await svc.close();
  }
}
