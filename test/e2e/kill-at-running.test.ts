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

test('kill -9 at the instant a fetch first shows RUNNING, many times: no job is ever sent to Midjourney twice', async () => {
  // The simulated Discord lives in this process and counts every /imagine it receives per prompt;
  // the service is a child process killed with SIGKILL the moment /task/fetch first says RUNNING.
  const sandbox = await startSandbox({ speed: 10, logger: silentLogger() });
  const sent = new Map<string, number>();
  sandbox.discord.onInteraction((ix) => {
    if (ix.type !== 2 || ix.data.name !== 'imagine') return;
    const options = (ix.data.options ?? []) as { name: string; value: unknown }[];
    const prompt = String(options.find((o) => o.name === 'prompt')?.value ?? '');
    sent.set(prompt, (sent.get(prompt) ?? 0) + 1);
  });
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await sandbox.close();
  });
  const dir = mkdtempSync(join(tmpdir(), 'mjb-kill-'));
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
      settings: { interactionIntervalMs: 0 },
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  const fetchTask = async (id: string): Promise<Task> => {
    const res = await fetch(`${base}/task/fetch?taskId=${id}`);
    return ((await res.json()) as { data: Task }).data;
  };
  const up = async () => {
    const child = startMain(configFile);
    children.push(child);
    await waitFor(
      'the service',
      async () => ((await fetch(`${base}/health`)).status === 200 ? true : undefined),
      30_000,
      5,
    );
    return child;
  };

  const rounds = 8;
  const ids: string[] = [];
  const prompts: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const child = await up();
    const prompt = `killed at running ${round}`;
    const res = await fetch(`${base}/image/imagine`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt }),
    });
    const { taskId } = (await res.json()) as { taskId: string };
    ids.push(taskId);
    prompts.push(prompt);
    // Polled every 5 ms: the kill must land at the first instant a reader sees RUNNING.
    await waitFor(
      'RUNNING',
      async () => ((await fetchTask(taskId)).status === 'RUNNING' ? true : undefined),
      30_000,
      5,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }

  const last = await up();
  for (const id of ids) {
    const done = await waitFor(
      `task ${id} to finish`,
      async () => {
        const t = await fetchTask(id);
        return t.status === 'FINISHED' || t.status === 'FAILED' ? t : undefined;
      },
      30_000,
      5,
    );
    assert.equal(done.status, 'FINISHED', `${id}: ${done.failReason}`);
  }
  for (const prompt of prompts)
    assert.equal(sent.get(prompt), 1, `"${prompt}" was sent ${sent.get(prompt)} times`);
  last.kill('SIGTERM');
  await new Promise((r) => last.once('exit', r));
});
