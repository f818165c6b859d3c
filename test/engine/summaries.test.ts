import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pruneSummaries, type TaskSummary } from '../../src/engine/summaries.ts';

test('the task index drops finished tasks the store has expired, and keeps live and recent ones', () => {
  const now = Date.UTC(2026, 11, 1);
  const day = 24 * 3600;
  const at = (daysAgo: number) => Math.floor(now / 1000) - daysAgo * day;
  const map = new Map<string, TaskSummary>([
    ['old-finished', { status: 'FINISHED', submitTime: at(31) }],
    ['old-failed', { status: 'FAILED', submitTime: at(40) }],
    ['old-running', { status: 'RUNNING', submitTime: at(31) }],
    ['recent', { status: 'FINISHED', submitTime: at(29) }],
  ]);
  assert.equal(pruneSummaries(map, 30, now), 2);
  assert.deepEqual([...map.keys()].sort(), ['old-running', 'recent']);
  assert.equal(pruneSummaries(map, 30, now), 0);
  // Fractions of a day, as store.expiredDates allows.
  assert.equal(pruneSummaries(map, 0.5, now), 1);
  assert.deepEqual([...map.keys()], ['old-running']);
});
