import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { replaceCdn } from '../../src/engine/cdn.ts';
import { newTaskId } from '../../src/engine/ids.ts';
import { TaskQueue } from '../../src/engine/queue.ts';
import { type TaskRecord, TaskStore } from '../../src/engine/store.ts';
import { blankTask } from '../../src/engine/task.ts';

function record(id: string, seq: number): TaskRecord {
  return {
    task: { ...blankTask(id, 'IMAGINE'), submitTime: 1, prompt: `prompt ${seq}`, data: { seq } },
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
      queuedAtMs: 0,
      startedAtMs: null,
      inputImages: [],
    },
  };
}

test('task ids are 19 digits, start with the unix seconds, and never repeat', () => {
  const now = Date.now();
  const ids = new Set<string>();
  for (let i = 0; i < 5000; i++) ids.add(newTaskId(now));
  assert.equal(ids.size, 5000);
  for (const id of ids) {
    assert.match(id, /^\d{19}$/);
    assert.equal(id.slice(0, 10), String(Math.floor(now / 1000)));
  }
});

test('the SQLite store keeps every record across a reopen of the same file', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'mjb-store-')), 'deep', 'tasks.sqlite');
  const a = new TaskStore({ url: `sqlite://${file}`, expiredDays: 1 });
  for (let i = 1; i <= 30; i++) await a.save(record(`17000000000000000${String(i).padStart(2, '0')}`, i));
  const keys = a.space<{ taskId: string }>('tg-keys');
  await keys.set('k1', { taskId: 'x' });
  await a.close();

  const b = new TaskStore({ url: `sqlite://${file}`, expiredDays: 1 });
  const all = await b.all();
  assert.equal(all.length, 30);
  assert.deepEqual(
    all.map((r) => r.meta.seq).sort((x, y) => x - y),
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  assert.deepEqual((await b.get('1700000000000000007'))?.task.data, { seq: 7 });
  assert.equal(await b.get('1700000000000000099'), undefined);
  assert.deepEqual(await b.space<{ taskId: string }>('tg-keys').get('k1'), { taskId: 'x' });
  await b.close();
});

test('the queue keeps order, reports 1-based positions, and takes a retry at its head', () => {
  const q = new TaskQueue();
  q.push('a');
  q.push('b');
  q.push('c');
  assert.equal(q.position('c'), 3);
  assert.ok(q.remove('b'));
  assert.equal(q.position('c'), 2);
  q.unshift('z');
  assert.deepEqual(q.snapshot(), ['z', 'a', 'c']);
  assert.equal(q.position('b'), null);
});

test('imageUrl replaces the Discord CDN origins by proxy.cdn, and only when it differs', () => {
  const raw = 'https://cdn.discordapp.com/attachments/1/2/a.png?ex=1&is=2&hm=3&';
  assert.equal(
    replaceCdn(raw, 'https://img.example.com/'),
    'https://img.example.com/attachments/1/2/a.png?ex=1&is=2&hm=3&',
  );
  assert.equal(replaceCdn(raw, 'https://cdn.discordapp.com'), raw);
  assert.equal(
    replaceCdn('https://media.discordapp.net/attachments/1/2/a.png', 'http://127.0.0.1:9'),
    'http://127.0.0.1:9/attachments/1/2/a.png',
  );
  assert.equal(
    replaceCdn('https://elsewhere.example/a.png', 'http://127.0.0.1:9'),
    'https://elsewhere.example/a.png',
  );
});
