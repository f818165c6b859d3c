import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DiscordHttpError, RestClient } from '../../src/discord/rest.ts';
import { nonce } from '../../src/discord/snowflake.ts';
import { postMessageWithUploads, uploadAttachments } from '../../src/discord/upload.ts';
import { silentLogger } from '../../src/log.ts';
import type { FakeDiscord } from '../../src/sandbox/discord/api.ts';
import { startFakeDiscord } from '../../src/sandbox/discord/server.ts';

const USER = { id: '1200000000000000001', token: 'user-token-1', username: 'alice' };
const CHANNEL = '1300000000000000001';
const CMD = {
  id: '938956540159881230',
  version: '1237876415471554623',
  name: 'imagine',
  applicationId: '936929561302675456',
};

const imagine = (version = CMD.version) => ({
  type: 2,
  application_id: CMD.applicationId,
  channel_id: CHANNEL,
  session_id: 'none',
  nonce: nonce(),
  data: { id: CMD.id, version, name: 'imagine', type: 1, options: [{ type: 3, name: 'prompt', value: 'x' }] },
});

describe('REST client and uploads against the simulated Discord', () => {
  let discord: FakeDiscord;
  let rest: RestClient;
  before(async () => {
    discord = await startFakeDiscord();
    discord.addUser(USER);
    discord.addChannel({ id: CHANNEL, guildId: '1100000000000000001', memberIds: [USER.id] });
    discord.addCommand(CMD);
    rest = new RestClient({
      baseUrl: discord.origin,
      token: USER.token,
      userAgent: 'ua',
      logger: silentLogger(),
    });
  });
  after(async () => {
    await discord.close();
  });

  test('an interaction is accepted with 204 (undefined)', async () => {
    assert.equal(await rest.request('POST', '/interactions', { json: imagine() }), undefined);
  });

  test('429 is waited out (retry_after) and the call succeeds', async () => {
    discord.faults.rateLimitNext(2, { retryAfterSec: 0.15 });
    const started = Date.now();
    assert.equal(await rest.request('POST', '/interactions', { json: imagine() }), undefined);
    assert.ok(Date.now() - started >= 300);
  });

  test('500 is retried', async () => {
    discord.faults.serverErrorNext(1);
    assert.equal(await rest.request('POST', '/interactions', { json: imagine() }), undefined);
  });

  test('an outdated command version is a typed error that says so', async () => {
    const err = await rest.request('POST', '/interactions', { json: imagine('1') }).catch((e: unknown) => e);
    assert.ok(err instanceof DiscordHttpError);
    assert.equal(err.status, 400);
    assert.equal(err.discordCode, 50035);
    assert.ok(err.isOutdatedCommand());
  });

  test('a wrong token gets 401 with Discord body, and the token is never in the error', async () => {
    const bad = new RestClient({
      baseUrl: discord.origin,
      token: 'secret-wrong-token',
      userAgent: 'ua',
      logger: silentLogger(),
    });
    const err = await bad.request('GET', `/channels/${CHANNEL}/messages`).catch((e: unknown) => e);
    assert.ok(err instanceof DiscordHttpError);
    assert.equal(err.status, 401);
    assert.equal(err.message, '401: Unauthorized');
    assert.ok(!String(err.stack).includes('secret-wrong-token'));
  });

  test('garbage JSON, unknown command and a foreign channel get Discord’s real answers', async () => {
    const raw = await fetch(`${discord.origin}/api/v9/interactions`, {
      method: 'POST',
      headers: { authorization: USER.token, 'content-type': 'application/json' },
      body: '{nope',
    });
    assert.equal(raw.status, 400);
    assert.deepEqual(await raw.json(), { message: 'The request body contains invalid JSON.', code: 50109 });
    const unknown = imagine();
    unknown.data.id = '1';
    const e1 = await rest.request('POST', '/interactions', { json: unknown }).catch((e: unknown) => e);
    assert.ok(
      e1 instanceof DiscordHttpError &&
        e1.status === 400 &&
        e1.errorCodes.includes('INTERACTION_APPLICATION_COMMAND_INVALID'),
    );
    const foreign = imagine();
    foreign.channel_id = '1399999999999999999';
    const e2 = await rest.request('POST', '/interactions', { json: foreign }).catch((e: unknown) => e);
    assert.ok(e2 instanceof DiscordHttpError && e2.status === 404 && e2.discordCode === 10003);
    const route = await rest.request('GET', '/nowhere').catch((e: unknown) => e);
    assert.ok(route instanceof DiscordHttpError && route.status === 404);
  });

  test('upload flow: the upload host is rewritten, the CDN serves the same bytes', async () => {
    const bytes = Buffer.from('hello image bytes');
    const refs = await uploadAttachments(rest, {
      channelId: CHANNEL,
      uploadOrigin: discord.origin,
      files: [{ filename: 'cat.png', bytes, contentType: 'image/png' }],
    });
    assert.equal(refs.length, 1);
    assert.match(refs[0]?.uploaded_filename ?? '', /^[0-9a-f-]{36}\/cat\.png$/);
    const msg = await postMessageWithUploads(rest, CHANNEL, refs);
    const url = msg.attachments?.[0]?.url ?? '';
    assert.match(url, /^https:\/\/cdn\.discordapp\.com\/attachments\//);
    const served = await fetch(discord.origin + new URL(url).pathname);
    assert.equal(served.status, 200);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);
  });

  test('nonces are snowflake-shaped, distinct and increasing', () => {
    const list = Array.from({ length: 2000 }, () => BigInt(nonce()));
    for (let i = 1; i < list.length; i++) assert.ok((list[i] as bigint) > (list[i - 1] as bigint));
    assert.ok((list[0] as bigint) >> 22n > 0n);
  });
});
