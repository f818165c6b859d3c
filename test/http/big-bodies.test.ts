import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ChildService, startChild } from '../helpers/child-service.ts';
import { bigDataBody, healthDuring, postBuffer } from '../helpers/health-probe.ts';

let svc: ChildService;
before(async () => {
  svc = await startChild({});
});
after(async () => {
  await svc.stop();
});

test('two 60 MB bodies at once: both refused naming data, /health keeps answering', async () => {
  const body = bigDataBody(60 * 1024 * 1024);
  // Warm the connection path so the first sample measures the service, not start-up.
  await fetch(`${svc.base}/health`);
  const { probe, result } = await healthDuring(svc.base, () =>
    Promise.all([
      postBuffer(`${svc.base}/image/imagine`, body),
      postBuffer(`${svc.base}/image/imagine`, body),
    ]),
  );
  for (const r of result) {
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.text), {
      code: 400,
      msg: 'data is larger than 64 KiB as JSON',
      data: null,
    });
  }
  assert.ok(probe.latencies.length >= 3, `polled ${probe.latencies.length} times`);
  // The exact figure is in bench/RESULTS.md (hostile bodies); this bound only catches a stall.
  assert.ok(probe.max < 1000, `slowest /health took ${probe.max.toFixed(1)} ms`);
  assert.equal(svc.exitCode(), null);
});
