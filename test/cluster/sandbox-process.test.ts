import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type InstanceProc,
  post,
  type SandboxProc,
  startInstance,
  startSandboxProcess,
  waitFor,
} from '../helpers/processes.ts';

describe('the sandbox as its own process (npm run sandbox)', () => {
  let sandbox: SandboxProc;
  let svc: InstanceProc;
  before(async () => {
    sandbox = await startSandboxProcess(2, 300);
  });
  after(async () => {
    await svc?.stop();
    await sandbox?.stop();
  });

  test('prints a config to paste, runs a service pointed at it, and counts what it was sent', async () => {
    const { line } = sandbox;
    assert.equal(line.accounts.length, 2);
    assert.match(line.proxy.gateway, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(new Set(line.accounts.map((a) => a.channel_id)).size, 2);
    const before = await sandbox.stats();
    assert.deepEqual(before, {
      interactions: 0,
      duplicateNonces: 0,
      jobs: 0,
      peakRunning: {},
      byAccount: {},
    });

    const dir = mkdtempSync(join(tmpdir(), 'mjb-sbx-'));
    svc = await startInstance({
      accounts: line.accounts,
      proxy: line.proxy,
      store: { url: `sqlite://${join(dir, 'tasks.sqlite')}` },
      images: { dir: join(dir, 'images') },
      settings: { interactionIntervalMs: 0 },
    });
    await waitFor('both accounts ready', async () => {
      const h = (await svc.health()) as { status: string; mode: string; accounts: { state: string }[] };
      return h.accounts.every((a) => a.state === 'ready') ? h : undefined;
    });
    assert.equal(((await svc.health()) as { mode: string }).mode, 'live');
    const created = await post(`${svc.url}/image/imagine`, { prompt: 'a lighthouse at dusk' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const id = created.body.taskId as string;
    const task = await waitFor('the task to finish', async () => {
      const t = (await (await fetch(`${svc.url}/task/fetch?taskId=${id}`)).json()) as {
        data: { status: string; discordId: string; imageUrl: string | null };
      };
      return t.data.status === 'FINISHED' || t.data.status === 'FAILED' ? t.data : undefined;
    });
    assert.equal(task.status, 'FINISHED');
    // The result came from the sandbox's CDN (the service keeps its own copy of it).
    const image = await fetch(task.imageUrl as string);
    assert.equal(image.status, 200, task.imageUrl ?? '');
    assert.equal(
      Buffer.from(await image.arrayBuffer())
        .subarray(1, 4)
        .toString('latin1'),
      'PNG',
    );

    const stats = await sandbox.stats();
    assert.equal(stats.jobs, 1);
    assert.deepEqual(stats.peakRunning, { [task.discordId]: 1 });
    assert.equal(stats.duplicateNonces, 0);
    assert.ok(stats.interactions >= 1);
    assert.ok((stats.byAccount[task.discordId]?.interactions ?? 0) >= 1);
    const perAccount = Object.values(stats.byAccount).reduce((n, a) => n + a.interactions, 0);
    assert.equal(perAccount, stats.interactions);
  });

  test('refuses bad arguments with exit code 2 and a readable line', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/sandbox/main.ts', '--accounts', 'many'], {
      cwd: `${import.meta.dirname}/../..`,
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--accounts must be a whole number/);
    assert.equal(r.stdout, '');
  });
});
