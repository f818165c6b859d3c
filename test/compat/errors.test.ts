import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import { type Service, startService } from '../helpers/service.ts';
import { type CompatTaskJson, mjCall, NewApiRelay, type SubmitResponse } from './clients.ts';

const KEY = 'compat-secret';
const auth = { 'mj-api-secret': KEY };

describe('/mj refusals, auth and the two APIs side by side', () => {
  let svc: Service;
  let relay: NewApiRelay;
  let grid: CompatTaskJson;

  before(async () => {
    svc = await startService({ speed: 300, settings: { secret: KEY, bannedWords: ['forbiddenword'] } });
    relay = new NewApiRelay(svc.app.url, KEY);
    grid = await relay.poll(String((await relay.accepted('imagine', { prompt: 'a quiet harbour' })).result));
  });
  after(async () => {
    await svc.close();
  });

  const submit = async (path: string, body: unknown) => {
    const res = await mjCall(svc.app.url, path, body, auth);
    assert.equal(res.status, 200, 'submit answers are HTTP 200');
    return res.body as SubmitResponse;
  };

  test('a banned word → code 24 naming it', async () => {
    const r = await submit('/mj/submit/imagine', { prompt: 'a ForbiddenWord in the sky' });
    assert.equal(r.code, 24);
    assert.equal(r.properties.bannedWord, 'forbiddenword');
    assert.equal(r.properties.promptEn, 'a ForbiddenWord in the sky');
    assert.equal(r.result, null);
  });

  test('an unknown parent → code 3', async () => {
    const r = await submit('/mj/submit/action', {
      taskId: 1234567890123456,
      customId: grid.buttons[0]?.customId,
    });
    assert.equal(r.code, 3, JSON.stringify(r));
    assert.match(r.description, /1234567890123456 not found/);
  });

  test('an invalid body → code 4 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /^prompt is required$/],
      [{ prompt: '   ' }, /^prompt is required$/],
      [{ prompt: 42 }, /^prompt must be a string$/],
      [{ prompt: 'x', base64Array: ['data:image/png;base64,AAAA', 'nope'] }, /^base64Array\[1\] /],
      [{ prompt: 'x', botType: 'DALL_E' }, /^botType must be MID_JOURNEY or NIJI_JOURNEY$/],
      [{ prompt: 'x', notifyHook: 'ftp://x' }, /^notifyHook /],
      ['{not json', /invalid JSON/],
      [[1, 2], /body must be a JSON object/],
      [{ prompt: 'x', accountFilter: { a: { b: { c: { d: 1 } } } } }, /^accountFilter is nested too deep$/],
      [{ prompt: 'x', state: 'é'.repeat(30_000) }, /^state is larger than/],
    ];
    for (const [body, want] of cases) {
      const r = await submit('/mj/submit/imagine', body);
      assert.equal(r.code, 4, JSON.stringify(body));
      assert.match(r.description, want);
    }
    const action = await submit('/mj/submit/action', { taskId: grid.id });
    assert.equal(action.code, 4);
    assert.equal(action.description, 'customId is required');
    const blend = await submit('/mj/submit/blend', { base64Array: ['data:image/png;base64,AAAA'] });
    assert.equal(blend.description, 'base64Array must have 2 to 5 items');
    const change = await submit('/mj/submit/change', { taskId: grid.id, action: 'UPSCALE', index: 9 });
    assert.equal(change.code, 4);
    assert.match(change.description, /^index /);
  });

  test('a missing or wrong secret → HTTP 401 with code 401; raw and Bearer Authorization work', async () => {
    const wrong: Record<string, string>[] = [
      {},
      { 'mj-api-secret': 'wrong' },
      { authorization: 'Bearer wrong' },
    ];
    for (const headers of wrong) {
      const res = await mjCall(svc.app.url, '/mj/task/list-by-condition', { ids: [] }, headers);
      assert.equal(res.status, 401);
      const body = res.body as { code: number; description: string };
      assert.equal(body.code, 401);
      assert.ok(body.description.length > 0);
    }
    for (const headers of [{ authorization: KEY }, { authorization: `Bearer ${KEY}` }]) {
      const res = await mjCall(svc.app.url, `/mj/task/${grid.id}/fetch`, undefined, headers);
      assert.equal(res.status, 200);
      assert.equal((res.body as CompatTaskJson).id, grid.id);
    }
  });

  test('edits, retexture and face swap → code 9: not possible through Discord', async () => {
    for (const path of ['/mj/submit/edits', '/mj/submit/retexture', '/mj/insight-face/swap']) {
      const r = await submit(path, { prompt: 'x', image: 'https://example.com/a.png' });
      assert.equal(r.code, 9);
      assert.match(r.description, /cannot be done through Discord/);
    }
  });

  test('unknown task fetch → HTTP 404 with code 3; unknown route 404; wrong method 405', async () => {
    const res = await mjCall(svc.app.url, '/mj/task/1234567890123456/fetch', undefined, auth);
    assert.equal(res.status, 404);
    assert.equal((res.body as SubmitResponse).code, 3);
    assert.equal((await mjCall(svc.app.url, '/mj/submit/nothing', {}, auth)).status, 404);
    assert.equal((await mjCall(svc.app.url, '/mj/submit/imagine', undefined, auth)).status, 405);
  });

  test('a task made on /mj is fetchable on /task/fetch in seed form, and the other way round', async () => {
    const seed = await svc.call('/task/fetch?taskId=' + grid.id, undefined, { headers: auth });
    assert.equal(seed.status, 200);
    const t = seed.body.data as Task;
    assert.equal(t.id, grid.id);
    assert.equal(t.status, 'FINISHED');
    assert.equal(t.finishTime, Math.floor((grid.finishTime ?? 0) / 1000), 'seconds on the seed API');
    assert.ok(Array.isArray(t.buttons[0]), 'seed buttons are rows');

    const made = await svc.call('/image/imagine', { prompt: 'made on the seed API' }, { headers: auth });
    const id = made.body.taskId as string;
    assert.match(id, /^\d{19}$/, 'seed tasks keep 19 digits');
    let c: CompatTaskJson;
    do {
      await new Promise((r) => setTimeout(r, 50));
      c = (await mjCall(svc.app.url, `/mj/task/${id}/fetch`, undefined, auth)).body as CompatTaskJson;
    } while (c.progress !== '100%');
    assert.equal(c.id, id);
    assert.equal(c.status, 'SUCCESS');
    assert.equal(c.progress, '100%');
    assert.ok(c.submitTime && c.submitTime > 1e12, 'ms on the compat API');
    assert.equal(typeof c.buttons[0]?.customId, 'string');
  });

  test('simple-change "<id> U3" and "<id> R" press the parent\'s buttons; list-by-ids is list-by-condition', async () => {
    const u3 = await submit('/mj/submit/simple-change', { content: `${grid.id} U3` });
    assert.equal(u3.code === 1 || u3.code === 22, true, JSON.stringify(u3));
    const reroll = await submit('/mj/submit/simple-change', { content: ` ${grid.id}   r ` });
    assert.equal(reroll.code === 1 || reroll.code === 22, true, JSON.stringify(reroll));
    const [up, again] = await Promise.all([relay.poll(String(u3.result)), relay.poll(String(reroll.result))]);
    assert.equal(up.action, 'UPSCALE');
    assert.equal(
      up.customId,
      grid.buttons.find((b) => b.customId.startsWith('MJ::JOB::upsample::3::'))?.customId,
    );
    assert.equal(again.action, 'REROLL');
    assert.equal(again.status, 'SUCCESS', again.failReason ?? '');
    const none = await submit('/mj/submit/simple-change', { content: `${grid.id} V5` });
    assert.equal(none.code, 4);
    assert.match(none.description, /^content must be "<taskId> U1..U4\|V1..V4\|R"$/);
    assert.equal((await submit('/mj/submit/simple-change', { content: '1234567890123456 U1' })).code, 3);
    const byIds = await mjCall(svc.app.url, '/mj/task/list-by-ids', { ids: [up.id, 7, again.id] }, auth);
    assert.deepEqual(
      (byIds.body as CompatTaskJson[]).map((t) => t.id),
      [up.id, again.id],
    );
  });

  test('a MODAL task holds no slot and no queue place; cancel drops it as CANCEL', async () => {
    const upscale = await relay.poll(
      String(
        (await relay.accepted('action', { taskId: grid.id, customId: grid.buttons[0]?.customId })).result,
      ),
    );
    const zoom = upscale.buttons.find((b) => b.customId.startsWith('MJ::CustomZoom::'));
    const before = svc.app.engine.health();
    const r = await submit('/mj/submit/action', { taskId: upscale.id, customId: zoom?.customId });
    assert.equal(r.code, 21);
    const health = svc.app.engine.health();
    assert.equal(health.queue, before.queue);
    assert.equal(health.accounts[0]?.running, before.accounts[0]?.running);
    const cancel = await submit(`/mj/task/${r.result}/cancel`, {});
    assert.equal(cancel.code, 1, JSON.stringify(cancel));
    const [t] = (await mjCall(svc.app.url, '/mj/task/list-by-condition', { ids: [r.result] }, auth))
      .body as CompatTaskJson[];
    assert.equal(t?.status, 'CANCEL');
    assert.equal(t?.progress, '100%');
    assert.ok(t?.failReason);
    const late = await submit('/mj/submit/modal', { taskId: r.result, prompt: 'x --zoom 2' });
    assert.equal(late.code, 4, 'a cancelled form cannot be submitted');
  });

  test('custom zoom without --zoom 1..2 in the modal prompt → code 4, the task still waits', async () => {
    const list = (await mjCall(svc.app.url, '/mj/task/list', undefined, auth)).body as CompatTaskJson[];
    assert.equal(list[0]?.action, 'ZOOM', 'newest first: the cancelled form');
    const upscale = list.find((t) => t.action === 'UPSCALE');
    const zoom = upscale?.buttons.find((b) => b.customId.startsWith('MJ::CustomZoom::'));
    const r = await submit('/mj/submit/action', { taskId: upscale?.id, customId: zoom?.customId });
    const bad = await submit('/mj/submit/modal', { taskId: r.result, prompt: 'a quiet harbour --zoom 5' });
    assert.equal(bad.code, 4);
    assert.match(bad.description, /--zoom/);
    const [t] = (await mjCall(svc.app.url, '/mj/task/list-by-condition', { ids: [r.result] }, auth))
      .body as CompatTaskJson[];
    assert.equal(t?.status, 'MODAL');
  });

  test('/mj/account/list shows the accounts without a token', async () => {
    const res = await mjCall(svc.app.url, '/mj/account/list', undefined, auth);
    assert.equal(res.status, 200);
    const list = res.body as { id: string; status: string }[];
    assert.equal(list.length, 1);
    assert.equal(list[0]?.status, 'ready');
    const text = JSON.stringify(res.body);
    for (const a of svc.sandbox.accounts) assert.ok(!text.includes(a.token));
    assert.equal((await mjCall(svc.app.url, '/mj/account/list', undefined, {})).status, 401);
  });
});

describe('/mj queue limits', () => {
  test('a full queue → code 23; a queued job → code 22 with its place', async () => {
    const svc = await startService({ speed: 5, settings: { maxQueue: 1 } });
    try {
      const codes: number[] = [];
      let queued: SubmitResponse | undefined;
      for (let i = 0; i < 5; i++) {
        const res = await mjCall(svc.app.url, '/mj/submit/imagine', { prompt: `job ${i}` }, {});
        const r = res.body as SubmitResponse;
        codes.push(r.code);
        if (r.code === 22) queued = r;
      }
      // Three slots on the account, one queue place, then the queue is full.
      assert.deepEqual(codes, [1, 1, 1, 22, 23]);
      assert.equal(queued?.properties.numberOfQueues, 1);
    } finally {
      await svc.close();
    }
  });
});
