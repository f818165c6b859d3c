import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ChildService, startChild } from '../helpers/child-service.ts';
import { rawRequest } from '../helpers/raw-http.ts';

const SECRET = 'hostile-secret-1';
const auth = { 'mj-api-secret': SECRET, 'content-type': 'application/json' };

function nested(levels: number, leaf = '1'): string {
  return '{"a":'.repeat(levels) + leaf + '}'.repeat(levels);
}

describe('hostile requests against the real process: 4xx with a sentence, and it stays up', () => {
  let svc: ChildService;
  let port: number;
  before(async () => {
    svc = await startChild({ settings: { secret: SECRET } });
    port = Number(new URL(svc.base).port);
  });
  after(async () => {
    await svc.stop();
  });

  const post = async (path: string, body: string) => {
    const res = await fetch(svc.base + path, { method: 'POST', headers: auth, body });
    return { status: res.status, body: (await res.json()) as { code: number; msg: string; taskId?: string } };
  };
  const alive = async () => {
    assert.equal(svc.exitCode(), null, 'the process is still running');
    assert.equal((await fetch(`${svc.base}/health`)).status, 200);
  };

  test('data nested 2,000 levels deep: 400 naming data, the process stays up and keeps working', async () => {
    const res = await post('/image/imagine', `{"prompt":"a fox","data":${nested(2000)}}`);
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { code: 400, msg: 'data is nested deeper than 32 levels', data: null });
    const arrays = await post(
      '/image/imagine',
      `{"prompt":"a fox","data":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    );
    assert.equal(arrays.body.msg, 'data is nested deeper than 32 levels');
    const other = await post('/image/imagine', `{"prompt":"a fox","extra":${nested(100)}}`);
    assert.equal(other.status, 400);
    assert.equal(other.body.msg, 'extra is nested too deep');
    await alive();
    const ok = await post('/image/imagine', JSON.stringify({ prompt: 'still here', data: { deep: 'no' } }));
    assert.equal(ok.status, 200);
    const task = await fetch(`${svc.base}/task/fetch?taskId=${ok.body.taskId}`, { headers: auth });
    assert.deepEqual(((await task.json()) as { data: { data: unknown } }).data.data, { deep: 'no' });
  });

  test('data at the limits: 32 levels and 64 KiB pass, one more level or byte is a 400 naming data', async () => {
    const deepest = JSON.parse(nested(32, '"leaf"')) as unknown;
    const okDeep = await post('/image/imagine', JSON.stringify({ prompt: 'deep', data: deepest }));
    assert.equal(okDeep.status, 200, JSON.stringify(okDeep.body));
    const tooDeep = await post('/image/imagine', JSON.stringify({ prompt: 'deep', data: [deepest] }));
    assert.equal(tooDeep.body.msg, 'data is nested deeper than 32 levels');
    // "x...x" is its length + 2 quote bytes of JSON.
    const okBig = await post(
      '/image/imagine',
      JSON.stringify({ prompt: 'big', data: 'x'.repeat(65536 - 2) }),
    );
    assert.equal(okBig.status, 200, JSON.stringify(okBig.body));
    const tooBig = await post(
      '/image/imagine',
      JSON.stringify({ prompt: 'big', data: 'x'.repeat(65536 - 1) }),
    );
    assert.equal(tooBig.status, 400);
    assert.equal(tooBig.body.msg, 'data is larger than 64 KiB as JSON');
    // Multi-byte characters count as the bytes they take.
    const wide = await post(
      '/image/imagine',
      JSON.stringify({ prompt: 'big', data: { k: 'é'.repeat(40000) } }),
    );
    assert.equal(wide.body.msg, 'data is larger than 64 KiB as JSON');
    const png = `data:image/png;base64,${Buffer.from('not really a png').toString('base64')}`;
    const shapes: Array<[string, Record<string, unknown>]> = [
      ['/image/action', { taskId: '1795592602140274574', customId: 'MJ::JOB::upsample::1::x' }],
      ['/image/describe', { images: [png] }],
      ['/image/blend', { images: [png, png] }],
    ];
    for (const [path, shape] of shapes) {
      const res = await post(path, JSON.stringify({ ...shape, data: 'y'.repeat(70000) }));
      assert.equal(res.status, 400, path);
      assert.equal(res.body.msg, 'data is larger than 64 KiB as JSON', path);
    }
    await alive();
  });

  test('absolute-form targets and odd query values answer 4xx JSON, never 500', async () => {
    const trace = await rawRequest(port, [
      `TRACE http://1.2.3.4.5/task/list HTTP/1.1\r\nHost: x\r\nmj-api-secret: ${SECRET}\r\nConnection: close\r\n\r\n`,
    ]);
    assert.equal(trace.status, 405, trace.text);
    assert.deepEqual(JSON.parse(trace.body), {
      code: 405,
      msg: 'TRACE is not allowed on /task/list',
      data: null,
    });
    const head = await rawRequest(port, [
      `HEAD http://1.2.3.4.5/task/list HTTP/1.1\r\nHost: x\r\nmj-api-secret: ${SECRET}\r\nConnection: close\r\n\r\n`,
    ]);
    assert.equal(head.status, 405, head.text);
    assert.equal(head.headers['content-type'], 'application/json; charset=utf-8');
    const absolute = await rawRequest(port, [
      'GET http://[::1]:99999/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ]);
    assert.equal(absolute.status, 200, absolute.text);
    for (const limit of ['%2B5', '+5', '5e1', '0x5', '%205', '-1', '1.0']) {
      const res = await fetch(`${svc.base}/task/list?limit=${limit}`, { headers: auth });
      assert.equal(res.status, 400, limit);
      assert.deepEqual(await res.json(), {
        code: 400,
        msg: 'limit must be an integer from 1 to 100',
        data: null,
      });
    }
    await alive();
  });

  test('CR, LF and NUL from the request never reach a msg raw', async () => {
    const fetchBad = await fetch(`${svc.base}/task/fetch?taskId=1%0D%0AX-Injected:%201%00`, {
      headers: auth,
    });
    const body = (await fetchBad.json()) as { msg: string };
    assert.equal(fetchBad.status, 400);
    assert.equal(body.msg, 'taskId must be a task id (digits)');
    const route = await fetch(`${svc.base}/no%0D%0Aroute%00`, { headers: auth });
    const msg = ((await route.json()) as { msg: string }).msg;
    assert.equal(route.status, 404);
    assert.doesNotMatch(msg, /[\r\n\0]/);
    await alive();
  });

  test('without the secret every route and method but GET /health is 401, and lists nothing', async () => {
    const paths = [
      '/image/imagine',
      '/image/action',
      '/task/list',
      '/task/fetch',
      '/task/cancel',
      '/metrics',
      '/nothing',
      '/health',
    ];
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        if (path === '/health' && method === 'GET') continue;
        const res = await fetch(svc.base + path, { method });
        assert.equal(res.status, 401, `${method} ${path}`);
        assert.equal(res.headers.get('allow'), null, `${method} ${path}`);
        const json = (await res.json()) as { code: number; msg: string };
        assert.deepEqual(json, { code: 401, msg: 'a valid mj-api-secret header is required', data: null });
      }
    }
    const trace = await rawRequest(port, [
      'TRACE /task/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ]);
    assert.equal(trace.status, 401);
    assert.equal((await fetch(`${svc.base}/health`)).status, 200);
    const head = await fetch(`${svc.base}/health`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });
});
