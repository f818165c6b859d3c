import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DiscordHttpError, DiscordNetworkError } from '../../src/discord/errors.ts';
import { RestClient } from '../../src/discord/rest.ts';
import { nonce } from '../../src/discord/snowflake.ts';
import { silentLogger } from '../../src/log.ts';
import type { FakeDiscord } from '../../src/sandbox/discord/api.ts';
import { BOT, CHANNEL, CMD, FOREIGN, GUILD, restClient, startWorld, UA, USER } from './helpers.ts';

const imagine = (version = CMD.version, channelId = CHANNEL) => ({
  type: 2,
  application_id: CMD.applicationId,
  guild_id: GUILD,
  channel_id: channelId,
  session_id: 'no-such-session',
  nonce: nonce(),
  data: {
    id: CMD.id,
    version,
    name: CMD.name,
    type: 1,
    options: [{ type: 3, name: 'prompt', value: 'a cat' }],
  },
});

describe('REST client against the simulated Discord', () => {
  let discord: FakeDiscord;
  let rest: RestClient;
  const seen: { method: string; route: string; status: number }[] = [];

  before(async () => {
    discord = await startWorld();
    rest = restClient(discord, { onResponse: (info) => seen.push(info) });
  });
  after(async () => {
    await discord.close();
  });

  test('an accepted interaction resolves to undefined (204) and reaches the bot', async () => {
    const got: string[] = [];
    discord.onInteraction((ix) => got.push(`${ix.type}:${ix.user.id}:${String(ix.data.name)}`));
    assert.equal(await rest.request('POST', '/interactions', { json: imagine() }), undefined);
    assert.deepEqual(got, [`2:${USER.id}:imagine`]);
    assert.deepEqual(seen.at(-1), { method: 'POST', route: '/interactions', status: 204 });
  });

  test('429 is waited out for retry_after and retried: the call succeeds', async () => {
    const before = discord.stats().restCalls;
    discord.faults.rateLimitNext(2, { retryAfterSec: 0.15 });
    const started = Date.now();
    assert.equal(await rest.request('POST', '/interactions', { json: imagine() }), undefined);
    assert.ok(Date.now() - started >= 300, 'waited 2 × 150 ms');
    assert.equal(discord.stats().restCalls - before, 3);
    assert.deepEqual(
      seen.slice(-3).map((s) => s.status),
      [429, 429, 204],
    );
  });

  test('a global 429 is waited out too', async () => {
    discord.faults.rateLimitNext(1, { retryAfterSec: 0.1, global: true, pathPart: '/messages' });
    const started = Date.now();
    const list = await rest.request<unknown[]>('GET', `/channels/${CHANNEL}/messages`, {
      query: { limit: 5 },
    });
    assert.ok(Array.isArray(list));
    assert.ok(Date.now() - started >= 100);
  });

  test('500 is retried and the call succeeds; a lasting 500 fails after maxRetries', async () => {
    discord.faults.serverErrorNext(2);
    assert.equal(await rest.request('POST', '/interactions', { json: imagine() }), undefined);
    const before = discord.stats().restCalls;
    discord.faults.serverErrorNext(4);
    const err = await rest.request('GET', '/users/@me').catch((e: unknown) => e);
    assert.ok(err instanceof DiscordHttpError);
    assert.equal(err.status, 500);
    assert.equal(discord.stats().restCalls - before, 4, 'one call and three retries');
    assert.ok(await rest.request('GET', '/users/@me'), 'the next call is served again');
  });

  test('an outdated command version is a DiscordHttpError that says so', async () => {
    discord.setCommandVersion(CMD.name, '1237876415471559999');
    try {
      const err = await rest.request('POST', '/interactions', { json: imagine() }).catch((e: unknown) => e);
      assert.ok(err instanceof DiscordHttpError);
      assert.equal(err.status, 400);
      assert.equal(err.code, 50035);
      assert.deepEqual(err.errorCodes, ['INTERACTION_APPLICATION_COMMAND_INVALID_VERSION']);
      assert.ok(err.isOutdatedCommand());
      assert.equal(
        err.message,
        'Invalid Form Body: This command is outdated, please try again in a few minutes',
      );
      assert.equal(
        await rest.request('POST', '/interactions', { json: imagine('1237876415471559999') }),
        undefined,
      );
    } finally {
      discord.setCommandVersion(CMD.name, CMD.version);
    }
    discord.faults.outdatedCommandNext(1);
    const injected = await rest
      .request('POST', '/interactions', { json: imagine() })
      .catch((e: unknown) => e);
    assert.ok(injected instanceof DiscordHttpError && injected.isOutdatedCommand());
  });

  test('a wrong token gets 401; the token is in no part of the error', async () => {
    const bad = restClient(discord, { token: 'secret-wrong-token-xyz' });
    const err = await bad.request('GET', `/channels/${CHANNEL}/messages`).catch((e: unknown) => e);
    assert.ok(err instanceof DiscordHttpError);
    assert.equal(err.status, 401);
    assert.equal(err.code, 0);
    assert.equal(err.message, '401: Unauthorized');
    assert.ok(!JSON.stringify({ ...err, m: err.message, s: err.stack }).includes('secret-wrong-token-xyz'));
    assert.equal(err.isOutdatedCommand(), false);
  });

  test('other refusals carry Discord status, code and message', async () => {
    const foreign = await rest
      .request('POST', '/interactions', { json: imagine(CMD.version, FOREIGN) })
      .catch((e: unknown) => e);
    assert.ok(foreign instanceof DiscordHttpError);
    assert.deepEqual([foreign.status, foreign.code, foreign.message], [403, 50001, 'Missing Access']);
    const nowhere = await rest.request('GET', '/nowhere').catch((e: unknown) => e);
    assert.ok(nowhere instanceof DiscordHttpError);
    assert.deepEqual([nowhere.status, nowhere.message, nowhere.route], [404, '404: Not Found', '/nowhere']);
  });

  test('requests of one client go one at a time, in the order they were made', async () => {
    discord.faults.rateLimitNext(1, { retryAfterSec: 0.05, pathPart: '/messages' });
    const posted = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        rest.request<{ id: string; content: string }>('POST', `/channels/${CHANNEL}/messages`, {
          json: { content: `n${i}` },
        }),
      ),
    );
    assert.deepEqual(
      posted.map((m) => m?.content),
      ['n0', 'n1', 'n2', 'n3', 'n4'],
    );
    const ids = posted.map((m) => BigInt(m?.id ?? '0'));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, 'created in order');
  });

  test('query parameters and the command index', async () => {
    const index = await rest.request<{
      application_commands: { id: string; version: string; name: string }[];
    }>('GET', `/guilds/${GUILD}/application-command-index`);
    assert.deepEqual(
      index?.application_commands.map((c) => [c.id, c.version, c.name]),
      [[CMD.id, CMD.version, CMD.name]],
    );
    for (let i = 0; i < 3; i++) discord.postMessage(CHANNEL, { author: BOT, content: `q${i}` });
    const two = await rest.request<{ content: string }[]>('GET', `/channels/${CHANNEL}/messages`, {
      query: { limit: 2 },
    });
    assert.deepEqual(
      two?.map((m) => m.content),
      ['q2', 'q1'],
    );
  });
});

