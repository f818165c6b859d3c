import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decideAccess, isLocalRequest, sameOriginAction } from '../../src/console/access.ts';
import { Sessions, SignInThrottle } from '../../src/console/session.ts';
import { type Service, startService } from '../helpers/service.ts';

test('the access decision: a secret needs a session; without one, loopback or console.open act', () => {
  const cases: [Parameters<typeof decideAccess>[0], string][] = [
    [{ secretSet: true, signedIn: false, local: true, open: true }, 'none'],
    [{ secretSet: true, signedIn: true, local: false, open: false }, 'full'],
    [{ secretSet: false, signedIn: false, local: true, open: false }, 'full'],
    [{ secretSet: false, signedIn: false, local: false, open: false }, 'read'],
    [{ secretSet: false, signedIn: false, local: false, open: true }, 'full'],
  ];
  for (const [input, want] of cases) assert.equal(decideAccess(input), want, JSON.stringify(input));
});

test('this machine: a loopback peer that addressed a loopback name (no DNS rebinding)', () => {
  assert.equal(isLocalRequest('127.0.0.1', '127.0.0.1:8686'), true);
  assert.equal(isLocalRequest('::ffff:127.0.0.1', 'localhost:8686'), true);
  assert.equal(isLocalRequest('::1', '[::1]:8686'), true);
  assert.equal(isLocalRequest('192.168.1.20', '192.168.1.5:8686'), false);
  assert.equal(isLocalRequest('127.0.0.1', 'evil.example:8686'), false);
  assert.equal(isLocalRequest('127.0.0.1', undefined), false);
  assert.equal(isLocalRequest(undefined, 'localhost'), false);
});

test('an action must carry the console header and come from this origin', () => {
  const host = '127.0.0.1:8686';
  assert.equal(sameOriginAction({ 'x-mjb-console': '1', host }), true);
  assert.equal(sameOriginAction({ 'x-mjb-console': '1', host, origin: 'http://127.0.0.1:8686' }), true);
  assert.equal(sameOriginAction({ host, origin: 'http://127.0.0.1:8686' }), false);
  assert.equal(sameOriginAction({ 'x-mjb-console': '1', host, origin: 'https://evil.example' }), false);
  assert.equal(sameOriginAction({ 'x-mjb-console': '1', host, origin: 'null' }), false);
  assert.equal(sameOriginAction({ 'x-mjb-console': '1', host, 'sec-fetch-site': 'cross-site' }), false);
});

test('sessions: signed, expiring, revocable, and tied to the secret', () => {
  let now = 1_000_000;
  const s = new Sessions('one', 60, () => now);
  const v = s.issue();
  assert.equal(s.valid(v), true);
  assert.equal(new Sessions('two', 60, () => now).valid(v), false);
  assert.equal(s.valid(`${v.slice(0, -2)}xx`), false);
  const [, id, mac] = v.split('.');
  assert.equal(s.valid(`9999999999.${id}.${mac}`), false, 'a longer expiry breaks the signature');
  assert.equal(s.valid('garbage'), false);
  assert.match(s.cookie(v, false), /HttpOnly; SameSite=Strict/);
  now += 61;
  assert.equal(s.valid(v), false, 'expired');
  now -= 61;
  s.revoke(v);
  assert.equal(s.valid(v), false, 'signed out');
});

test('sign-in throttle: ten wrong secrets a minute from one address, then refused', () => {
  const t = new SignInThrottle(3, 1000);
  for (let i = 0; i < 3; i++) t.failed('a', 0);
  assert.equal(t.blocked('a', 10), true);
  assert.equal(t.blocked('b', 10), false);
  assert.equal(t.blocked('a', 1500), false);
});

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mjb-console': '1', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    cookie: res.headers.get('set-cookie'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

