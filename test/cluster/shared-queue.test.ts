import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SharedQueue } from '../../src/engine/shared-queue.ts';
import { createLogger } from '../../src/log.ts';
import { type RedisProc, startRedis, waitFor } from '../helpers/processes.ts';

const LOCK = 1000;
let redis: RedisProc;
const logger = createLogger('silent');
const open: SharedQueue[] = [];

async function instance(id: string): Promise<SharedQueue> {
  const q = new SharedQueue({
    url: redis.url,
    instanceId: id,
    accountIds: ['111', '222'],
    lockMs: LOCK,
    logger,
  });
  await q.start();
  open.push(q);
  return q;
}

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await Promise.allSettled(open.map((q) => q.stop()));
  await redis?.stop();
});

test('a job taken by an instance that dies without finishing it is handed out again, at the head', async () => {
  const [a, b] = [await instance('a'), await instance('b')];
  await a.add({ id: '1000000000000000001', queuedAtMs: 1, accountId: null });
  await a.add({ id: '1000000000000000002', queuedAtMs: 2, accountId: null });
  const taken = await a.take('111');
  assert.equal(taken?.taskId, '1000000000000000001');
  // The taker is gone: no renewal, no completion.
  await a.stop();
  const again = await waitFor(
    'the job handed out again',
    async () => {
      const t = await b.take('222');
      if (t && t.taskId !== '1000000000000000001') await b.putBack(t.taskId);
      return t?.taskId === '1000000000000000001' ? t : undefined;
    },
    20_000,
    100,
  );
  assert.equal(again.queuedAtMs, 1);
  await b.finish(again.taskId);
  assert.equal((await b.take('222'))?.taskId, '1000000000000000002');
});

test('a pinned follow-up goes to its account alone, before new work', async () => {
  const q = await instance('c');
  await q.add({ id: '1000000000000000010', queuedAtMs: 10, accountId: null });
  await q.add({ id: '1000000000000000011', queuedAtMs: 11, accountId: '222' });
  assert.equal((await q.take('111'))?.taskId, '1000000000000000010');
  assert.equal(await q.take('111'), undefined);
  const pinned = await q.take('222');
  assert.deepEqual(pinned, { taskId: '1000000000000000011', queuedAtMs: 11, pinned: true });
});

test('the waiting count and an account’s slots hold for every instance at once', async () => {
  const [x, y] = [await instance('x'), await instance('y')];
  // What the tests before left waiting (jobs finished here leave the count with their task).
  for (const e of await x.waitingEntries()) await x.left(e.id);
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? x : y).reserve({ id: `20000000000000000${10 + i}`, queuedAtMs: i, accountId: null }, 4),
    ),
  );
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 4);
  for (const r of results)
    if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'QUEUE_FULL');
  assert.equal(await x.waitingCount(), 4);
  const slots = await Promise.all(
    Array.from({ length: 6 }, (_, i) => (i % 2 ? x : y).takeSlot('111', `t${i}`, 2)),
  );
  assert.equal(slots.filter(Boolean).length, 2);
  const holder = (await x.slotHolders('111'))[0] as string;
  assert.equal(await y.takeSlot('111', holder, 2), true, 'a holder asking again keeps its slot');
  await x.freeSlot('111', holder);
  assert.equal(await y.takeSlot('111', 'late', 2), true);
});
