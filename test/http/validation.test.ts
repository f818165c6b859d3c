import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { type Service, startService } from '../helpers/service.ts';

const PNG = `data:image/png;base64,${Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]).toString('base64')}`;

/** [route, body, status, message (exact or pattern)] */
const TABLE: [string, unknown, number, string | RegExp][] = [
  ['/image/imagine', {}, 400, 'prompt is required'],
  ['/image/imagine', { prompt: '' }, 400, 'prompt is required'],
  ['/image/imagine', { prompt: '   \n\t ' }, 400, 'prompt is required'],
  ['/image/imagine', { prompt: null }, 400, 'prompt is required'],
  ['/image/imagine', { prompt: 42 }, 400, 'prompt must be a string'],
  ['/image/imagine', { prompt: ['a'] }, 400, 'prompt must be a string'],
  ['/image/imagine', { prompt: { a: 1 } }, 400, 'prompt must be a string'],
  ['/image/imagine', { prompt: 'x'.repeat(8193) }, 400, 'prompt is longer than 8192 characters'],
  ['/image/imagine', { prompt: 'ok', images: 'http://x.com/a.png' }, 400, 'images must be an array'],
  ['/image/imagine', { prompt: 'ok', images: [1] }, 400, 'images[0] is not a valid http(s) URL or data URI'],
  [
    '/image/imagine',
    { prompt: 'ok', images: [PNG, 'ftp://x.com/a.png'] },
    400,
    'images[1] is not a valid http(s) URL or data URI',
  ],
  [
    '/image/imagine',
    { prompt: 'ok', images: ['javascript:alert(1)'] },
    400,
    'images[0] is not a valid http(s) URL or data URI',
  ],
  [
    '/image/imagine',
    { prompt: 'ok', images: ['data:text/plain;base64,aGk='] },
    400,
    'images[0] is not a valid http(s) URL or data URI',
  ],
  ['/image/imagine', { prompt: 'ok', images: Array(6).fill(PNG) }, 400, 'images must have at most 5 items'],
  ['/image/imagine', { prompt: 'ok', notifyUrl: 'not a url' }, 400, 'notifyUrl is not a valid http(s) URL'],
  [
    '/image/imagine',
    { prompt: 'ok', notifyUrl: 'file:///etc/passwd' },
    400,
    'notifyUrl is not a valid http(s) URL',
  ],
  ['/image/imagine', { prompt: 'ok', notifyUrl: 5 }, 400, 'notifyUrl is not a valid http(s) URL'],
  ['/image/imagine', [], 400, 'body must be a JSON object'],
  ['/image/imagine', '"just a string"', 400, 'body must be a JSON object'],
  ['/image/imagine', 12, 400, 'body must be a JSON object'],
  ['/image/imagine', null, 400, 'body must be a JSON object'],
  ['/image/action', {}, 400, 'taskId is required'],
  ['/image/action', { taskId: 5, customId: 'x' }, 400, 'taskId must be a task id (digits)'],
  ['/image/action', { taskId: '../etc', customId: 'x' }, 400, 'taskId must be a task id (digits)'],
  ['/image/action', { taskId: '1795592602140274574' }, 400, 'customId is required'],
  ['/image/action', { taskId: '1795592602140274574', customId: 7 }, 400, /^customId must be a string/],
  [
    '/image/action',
    { taskId: '1795592602140274574', customId: 'x'.repeat(300) },
    400,
    /^customId must be a string/,
  ],
  [
    '/image/action',
    { taskId: '1795592602140274574', customId: 'MJ::JOB::upsample::1::x', mask: 5 },
    400,
    'mask must be a base64 PNG',
  ],
  [
    '/image/action',
    { taskId: '1795592602140274574', customId: 'MJ::JOB::upsample::1::x', prompt: 5 },
    400,
    'prompt must be a string',
  ],
  ['/image/describe', {}, 400, 'images is required'],
  ['/image/describe', { images: [] }, 400, 'images must have exactly 1 item'],
  ['/image/describe', { images: [PNG, PNG] }, 400, 'images must have exactly 1 item'],
  ['/image/describe', { images: ['nope'] }, 400, 'images[0] is not a valid http(s) URL or data URI'],
  ['/image/blend', { images: [PNG] }, 400, 'images must have 2 to 5 items'],
  ['/image/blend', { images: Array(6).fill(PNG) }, 400, 'images must have 2 to 5 items'],
  [
    '/image/blend',
    { images: [PNG, PNG], dimensions: 'WIDE' },
    400,
    'dimensions must be one of PORTRAIT, SQUARE, LANDSCAPE',
  ],
  [
    '/image/blend',
    { images: [PNG, PNG], dimensions: 3 },
    400,
    'dimensions must be one of PORTRAIT, SQUARE, LANDSCAPE',
  ],
  ['/image/blend', { images: [PNG, 'x'] }, 400, 'images[1] is not a valid http(s) URL or data URI'],
  ['/task/cancel', {}, 400, 'taskId is required'],
  ['/task/cancel', { taskId: '1795592602140274574' }, 404, 'task 1795592602140274574 not found'],
  ['/task/fetch', { taskId: '1795592602140274574' }, 404, 'task 1795592602140274574 not found'],
  ['/task/fetch', {}, 400, 'taskId is required'],
];