describe('with a secret', () => {
  let s: Service;
  before(async () => {
    s = await startService({ settings: { secret: 's3cret' } });
  });
  after(() => s.close());

  test('nothing but the sign-in answers without a session; a wrong secret sets no cookie', async () => {
    assert.equal((await fetch(`${s.app.url}/console/api/overview`)).status, 401);
    assert.equal((await fetch(`${s.app.url}/console/api/events`)).status, 401);
    const session = (await (await fetch(`${s.app.url}/console/api/session`)).json()) as {
      data: { access: string };
    };
    assert.equal(session.data.access, 'none');
    const wrong = await post(s.app.url, '/console/api/signin', { secret: 'nope' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.msg, 'wrong secret');
    assert.equal(wrong.cookie, null);
    // The API's own secret header is no console session.
    const byHeader = await post(
      s.app.url,
      '/console/api/imagine',
      { prompt: 'x' },
      { 'mj-api-secret': 's3cret' },
    );
    assert.equal(byHeader.status, 401);
  });

  test('the right secret gives a session cookie that acts; signing out ends it', async () => {
    const ok = await post(s.app.url, '/console/api/signin', { secret: 's3cret' });
    assert.equal(ok.status, 200);
    assert.match(ok.cookie ?? '', /^mjb_console=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
    assert.ok(!ok.cookie?.includes('s3cret'));
    const cookie = ok.cookie!.split(';')[0]!;
    const made = await post(s.app.url, '/console/api/imagine', { prompt: 'a cat' }, { cookie });
    assert.equal(made.status, 200);
    const task = await s.app.engine.get(made.body.taskId as string);
    assert.equal(task?.prompt, 'a cat');
    // A foreign page cannot make the browser act: no custom header, or another origin.
    const noHeader = await fetch(`${s.app.url}/console/api/imagine`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: '{"prompt":"x"}',
    });
    assert.equal(noHeader.status, 403);
    const foreign = await post(
      s.app.url,
      '/console/api/imagine',
      { prompt: 'x' },
      { cookie, origin: 'https://evil.example' },
    );
    assert.equal(foreign.status, 403);
    const out = await post(s.app.url, '/console/api/signout', {}, { cookie });
    assert.match(out.cookie ?? '', /Max-Age=0/);
    assert.equal((await fetch(`${s.app.url}/console/api/overview`, { headers: { cookie } })).status, 401);
  });

  test('bad input gets a readable 400, never a crash', async () => {
    const { cookie } = await post(s.app.url, '/console/api/signin', { secret: 's3cret' });
    const c = cookie!.split(';')[0]!;
    const cases: [string, unknown, string][] = [
      ['imagine', { prompt: '' }, 'prompt is required'],
      ['imagine', { prompt: 'x', images: ['ftp://x'] }, 'images[0] is not a valid http(s) URL or data URI'],
      ['blend', { images: ['https://a.example/1.png'] }, 'images must have 2 to 5 items'],
      ['describe', { images: [] }, 'images must have exactly 1 item'],
      ['action', { taskId: 'abc', customId: 'x' }, 'taskId must be a task id (digits)'],
      ['imagine', [], 'body must be a JSON object'],
    ];
    for (const [path, body, msg] of cases) {
      const r = await post(s.app.url, `/console/api/${path}`, body, { cookie: c });
      assert.deepEqual([r.status, r.body.msg], [400, msg], path);
    }
    const broken = await fetch(`${s.app.url}/console/api/imagine`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-mjb-console': '1', cookie: c },
      body: '{"prompt":',
    });
    assert.equal(broken.status, 400);
    const unknown = await post(s.app.url, '/console/api/task/1', {}, { cookie: c });
    assert.equal(unknown.status, 404);
    const missing = await fetch(`${s.app.url}/console/api/task/123`, { headers: { cookie: c } });
    assert.equal(missing.status, 404);
  });
});

describe('without a secret, from this machine', () => {
  let s: Service;
  before(async () => {
    s = await startService();
  });
  after(() => s.close());

  test('full access on loopback; the page and its files are served at / with a strict policy', async () => {
    const session = (await (await fetch(`${s.app.url}/console/api/session`)).json()) as {
      data: { access: string };
    };
    assert.equal(session.data.access, 'full');
    const made = await post(s.app.url, '/console/api/imagine', { prompt: 'a dog' });
    assert.equal(made.status, 200);
    const page = await fetch(`${s.app.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await page.text(), /Dashboard/);
    const js = await fetch(`${s.app.url}/console/assets/app.js`);
    assert.equal(js.status, 200);
    const etag = js.headers.get('etag')!;
    assert.equal(
      (await fetch(`${s.app.url}/console/assets/app.js`, { headers: { 'if-none-match': etag } })).status,
      304,
    );
    assert.equal((await fetch(`${s.app.url}/console/assets/../config.ts`)).status, 404);
    // The HTTP API is untouched beside it.
    assert.equal((await s.call('/task/list')).status, 200);
  });

  test('the same machine under a foreign host name (DNS rebinding) only reads', async () => {
    const u = new URL(s.app.url);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: '/console/api/imagine',
          method: 'POST',
          headers: { host: 'rebound.example', 'content-type': 'application/json', 'x-mjb-console': '1' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{"prompt":"x"}');
    });
    assert.equal(status, 403);
  });
});

test('an API prefix named "console" keeps its routes beside the console', async () => {
  const s = await startService({ settings: { apiPrefix: 'console' } });
  try {
    assert.equal((await s.call('/console/task/list')).status, 200);
    const id = await s.submit('/console/image/imagine', { prompt: 'a prefixed fox' });
    assert.equal((await s.call(`/console/task/fetch?taskId=${id}`)).body.code, 0);
    const page = await fetch(`${s.app.url}/`);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const task = await fetch(`${s.app.url}/console/task/${id}`);
    assert.match(task.headers.get('content-type') ?? '', /text\/html/);
  } finally {
    await s.close();
  }
});

describe('config', () => {
  test('console.open is validated like every key', async () => {
    const { parseConfig, ConfigError } = await import('../../src/config.ts');
    assert.equal(parseConfig({}).console.open, false);
    assert.equal(parseConfig({ console: { open: true } }).console.open, true);
    assert.throws(
      () => parseConfig({ console: { open: 'yes' } }),
      (e: unknown) => e instanceof ConfigError && /console\.open/.test(e.message),
    );
    assert.throws(
      () => parseConfig({ console: { opne: true } }),
      (e: unknown) => e instanceof ConfigError && /console\.opne: unknown key/.test(e.message),
    );
  });
});
