import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import { type Service, startService } from '../helpers/service.ts';

interface Frame {
  id?: string;
  event: string;
  data: string;
}

/** An EventSource-like reader over fetch: frames as they arrive. */
function openStream(url: string, lastEventId?: string) {
  const ac = new AbortController();
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  const done = (async () => {
    const res = await fetch(url, {
      signal: ac.signal,
      headers: lastEventId ? { 'last-event-id': lastEventId } : {},
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let end = buf.indexOf('\n\n');
      while (end >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const f: Frame = { event: 'message', data: '' };
        let any = false;
        for (const line of block.split('\n')) {
          const [k, ...rest] = line.split(': ');
          const v = rest.join(': ');
          if (k === 'id') f.id = v;
          else if (k === 'event') f.event = v;
          else if (k === 'data') f.data = v;
          else continue;
          any = true;
        }
        if (any) frames.push(f);
        for (const w of waiters.splice(0)) w();
        end = buf.indexOf('\n\n');
      }
    }
  })().catch((err: unknown) => {
    if ((err as Error).name !== 'AbortError') throw err;
  });
  return {
    frames,
    /** Settles when the server ends the stream (or it is aborted). */
    ended: done,
    async until(pred: (fs: Frame[]) => boolean, ms = 15_000): Promise<void> {
      const by = Date.now() + ms;
      while (!pred(frames)) {
        if (Date.now() > by)
          throw new Error(`stream: condition not met; got ${frames.map((f) => f.event).join(',')}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
    async close() {
      ac.abort();
      await done;
    },
  };
}

const tasksOf = (fs: Frame[]) => fs.filter((f) => f.event === 'task').map((f) => JSON.parse(f.data) as Task);

let s: Service;
before(async () => {
  s = await startService({ speed: 20 });
});
after(() => s.close());

test('every task change reaches the stream; a dropped browser resumes with what it missed', async () => {
  const url = `${s.app.url}/console/api/events`;
  const listenersBefore = s.app.engine.listenerCount('task');
  const first = openStream(url);
  const second = openStream(url);
  await first.until((fs) => fs.some((f) => f.event === 'hello'));
  await second.until((fs) => fs.some((f) => f.event === 'hello'));
  // Browsers share the console's one engine listener.
  assert.equal(s.app.engine.listenerCount('task'), listenersBefore);

  const id = await s.submit('/image/imagine', { prompt: 'a slow lighthouse' });
  await first.until((fs) => tasksOf(fs).some((t) => t.id === id && t.status === 'RUNNING'));
  const lastSeen = first.frames.at(-1)!.id!;
  const seenCount = first.frames.length;
  await first.close();

  // The second browser stays and sees the whole run; the first comes back after it ended.
  await second.until((fs) => tasksOf(fs).some((t) => t.id === id && t.status === 'FINISHED'));
  const all = second.frames.filter((f) => f.id && f.event === 'task');
  const back = openStream(url, lastSeen);
  await back.until((fs) => tasksOf(fs).some((t) => t.id === id && t.status === 'FINISHED'));
  const missed = all.slice(all.findIndex((f) => f.id === lastSeen) + 1);
  assert.ok(missed.length > 0);
  assert.deepEqual(
    back.frames.filter((f) => f.event === 'task').map((f) => f.id),
    missed.map((f) => f.id),
  );
  assert.ok(seenCount > 1);
  // Progress arrived in order and ended FINISHED, nothing repeated.
  const statuses = tasksOf(second.frames)
    .filter((t) => t.id === id)
    .map((t) => t.status);
  assert.equal(statuses.at(-1), 'FINISHED');
  await back.close();
  await second.close();
});

test('an id from another run (or too old) asks the browser to reload instead', async () => {
  const stream = openStream(`${s.app.url}/console/api/events`, 'abcdef012345-17');
  await stream.until((fs) => fs.some((f) => f.event === 'reset'));
  await stream.close();
  const garbage = openStream(`${s.app.url}/console/api/events`, 'not an id');
  await garbage.until((fs) => fs.some((f) => f.event === 'reset'));
  await garbage.close();
});

test('closing the service ends open streams instead of waiting for them', async () => {
  const own = await startService({ speed: 50 });
  const stream = openStream(`${own.app.url}/console/api/events`);
  await stream.until((fs) => fs.some((f) => f.event === 'hello'));
  // Without the console ending it, the HTTP server's close would wait for this stream forever.
  await own.close();
  await stream.ended;
  assert.equal(stream.frames.at(-1)?.event, 'hello');
});
