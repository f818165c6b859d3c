import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type InstanceProc,
  post,
  type RedisProc,
  type SandboxProc,
  startInstance,
  startRedis,
  startSandboxProcess,
  waitFor,
} from '../helpers/processes.ts';

const TTL = 3000;
/** The accounts' `timeoutMinutes`: a form left alone fails after it (SPEC §12.2). */
const FORM_MINUTES = 0.25;

interface TaskJson {
  id: string;
  status: string;
  discordId: string | null;
  failReason: string | null;
  buttons: { custom_id: string; label?: string }[][];
}

async function fetchTask(inst: InstanceProc, id: string): Promise<TaskJson> {
  const body = (await (await fetch(`${inst.url}/task/fetch?taskId=${id}`)).json()) as { data: TaskJson };
  return body.data;
}

async function finished(inst: InstanceProc, id: string): Promise<TaskJson> {
  const t = await waitFor(
    `task ${id} final`,
    async () => {
      const t = await fetchTask(inst, id);
      return t.status === 'FINISHED' || t.status === 'FAILED' ? t : undefined;
    },
    60_000,
  );
  assert.equal(t.status, 'FINISHED', t.failReason ?? '');
  return t;
}

async function mj(inst: InstanceProc, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${inst.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
}

/**
 * Prepared forms (MODAL, SPEC §12.2) across instances (§13): whichever instance gets the cancel
 * ends the wait, and a form whose instance died still times out. Two instances, two accounts.
 */
describe('prepared forms (MODAL) in a cluster', () => {
  let redis: RedisProc;
  let sandbox: SandboxProc;
  const instances: InstanceProc[] = [];
  /** An upscale whose custom zoom button opens a form. */
  let upscale: TaskJson;

  const config = (id: string) => ({
    accounts: sandbox.line.accounts.map((a) => ({ ...a, timeoutMinutes: FORM_MINUTES, concurrency: 2 })),
    proxy: sandbox.line.proxy,
    store: { url: redis.url },
    images: { store: 'off' },
    settings: { interactionIntervalMs: 0, allowPrivateNetworks: true },
    cluster: { instanceId: id, leaseTtlMs: TTL },
  });

  const zoomForm = async (on: InstanceProc): Promise<string> => {
    const zoom = upscale.buttons.flat().find((b) => b.custom_id.startsWith('MJ::CustomZoom::'));
    assert.ok(zoom, 'the upscale has a custom zoom button');
    const r = await mj(on, '/mj/submit/action', { taskId: upscale.id, customId: zoom.custom_id });
    assert.equal(r.code, 21, JSON.stringify(r));
    return String(r.result);
  };

  before(async () => {
    [redis, sandbox] = await Promise.all([startRedis(), startSandboxProcess(2, 30)]);
    instances.push(...(await Promise.all(['f1', 'f2'].map((id) => startInstance(config(id))))));
    await waitFor(
      'both accounts leased, one per instance, and ready',
      async () => {
        const hs = (await Promise.all(instances.map((i) => i.health()))) as unknown as {
          instance: { accounts: string[] };
          accounts: { state: string }[];
        }[];
        const ready = hs.every((h) => h.accounts.every((a) => a.state === 'ready'));
        return ready && hs.every((h) => h.instance.accounts.length === 1) ? true : undefined;
      },
      60_000,
    );
    const [first] = instances as [InstanceProc];
    const grid = await finished(
      first,
      (await post(`${first.url}/image/imagine`, { prompt: 'a lighthouse' })).body.taskId as string,
    );
    const u1 = grid.buttons.flat().find((b) => b.label === 'U1');
    assert.ok(u1);
    const res = await post(`${first.url}/image/action`, { taskId: grid.id, customId: u1.custom_id });
    upscale = await finished(first, res.body.taskId as string);
  });

  after(async () => {
    await Promise.all(instances.map((i) => i.stop('SIGKILL')));
    await sandbox?.stop();
    await redis?.stop();
  });

  test('no instance warns at start (BullMQ’s connections are not shared past their listener limit)', () => {
    for (const inst of instances) assert.doesNotMatch(inst.stderr(), /MaxListenersExceededWarning/);
  });

  test('a form prepared on one instance is cancelled from the other', async () => {
    const [first, second] = instances as [InstanceProc, InstanceProc];
    const id = await zoomForm(first);
    const res = await post(`${second.url}/task/cancel`, { taskId: id });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const data = res.body.data as TaskJson;
    assert.equal(data.status, 'FAILED');
    assert.equal(data.failReason, 'cancelled');
    // Its form can no longer be sent, on either instance.
    for (const inst of instances) {
      const r = await mj(inst, '/mj/submit/modal', { taskId: id, prompt: 'a lighthouse --zoom 1.5' });
      assert.notEqual(r.code, 1, JSON.stringify(r));
    }
    assert.deepEqual(await fetchTask(first, id), await fetchTask(second, id));
  });

  test('a form prepared on an instance that is then SIGKILLed still fails after timeoutMinutes', async () => {
    const [doomed, survivor] = instances as [InstanceProc, InstanceProc];
    const id = await zoomForm(doomed);
    assert.equal((await fetchTask(survivor, id)).status, 'PENDING');
    await doomed.stop('SIGKILL');
    const t = await waitFor(
      'the orphaned form failed',
      async () => {
        const t = await fetchTask(survivor, id);
        return t.status === 'FAILED' ? t : undefined;
      },
      FORM_MINUTES * 60_000 + 10 * TTL,
      200,
    );
    assert.equal(t.failReason, `the form was not submitted within ${FORM_MINUTES} minutes`);
    assert.equal((await sandbox.stats()).duplicateNonces, 0);
  });
});