describe('the API answers bad input with the documented error and creates nothing', () => {
  let svc: Service;
  before(async () => {
    svc = await startService({ speed: 300, settings: { secret: 'top-secret-1' } });
  });
  after(async () => {
    await svc.close();
  });
  const auth = { headers: { 'mj-api-secret': 'top-secret-1' } };

  async function taskCount(): Promise<number> {
    return ((await svc.call('/task/list?limit=100', undefined, auth)).body.data as unknown[]).length;
  }

  test('a table of bad bodies: exact status, one sentence naming the field, no task created', async () => {
    const before = await taskCount();
    for (const [route, body, status, msg] of TABLE) {
      const res = await svc.call(route, body === null ? 'null' : body, auth);
      const where = `${route} ${JSON.stringify(body).slice(0, 80)}`;
      assert.equal(res.status, status, `${where} → ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, status, where);
      if (typeof msg === 'string') assert.equal(res.body.msg, msg, where);
      else assert.match(res.body.msg, msg, where);
      assert.equal(res.body.data, null, where);
    }
    assert.equal(await taskCount(), before);
  });

  test('protocol errors: 404, 405 with Allow, 415, invalid JSON, 413', async () => {
    const unknown = await svc.call('/image/nothing', {}, auth);
    assert.equal(unknown.status, 404);
    const wrong = await fetch(`${svc.app.url}/image/imagine`, { headers: auth.headers });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.equal(((await wrong.json()) as { code: number }).code, 405);
    const form = await svc.call('/image/imagine', 'prompt=x', {
      headers: { ...auth.headers, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(form.status, 415);
    const broken = await svc.call('/image/imagine', '{"prompt": "x",', auth);
    assert.equal(broken.status, 400);
    assert.equal(broken.body.msg, 'invalid JSON');
    const huge = await fetch(`${svc.app.url}/image/imagine`, {
      method: 'POST',
      headers: {
        ...auth.headers,
        'content-type': 'application/json',
        'content-length': String(65 * 1024 * 1024),
      },
      body: '{}',
      duplex: 'half',
    } as RequestInit).catch(() => undefined);
    assert.ok(huge === undefined || huge.status === 413, `got ${huge?.status}`);
    const list = await svc.call('/task/list?limit=500', undefined, auth);
    assert.equal(list.status, 400);
    assert.equal(list.body.msg, 'limit must be an integer from 1 to 100');
    const status = await svc.call('/task/list?status=DONE', undefined, auth);
    assert.equal(status.status, 400);
  });

  test('the secret: missing or wrong → 401, header or Bearer → ok, /health open, compared whole', async () => {
    assert.equal((await svc.call('/task/list')).status, 401);
    assert.equal(
      (await svc.call('/task/list', undefined, { headers: { 'mj-api-secret': 'top-secret' } })).status,
      401,
    );
    assert.equal(
      (await svc.call('/task/list', undefined, { headers: { 'mj-api-secret': 'top-secret-12' } })).status,
      401,
    );
    assert.equal(
      (await svc.call('/task/list', undefined, { headers: { authorization: 'Bearer top-secret-1' } })).status,
      200,
    );
    assert.equal((await svc.call('/task/list', undefined, auth)).status, 200);
    assert.equal((await svc.call('/image/imagine', { prompt: 'x' })).status, 401);
    assert.equal((await svc.call('/metrics')).status, 401);
    const health = await svc.call('/health');
    assert.equal(health.status, 200);
    assert.ok(!JSON.stringify(health.body).includes('top-secret-1'));
  });

  test('random JSON thrown at every route never gets a 500 and never stops the server', async () => {
    const routes = [
      '/image/imagine',
      '/image/action',
      '/image/describe',
      '/image/blend',
      '/task/fetch',
      '/task/cancel',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(
          fc.jsonValue(),
          fc.string(),
          fc.object({ values: [fc.string(), fc.integer(), fc.constant(null)] }),
        ),
        async (route, body) => {
          const text = typeof body === 'string' ? body : JSON.stringify(body);
          const res = await fetch(`${svc.app.url}${route}`, {
            method: 'POST',
            headers: { ...auth.headers, 'content-type': 'application/json' },
            body: text ?? 'null',
          });
          const json = (await res.json()) as { code: number; msg: string };
          return (
            res.status !== 500 &&
            json.code === (res.status === 200 ? 0 : res.status) &&
            typeof json.msg === 'string'
          );
        },
      ),
      { numRuns: 300 },
    );
    assert.equal((await svc.call('/health')).status, 200);
  });
});
