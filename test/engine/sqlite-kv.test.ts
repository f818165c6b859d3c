import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Keyv from 'keyv';
import { SqliteKv } from '../../src/engine/sqlite-kv.ts';

const fileIn = () => join(mkdtempSync(join(tmpdir(), 'mjb-kv-')), 'store.sqlite');

test('spaces on one file: each walks and clears only its own keys, across pages; closing one leaves the other', async () => {
  const file = fileIn();
  // `a_b` would match `a%b` as a LIKE pattern: the space's name is taken literally.
  const tasks = new Keyv({ store: new SqliteKv(file, { busyTimeoutMs: 1000 }), namespace: 'a_b' });
  const other = new Keyv({ store: new SqliteKv(file, { busyTimeoutMs: 1000 }), namespace: 'axb' });
  for (let i = 0; i < 1_234; i++) await tasks.set(`k${i}`, { i });
  await other.set('k1', 'other');
  const seen: string[] = [];
  assert.ok(tasks.iterator);
  for await (const [key] of tasks.iterator(undefined)) seen.push(String(key));
  assert.equal(seen.length, 1_234, 'every row of the space, over more than one page');
  assert.equal(new Set(seen).size, 1_234, 'none twice');
  await tasks.clear();
  assert.equal(await tasks.get('k5'), undefined);
  assert.equal(await other.get('k1'), 'other', 'the other space keeps its keys');
  await tasks.disconnect();
  assert.equal(await other.get('k1'), 'other', 'the other space still reads after the first closed');
  await other.disconnect();
});

test('a write is committed when it returns: another connection reads it at once, and after a reopen', async () => {
  const file = fileIn();
  const a = new SqliteKv(file, { busyTimeoutMs: 1000 });
  a.write('task:1', '{"v":1}');
  const { default: Database } = await import('better-sqlite3');
  const reader = new Database(file, { readonly: true });
  assert.deepEqual(reader.prepare('SELECT value FROM keyv WHERE key = ?').get('task:1'), {
    value: '{"v":1}',
  });
  reader.close();
  await a.disconnect();
  const b = new SqliteKv(file, { busyTimeoutMs: 1000 });
  assert.equal(await b.get('task:1'), '{"v":1}');
  await b.disconnect();
});

test('the write-ahead log is checkpointed beside the writes and stays bounded', async () => {
  const file = fileIn();
  const kv = new SqliteKv(file, { busyTimeoutMs: 1000 });
  const value = 'x'.repeat(3_000);
  // 6,000 writes of 3 kB over about 6 s: without checkpoints the log would hold all of them
  // (about 50 MB here); checkpointed every second it holds a second or two of them.
  for (let round = 0; round < 30; round++) {
    for (let i = 0; i < 200; i++) kv.write(`task:${i}`, `${value}${round}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const walBytes = statSync(`${file}-wal`).size;
  assert.ok(walBytes < 25 * 1024 * 1024, `log of ${walBytes} bytes`);
  assert.equal(await kv.get('task:7'), `${value}29`);
  await kv.disconnect();
  assert.throws(() => statSync(`${file}-wal`), 'the last close folds the log into the file');
});

test('a value of megabytes is written beside the event loop, and the writes after it keep their order', async () => {
  const file = fileIn();
  const kv = new SqliteKv(file, { busyTimeoutMs: 1000 });
  const big = `{"images":["data:image/png;base64,${'A'.repeat(3 * 1024 * 1024)}"]}`;
  const first = kv.write('task:1', big);
  assert.ok(first instanceof Promise, 'the long write is handed over');
  // Given while the long one is still on its way: it waits for it, so it is not overwritten.
  const second = kv.write('task:1', '{"images":[]}');
  const other = kv.write('task:2', '{"small":true}');
  assert.ok(second instanceof Promise && other instanceof Promise, 'later writes queue behind it');
  await Promise.all([first, second, other]);
  assert.equal(await kv.get('task:1'), '{"images":[]}');
  assert.equal(await kv.get('task:2'), '{"small":true}');
  assert.equal(kv.write('task:3', '{}'), undefined, 'once the queue is empty, writes are immediate again');
  assert.equal(await kv.get('task:3'), '{}');
  await kv.disconnect();
});
