import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startService } from '../helpers/service.ts';

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line ? Number(line.slice(series.length).trim()) : 0;
}

test('/metrics moves after a job: tasks by status, REST calls, accounts, queue', async () => {
  const svc = await startService({ speed: 300 });
  try {
    const scrape = async () => (await fetch(`${svc.app.url}/metrics`)).text();
    const before = await scrape();
    const id = await svc.submit('/image/imagine', { prompt: 'counted' });
    await svc.waitTask(id);
    const failed = await svc.submit('/image/imagine', { prompt: 'nope --fail Invalid prompt' });
    await svc.waitTask(failed);
    const after = await scrape();
    const finished = 'mjb_tasks_total{action="IMAGINE",status="FINISHED"}';
    const failedSeries = 'mjb_tasks_total{action="IMAGINE",status="FAILED"}';
    assert.equal(value(after, finished) - value(before, finished), 1);
    assert.equal(value(after, failedSeries) - value(before, failedSeries), 1);
    assert.ok(value(after, 'mjb_discord_rest_calls_total{method="POST",status="204"}') >= 2);
    assert.equal(value(after, 'mjb_accounts{state="ready"}'), 1);
    assert.equal(value(after, 'mjb_queue_length'), 0);
    assert.match(after, /mjb_task_duration_seconds_bucket/);
    assert.match(after, /process_resident_memory_bytes/);
  } finally {
    await svc.close();
  }
});