describe('REST client against a scripted server', () => {
  let server: Server;
  let origin: string;
  const requests: IncomingMessage[] = [];
  let answer: (req: IncomingMessage, res: import('node:http').ServerResponse) => void = () => {};

  before(async () => {
    server = createServer((req, res) => {
      requests.push(req);
      req.resume();
      answer(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const client = (extra: Partial<ConstructorParameters<typeof RestClient>[0]> = {}) =>
    new RestClient({
      baseUrl: origin,
      token: 'raw.user.token.123',
      userAgent: UA,
      logger: silentLogger(),
      retryDelayMs: { minMs: 5, maxMs: 10 },
      ...extra,
    });

  test('sends the raw token, the user agent and X-Super-Properties of the same browser', async () => {
    requests.length = 0;
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    assert.deepEqual(await client().request('POST', '/x', { json: { a: 1 } }), { ok: true });
    const h = requests[0]!.headers;
    assert.equal(requests[0]!.url, '/api/v9/x');
    assert.equal(h.authorization, 'raw.user.token.123');
    assert.equal(h['user-agent'], UA);
    assert.equal(h['content-type'], 'application/json');
    const props = JSON.parse(Buffer.from(String(h['x-super-properties']), 'base64').toString('utf8'));
    assert.equal(props.browser_user_agent, UA);
    assert.equal(props.os, 'Windows');
  });

  test('Retry-After header is honoured when the body has no retry_after', async () => {
    requests.length = 0;
    answer = (_req, res) => {
      if (requests.length === 1) res.writeHead(429, { 'retry-after': '1' }).end();
      else res.writeHead(204).end();
    };
    const started = Date.now();
    assert.equal(await client().request('DELETE', '/y'), undefined);
    assert.ok(Date.now() - started >= 1000);
  });

  test('a 429 asking for too long a wait fails at once with the wait in the error', async () => {
    answer = (_req, res) =>
      res
        .writeHead(429, { 'content-type': 'application/json' })
        .end('{"message":"You are being rate limited.","retry_after":3600,"global":true}');
    const err = await client()
      .request('GET', '/z')
      .catch((e: unknown) => e);
    assert.ok(err instanceof DiscordHttpError);
    assert.equal(err.status, 429);
    assert.equal(err.retryAfterMs, 3_600_000);
  });

  test('a timed-out POST is a DiscordNetworkError and is not sent twice; a GET is retried', async () => {
    requests.length = 0;
    answer = () => {}; // never answers
    const err = await client({ timeoutMs: 100 })
      .request('POST', '/interactions', { json: {} })
      .catch((e: unknown) => e);
    assert.ok(err instanceof DiscordNetworkError);
    assert.equal(err.timedOut, true);
    assert.ok(!err.message.includes('raw.user.token.123'));
    assert.equal(requests.length, 1);
    requests.length = 0;
    const err2 = await client({ timeoutMs: 100, maxRetries: 2 })
      .request('GET', '/slow')
      .catch((e: unknown) => e);
    assert.ok(err2 instanceof DiscordNetworkError);
    assert.equal(requests.length, 3);
    server.closeAllConnections();
  });

  test('a refused connection is retried, then a DiscordNetworkError', async () => {
    const dead = createServer();
    dead.listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const statuses: number[] = [];
    const c = client({ baseUrl: `http://127.0.0.1:${port}`, onResponse: (i) => statuses.push(i.status) });
    const err = await c.request('GET', '/gone').catch((e: unknown) => e);
    assert.ok(err instanceof DiscordNetworkError);
    assert.equal(err.timedOut, false);
    assert.deepEqual(statuses, [0, 0, 0, 0]);
  });
});

describe('nonces', () => {
  test('are snowflake-shaped, distinct and strictly increasing, even within one millisecond', () => {
    const list = Array.from({ length: 5000 }, () => BigInt(nonce()));
    for (let i = 1; i < list.length; i++) assert.ok(list[i]! > list[i - 1]!);
    const ms = Number((list[0]! >> 22n) + 1420070400000n);
    assert.ok(Math.abs(ms - Date.now()) < 5000, 'the timestamp part is now');
    assert.match(String(list[0]), /^\d{17,20}$/);
  });
});
