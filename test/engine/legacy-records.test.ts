import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { newTaskId } from '../../src/engine/ids.ts';
import { type TaskRecord, TaskStore } from '../../src/engine/store.ts';
import { blankTask, type Task } from '../../src/engine/task.ts';
import { type ChildService, startChild } from '../helpers/child-service.ts';

function nested(levels: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

function record(id: string, seq: number, status: Task['status'], data: unknown): TaskRecord {
  return {
    task: {
      ...blankTask(id, 'IMAGINE'),
      status,
      submitTime: Math.floor(Date.now() / 1000),
      prompt: `p${seq}`,
      data,
    },
    meta: {
      seq,
      accountId: null,
      nonce: null,
      interactionId: null,
      progressMessageId: null,
      progressFlags: 0,
      messageFlags: 0,
      parentMessageId: null,
      parentHash: null,
      cancelRequested: false,
      notifyUrl: null,
      queuedAtMs: Date.now(),
      startedAtMs: null,
      inputImages: [],
    },
  };
}

test('a store written by an older version with a 2,000-deep data starts, repairs that record (logged) and serves the rest', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'mjb-legacy-')), 'tasks.sqlite');
  const ids = Array.from({ length: 4 }, () => newTaskId(Date.now()));
  const [finishedDeep, pendingDeep, veryDeep, fine] = ids as [string, string, string, string];
  // What an older version stored: it accepted any `data` and wrote it as is.
  const old = new TaskStore({ url: `sqlite://${file}`, expiredDays: 1 });
  await old.save(record(finishedDeep, 1, 'FINISHED', nested(2000)));
  await old.save(record(pendingDeep, 2, 'PENDING', nested(2000)));
  await old.save(record(fine, 4, 'FINISHED', { order: 42 }));
  await old.close();
  // Rows put in keyv's table by hand, as keyv's SQLite store lays them out.
  const raw = new Database(file);
  const put = raw.prepare(
    'INSERT INTO keyv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value',
  );
  // Deeper than keyv's own reader can take back (written by hand: keyv's writer cannot either).
  const row = JSON.stringify({
    value: record(veryDeep, 3, 'FAILED', '__DEEP__'),
    expires: Date.now() + 3_600_000,
  });
  put.run(`task:${veryDeep}`, row.replace('"__DEEP__"', `${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}`));
  // And one row that is not a record at all.
  put.run('task:1700000000000000001', '{"value": {"task": ');
  raw.close();

  let svc: ChildService | undefined;
  after(async () => {
    await svc?.stop();
  });
  svc = await startChild({ storeFile: file });
  const get = async (id: string) => {
    const res = await fetch(`${svc?.base}/task/fetch?taskId=${id}`);
    return { status: res.status, task: ((await res.json()) as { data: Task }).data };
  };
  for (const id of [finishedDeep, pendingDeep, veryDeep]) {
    const { status, task } = await get(id);
    assert.equal(status, 200, id);
    assert.equal(task.data, null, `${id}: served without its data`);
  }
  const ok = await get(fine);
  assert.deepEqual(ok.task.data, { order: 42 });
  assert.equal(ok.task.status, 'FINISHED');
  const list = (await (await fetch(`${svc.base}/task/list?limit=100`)).json()) as { data: Task[] };
  assert.deepEqual(new Set(list.data.map((t) => t.id)), new Set(ids));
  // The repaired PENDING task is picked up and runs like any other.
  const imagine = await fetch(`${svc.base}/image/imagine`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'after the repair' }),
  });
  assert.equal(imagine.status, 200);

  const repaired = svc.logs().filter((l) => l.msg === 'stored task repaired');
  for (const id of [finishedDeep, pendingDeep, veryDeep]) {
    const line = repaired.find((l) => l.id === id);
    assert.ok(line, `a log line names ${id}`);
    assert.match(String(line.reason), /^data is nested deeper than 32 levels; data dropped$/);
  }
  const skipped = svc.logs().find((l) => l.msg === 'stored task skipped');
  assert.ok(skipped, 'the unreadable row is skipped with a logged reason');
  assert.equal(skipped.reason, 'record is not readable JSON');
  assert.equal(svc.exitCode(), null);
});
