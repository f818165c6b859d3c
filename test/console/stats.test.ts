import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { HourStats } from '../../src/console/stats.ts';
import { type Service, startService } from '../helpers/service.ts';

let s: Service;
before(async () => {
  s = await startService();
});
after(() => s.close());

async function overview(): Promise<{ stats: HourStats; health: { queue: number } }> {
  const res = await fetch(`${s.app.url}/console/api/overview`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { data: { stats: HourStats; health: { queue: number } } }).data;
}

test("the dashboard's hour: jobs per minute and failure rate from the tasks that ended", async () => {
  const before = (await overview()).stats;
  assert.equal(before.minutes.length, 60);
  assert.equal(before.failureRate, null);
  const ok = await s.submit('/image/imagine', { prompt: 'a quiet harbour' });
  const bad = await s.submit('/image/imagine', { prompt: 'a loud harbour --fail Banned prompt detected' });
  assert.equal((await s.waitTask(ok)).status, 'FINISHED');
  assert.equal((await s.waitTask(bad)).status, 'FAILED');
  const { stats, health } = await overview();
  assert.equal(stats.failureRate, 0.5);
  assert.equal(stats.jobsPerMinute, Math.round((2 / 60) * 100) / 100);
  const sum = (k: 'finished' | 'failed') => stats.minutes.reduce((n, m) => n + m[k], 0);
  assert.deepEqual([sum('finished'), sum('failed')], [1, 1]);
  assert.ok(stats.minutes.at(-1)!.at <= Date.now() && Date.now() - stats.minutes.at(-1)!.at < 60_000);
  assert.equal(health.queue, 0);
});

test('a restart keeps the hour: the chart is seeded from the stored tasks', async () => {
  const storeFile = s.storeFile;
  const first = (await overview()).stats;
  await s.close();
  s = await startService({ storeFile });
  const again = (await overview()).stats;
  assert.equal(again.failureRate, first.failureRate);
  assert.equal(
    again.minutes.reduce((n, m) => n + m.finished + m.failed, 0),
    first.minutes.reduce((n, m) => n + m.finished + m.failed, 0),
  );
});
