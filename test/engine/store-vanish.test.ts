import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { type ChildService, startChild } from '../helpers/child-service.ts';

const children: ChildService[] = [];
after(async () => {
  for (const c of children) await c.stop();
});

async function imagine(base: string, prompt: string) {
  const res = await fetch(`${base}/image/imagine`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt }),
  });
  return { status: res.status, body: (await res.json()) as { code: number; msg: string; taskId?: string } };
}

async function waitLog(svc: ChildService, msg: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = svc.logs().find((l) => l.msg === msg);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no log line "${msg}"`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const what of ['file', 'directory'] as const) {
  test(`the store ${what} deleted while running: the next write answers 503 and is logged; no ok is lost`, async () => {
    const svc = await startChild({});
    children.push(svc);
    const before = await imagine(svc.base, 'before the deletion');
    assert.equal(before.status, 200);
    if (what === 'file') for (const f of ['', '-wal', '-shm']) rmSync(svc.storeFile + f, { force: true });
    else rmSync(dirname(svc.storeFile), { recursive: true, force: true });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => imagine(svc.base, `after ${i}`)));
    for (const a of answers) {
      assert.equal(a.status, 503, JSON.stringify(a.body));
      assert.equal(a.body.code, 503);
      assert.match(
        a.body.msg,
        /^could not store the task: could not save task \d+: the store file .* was deleted while running; restart the service$/,
      );
    }
    const line = await waitLog(svc, 'store unusable: writes are refused');
    assert.equal(line.level, 50);
    assert.match(String(line.problem), /deleted while running/);
    assert.equal(svc.exitCode(), null, 'the process stays up');
    assert.equal((await fetch(`${svc.base}/health`)).status, 200);
    await svc.stop();

    // A new process on the same path starts on a new file; no task it never accepted shows up,
    // and it accepts work again.
    const again = await startChild({ storeFile: svc.storeFile });
    children.push(again);
    const list = (await (await fetch(`${again.base}/task/list?limit=100`)).json()) as {
      data: { prompt: string }[];
    };
    assert.deepEqual(
      list.data.filter((t) => t.prompt.startsWith('after')),
      [],
    );
    assert.equal((await imagine(again.base, 'a new start')).status, 200);
  });
}

test('a store file replaced while running is noticed too', async () => {
  const svc = await startChild({});
  children.push(svc);
  assert.equal((await imagine(svc.base, 'first')).status, 200);
  rmSync(svc.storeFile, { force: true });
  writeFileSync(svc.storeFile, '');
  const res = await imagine(svc.base, 'second');
  assert.equal(res.status, 503);
  assert.match(res.body.msg, /was replaced while running/);
});

test('an immutable -shm file: a clear start-up error instead of a SIGBUS', async () => {
  const dir = join(dirname(children[0]?.storeFile ?? '/tmp/x'), '..', `mjb-shm-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'tasks.sqlite');
  writeFileSync(`${file}-shm`, '');
  // Root on Linux (as in CI): chattr +i makes it unwritable even for root.
  execFileSync('chattr', ['+i', `${file}-shm`]);
  try {
    await assert.rejects(startChild({ storeFile: file }), (err: Error) => {
      assert.match(err.message, /exited \(1\)/);
      assert.match(
        err.message,
        /the SQLite store cannot be opened: .*tasks\.sqlite-shm cannot be written \(EPERM\)/,
      );
      return true;
    });
  } finally {
    execFileSync('chattr', ['-i', `${file}-shm`]);
    rmSync(dir, { recursive: true, force: true });
  }
});
