import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import { silentLogger } from '../../src/log.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { freePort } from '../helpers/free-port.ts';
import { startMain, waitFor } from '../helpers/processes.ts';

test('the real process killed mid-job and started again on the same SQLite file finishes the job', async () => {
  // The simulated Discord lives in this test process, so it outlives the service: the service is
  // configured as a live account whose outside URLs point at it (SPEC §2.3 proxy).
  const sandbox = await startSandbox({ speed: 10, logger: silentLogger() });
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await sandbox.close();
  });
  const dir = mkdtempSync(join(tmpdir(), 'mjb-restart-'));
  const port = await freePort();
  const account = sandbox.accounts[0];
  assert.ok(account);
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: `http://127.0.0.1:${port}`,
      accounts: [{ token: account.token, channel_id: account.channel_id, guild_id: account.guild_id }],
      proxy: sandbox.proxy,
      store: { url: `sqlite://${join(dir, 'tasks.sqlite')}` },
      images: { dir: join(dir, 'images') },
      settings: { interactionIntervalMs: 0 },
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  const fetchTask = async (id: string): Promise<Task> => {
    const res = await fetch(`${base}/task/fetch?taskId=${id}`);
    return ((await res.json()) as { data: Task }).data;
  };

  const first = startMain(configFile);
  children.push(first);
  await waitFor('the first process', async () =>
    (await fetch(`${base}/health`)).status === 200 ? true : undefined,
  );
  const res = await fetch(`${base}/image/imagine`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'survives a crash' }),
  });
  const { taskId } = (await res.json()) as { taskId: string };
  await waitFor('progress', async () => ((await fetchTask(taskId)).status === 'RUNNING' ? true : undefined));
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));

  const second = startMain(configFile);
  children.push(second);
  const done = await waitFor('the job to finish after the restart', async () => {
    const t = await fetchTask(taskId);
    return t.status === 'FINISHED' || t.status === 'FAILED' ? t : undefined;
  });
  assert.equal(done.status, 'FINISHED', done.failReason ?? '');
  assert.ok(done.imageUrl);
  assert.equal(done.prompt, 'survives a crash');
  second.kill('SIGTERM');
  await new Promise((r) => second.once('exit', r));
});
