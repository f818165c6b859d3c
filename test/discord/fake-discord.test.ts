import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { nonce } from '../../src/discord/snowflake.ts';
import type { DiscordMessage } from '../../src/discord/types.ts';
import type { FakeDiscord, InteractionContext } from '../../src/sandbox/discord/api.ts';
import {
  BOT,
  CHANNEL,
  CMD,
  FOREIGN,
  GUILD,
  OTHER,
  RawGateway,
  sleep,
  startWorld,
  USER,
  waitFor,
} from './helpers.ts';

const OUTDATED_BODY =
  '{"code":50035,"errors":{"data":{"_errors":[{"code":"INTERACTION_APPLICATION_COMMAND_INVALID_VERSION","message":"This command is outdated, please try again in a few minutes"}]}},"message":"Invalid Form Body"}';

describe('the simulated Discord answers like Discord', () => {
  let discord: FakeDiscord;
  const sockets: RawGateway[] = [];
  let handler: (ix: InteractionContext) => void = () => {};

  before(async () => {
    discord = await startWorld({ heartbeatIntervalMs: 50, maxBodyBytes: 64 * 1024 });
    discord.onInteraction((ix) => handler(ix));
  });
  after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await discord.close();
  });

  const gateway = (query = '/?encoding=json&v=9&compress=zlib-stream') => {
    const g = new RawGateway(discord.gatewayUrl + query);
    sockets.push(g);
    return g;
  };

  async function api(
    path: string,
    init: {
      method?: string;
      body?: unknown;
      token?: string | null;
      raw?: string;
      headers?: Record<string, string>;
    } = {},
  ) {
    const token = init.token === undefined ? USER.token : init.token;
    const res = await fetch(`${discord.origin}/api/v9${path}`, {
      method: init.method ?? (init.body === undefined && init.raw === undefined ? 'GET' : 'POST'),
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: token } : {}),
        ...init.headers,
      },
      ...(init.raw !== undefined
        ? { body: init.raw }
        : init.body !== undefined
          ? { body: JSON.stringify(init.body) }
          : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      text,
      json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
      headers: res.headers,
    };
  }

  const imagine = (over: Record<string, unknown> = {}, data: Record<string, unknown> = {}) => ({
    type: 2,
    application_id: CMD.applicationId,
    guild_id: GUILD,
    channel_id: CHANNEL,
    nonce: nonce(),
    data: { id: CMD.id, version: CMD.version, name: CMD.name, type: 1, options: [], ...data },
    ...over,
  });

  describe('REST errors', () => {
    test('garbage JSON → 400 50109; no or wrong token → 401 code 0', async () => {
      const bad = await api('/interactions', { raw: '{nope' });
      assert.equal(bad.status, 400);
      assert.equal(bad.text, '{"message":"The request body contains invalid JSON.","code":50109}');
      for (const token of [null, 'wrong-token']) {
        const r = await api('/interactions', { body: imagine(), token });
        assert.equal(r.status, 401);
        assert.equal(r.text, '{"message":"401: Unauthorized","code":0}');
      }
    });

    test('unknown route → 404, wrong method → 405, both with code 0', async () => {
      const r = await api('/no/such/route');
      assert.deepEqual([r.status, r.json], [404, { message: '404: Not Found', code: 0 }]);
      const m = await api('/interactions', { method: 'GET' });
      assert.deepEqual([m.status, m.json], [405, { message: '405: Method Not Allowed', code: 0 }]);
      const outside = await fetch(`${discord.origin}/definitely/not/here`);
      assert.deepEqual([outside.status, await outside.json()], [404, { message: '404: Not Found', code: 0 }]);
    });

    test('unknown command id and an old version get Discord’s form errors, the outdated one verbatim', async () => {
      const unknown = await api('/interactions', { body: imagine({}, { id: '1' }) });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.json?.code, 50035);
      assert.match(unknown.text, /"INTERACTION_APPLICATION_COMMAND_INVALID"/);
      const old = await api('/interactions', { body: imagine({}, { version: '1166847114203123795' }) });
      assert.equal(old.status, 400);
      assert.equal(old.text, OUTDATED_BODY);
      discord.setCommandVersion(CMD.name, '2000000000000000000');
      const nowOld = await api('/interactions', { body: imagine() });
      assert.equal(nowOld.text, OUTDATED_BODY);
      discord.setCommandVersion(CMD.name, CMD.version);
      discord.faults.outdatedCommandNext(1);
      assert.equal((await api('/interactions', { body: imagine() })).text, OUTDATED_BODY);
      assert.equal((await api('/interactions', { body: imagine() })).status, 204);
    });

    test('channel access, unknown message, foreign button, bad type', async () => {
      const foreign = await api('/interactions', { body: imagine({ channel_id: FOREIGN }) });
      assert.deepEqual([foreign.status, foreign.json], [403, { message: 'Missing Access', code: 50001 }]);
      const nowhere = await api('/interactions', { body: imagine({ channel_id: '1399999999999999999' }) });
      assert.deepEqual([nowhere.status, nowhere.json], [404, { message: 'Unknown Channel', code: 10003 }]);
      const click = (messageId: string, customId: string) => ({
        type: 3,
        application_id: BOT.id,
        channel_id: CHANNEL,
        message_id: messageId,
        message_flags: 0,
        nonce: nonce(),
        data: { component_type: 2, custom_id: customId },
      });
      const gone = await api('/interactions', { body: click('1400000000000000000', 'x') });
      assert.deepEqual([gone.status, gone.json], [404, { message: 'Unknown Message', code: 10008 }]);
      const msg = discord.postMessage(CHANNEL, {
        author: BOT,
        content: 'pick one',
        components: [{ type: 1, components: [{ type: 2, style: 2, label: 'A', custom_id: 'pick::a' }] }],
      });
      const wrong = await api('/interactions', { body: click(msg.id, 'pick::zzz') });
      assert.equal(wrong.status, 400);
      assert.equal(wrong.json?.code, 50035);
      assert.equal(wrong.json?.message, 'Invalid Form Body');
      assert.equal((await api('/interactions', { body: click(msg.id, 'pick::a') })).status, 204);
      const type9 = await api('/interactions', { body: { ...imagine(), type: 9 } });
      assert.equal(type9.status, 400);
      assert.match(type9.text, /"type":\{"_errors"/);
    });

    test('a body over the limit → 413 40005', async () => {
      const r = await api(`/channels/${CHANNEL}/messages`, { body: { content: 'x'.repeat(70 * 1024) } });
      assert.equal(r.status, 413);
      assert.deepEqual(r.json, {
        message: 'Request entity too large. Try sending something smaller in size',
        code: 40005,
      });
    });

    test('injected 429 carries Retry-After, X-RateLimit-Scope and Discord’s body; injected 500 too', async () => {
      discord.faults.rateLimitNext(1, { retryAfterSec: 0.5 });
      const r = await api('/users/@me');
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.equal(r.headers.get('x-ratelimit-scope'), 'user');
      assert.equal(r.text, '{"message":"You are being rate limited.","retry_after":0.5,"global":false}');
      discord.faults.rateLimitNext(1, { retryAfterSec: 2.5, global: true, pathPart: '/messages' });
      assert.equal((await api('/users/@me')).status, 200, 'the filter spares other paths');
      const g = await api(`/channels/${CHANNEL}/messages`);
      assert.equal(g.status, 429);
      assert.equal(g.headers.get('x-ratelimit-global'), 'true');
      assert.equal(g.headers.get('x-ratelimit-scope'), 'global');
      assert.equal(g.headers.get('retry-after'), '3');
      assert.equal(g.json?.global, true);
      discord.faults.serverErrorNext(1, '/users');
      const e = await api('/users/@me');
      assert.deepEqual([e.status, e.json], [500, { message: '500: Internal Server Error', code: 0 }]);
      assert.equal((await api('/users/@me')).status, 200);
    });

    test('garbage never crashes it: every answer is a Discord error body', async () => {
      const cases: { path: string; raw: string; headers?: Record<string, string> }[] = [
        { path: '/interactions', raw: '[]' },
        { path: '/interactions', raw: 'null' },
        { path: '/interactions', raw: '{"type":2,"channel_id":{"x":1},"data":"no"}' },
        {
          path: '/interactions',
          raw: '{"type":3,"channel_id":"1300000000000000001","application_id":"1","data":{}}',
        },
        {
          path: '/interactions',
          raw: '{"type":5,"channel_id":"1300000000000000001","application_id":"1","data":{"id":"9"}}',
        },
        { path: `/channels/${CHANNEL}/attachments`, raw: '{"files":"nope"}' },
        { path: `/channels/${CHANNEL}/attachments`, raw: '{"files":[{"filename":12}]}' },
        { path: `/channels/${CHANNEL}/messages`, raw: '{"attachments":[{"uploaded_filename":5}]}' },
        { path: `/channels/${CHANNEL}/messages`, raw: '\u0000\u0001\u0002' },
        {
          path: '/interactions',
          raw: '--x\r\n\r\n',
          headers: { 'content-type': 'multipart/form-data; boundary=x' },
        },
        { path: '/%E0%A4%A', raw: '' },
      ];
      for (const c of cases) {
        const r = await api(c.path, { raw: c.raw, ...(c.headers ? { headers: c.headers } : {}) });
        assert.ok(r.status >= 400 && r.status < 500, `${c.path} ${c.raw} → ${r.status}`);
        assert.equal(typeof r.json?.message, 'string');
        assert.equal(typeof r.json?.code, 'number');
      }
      assert.equal((await api('/users/@me')).status, 200, 'still serving');
    });
  });

  describe('interactions over the gateway', () => {
    test('204, then INTERACTION_CREATE and INTERACTION_SUCCESS to the named session, then what the bot posts', async () => {
      const g = gateway();
      const sessionId = await g.identify();
      const other = gateway();
      await other.identify();
      handler = (ix) => {
        discord.postMessage(ix.channelId, { author: BOT, content: `started ${ix.nonce}`, nonce: ix.nonce });
      };
      const n = nonce();
      const r = await api('/interactions', { body: imagine({ session_id: sessionId, nonce: n }) });
      assert.equal(r.status, 204);
      assert.equal(r.text, '');
      await waitFor('bot message', () => g.dispatches('MESSAGE_CREATE').length > 0);
      const order = g.payloads.filter((p) => p.op === 0 && p.s! > 3).map((p) => p.t);
      assert.deepEqual(order, ['INTERACTION_CREATE', 'INTERACTION_SUCCESS', 'MESSAGE_CREATE']);
      const created = g.dispatches('INTERACTION_CREATE')[0]?.d as { id: string; nonce: string };
      assert.equal(created.nonce, n);
      assert.deepEqual(g.dispatches('INTERACTION_SUCCESS')[0]?.d, { id: created.id, nonce: n });
      // Another session of the same user gets the channel's messages but not the interaction events.
      await waitFor('other sees the message', () => other.dispatches('MESSAGE_CREATE').length > 0);
      assert.equal(other.dispatches('INTERACTION_CREATE').length, 0);
      handler = () => {};
    });

    test('a modal answers the click instead of SUCCESS; its submit is accepted once', async () => {
      const g = gateway();
      const sessionId = await g.identify();
      const seen: InteractionContext[] = [];
      handler = (ix) => {
        seen.push(ix);
        if (ix.type === 3) {
          ix.openModal({
            custom_id: 'Zoom::modal::1',
            title: 'Zoom Out',
            components: [
              { type: 1, components: [{ type: 4, custom_id: 'Zoom::modal::prompt', label: 'p', style: 1 }] },
            ],
          });
        }
      };
      const msg = discord.postMessage(CHANNEL, {
        author: BOT,
        content: 'zoom?',
        components: [
          { type: 1, components: [{ type: 2, style: 2, label: 'Custom Zoom', custom_id: 'Zoom::1' }] },
        ],
      });
      const n = nonce();
      const click = await api('/interactions', {
        body: {
          type: 3,
          application_id: BOT.id,
          guild_id: GUILD,
          channel_id: CHANNEL,
          message_id: msg.id,
          message_flags: 0,
          session_id: sessionId,
          nonce: n,
          data: { component_type: 2, custom_id: 'Zoom::1' },
        },
      });
      assert.equal(click.status, 204);
      const modal = await waitFor(
        'modal',
        () => g.dispatches('INTERACTION_MODAL_CREATE')[0]?.d as Record<string, unknown>,
      );
      assert.equal(g.dispatches('INTERACTION_SUCCESS').length, 0);
      assert.equal(modal.custom_id, 'Zoom::modal::1');
      assert.equal(modal.title, 'Zoom Out');
      assert.equal(modal.channel_id, CHANNEL);
      assert.equal(modal.nonce, n);
      assert.equal((modal.application as { id: string }).id, BOT.id);
      assert.equal(seen[0]?.message?.id, msg.id);
      const submit = {
        type: 5,
        application_id: BOT.id,
        guild_id: GUILD,
        channel_id: CHANNEL,
        session_id: sessionId,
        nonce: nonce(),
        data: {
          id: modal.id,
          custom_id: 'Zoom::modal::1',
          components: [
            { type: 1, components: [{ type: 4, custom_id: 'Zoom::modal::prompt', value: 'x --zoom 1.5' }] },
          ],
        },
      };
      assert.equal((await api('/interactions', { body: submit })).status, 204);
      assert.equal(seen[1]?.type, 5);
      const again = await api('/interactions', { body: { ...submit, nonce: nonce() } });
      assert.deepEqual([again.status, again.json], [404, { message: 'Unknown interaction', code: 10062 }]);
      handler = () => {};
    });

    test('an iframe modal, and a multipart interaction carrying its file', async () => {
      const g = gateway();
      const sessionId = await g.identify();
      let files: InteractionContext['files'] = [];
      handler = (ix) => {
        files = ix.files;
        ix.openIframeModal({ custom_id: 'iframe::tok', title: 'Inpaint', iframe_path: '/inpaint/?x=1' });
      };
      const payload = imagine({ session_id: sessionId }, { attachments: [{ id: '0', filename: 'a.bin' }] });
      const body = Buffer.concat([
        Buffer.from(
          `--b0undary\r\nContent-Disposition: form-data; name="payload_json"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(payload)}\r\n` +
            '--b0undary\r\nContent-Disposition: form-data; name="files[0]"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n',
        ),
        Buffer.from([0, 1, 2, 13, 10, 255]),
        Buffer.from('\r\n--b0undary--\r\n'),
      ]);
      const res = await fetch(`${discord.origin}/api/v9/interactions`, {
        method: 'POST',
        headers: { authorization: USER.token, 'content-type': 'multipart/form-data; boundary=b0undary' },
        body,
      });
      assert.equal(res.status, 204);
      assert.deepEqual(files[0]?.bytes, Buffer.from([0, 1, 2, 13, 10, 255]));
      const iframe = await waitFor(
        'iframe modal',
        () => g.dispatches('INTERACTION_IFRAME_MODAL_CREATE')[0]?.d as Record<string, unknown>,
      );
      assert.equal(iframe.iframe_path, '/inpaint/?x=1');
      assert.equal(iframe.custom_id, 'iframe::tok');
      handler = () => {};
    });

    test('the inpaint form host hands submits to its handler', async () => {
      const post = (body: string) =>
        fetch(`${discord.origin}/inpaint/api/submit-job`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
      assert.equal((await post('{}')).status, 503, 'no handler yet');
      const got: unknown[] = [];
      discord.onInpaintSubmit((b) => {
        got.push(b);
        return b.mask ? { ok: true } : { ok: false, status: 400, message: 'mask is required' };
      });
      const ok = await post(
        JSON.stringify({
          username: '0',
          userId: '0',
          customId: 'tok',
          mask: 'AAAA',
          prompt: 'p',
          full_prompt: null,
        }),
      );
      assert.deepEqual([ok.status, await ok.json()], [200, { success: true }]);
      assert.deepEqual(got[0], { customId: 'tok', mask: 'AAAA', prompt: 'p' });
      const refused = await post(JSON.stringify({ customId: 'tok', prompt: 'p' }));
      assert.deepEqual(
        [refused.status, await refused.json()],
        [400, { success: false, message: 'mask is required' }],
      );
      assert.equal((await post('not json')).status, 400);
    });
  });

  describe('messages and the gateway', () => {
    test('create/update/delete reach every member as full objects, never the author’s token', async () => {
      const alice = gateway();
      await alice.identify();
      const bob = gateway();
      await bob.identify(OTHER.token);
      const msg = discord.postMessage(CHANNEL, { author: BOT, content: 'hello', nonce: '123' });
      assert.match(msg.timestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
      const edited = discord.editMessage(CHANNEL, msg.id, { content: 'hello (50%)' });
      discord.deleteMessage(CHANNEL, msg.id);
      discord.postMessage(FOREIGN, { author: BOT, content: 'not for alice' });
      for (const g of [alice, bob]) {
        await waitFor('delete', () => g.dispatches('MESSAGE_DELETE').length > 0);
        const created = g.dispatches('MESSAGE_CREATE')[0]?.d as DiscordMessage & Record<string, unknown>;
        assert.equal(created.content, 'hello');
        assert.equal(created.guild_id, GUILD);
        assert.equal(created.author?.id, BOT.id);
        assert.equal(created.author?.bot, true);
        assert.ok(!JSON.stringify(g.payloads).includes(BOT.token));
        const updated = g.dispatches('MESSAGE_UPDATE')[0]?.d as DiscordMessage;
        assert.equal(updated.content, 'hello (50%)');
        assert.equal(updated.nonce, '123', 'updates are full objects');
        assert.equal(updated.edited_timestamp, edited.edited_timestamp);
        assert.deepEqual(g.dispatches('MESSAGE_DELETE')[0]?.d, {
          id: msg.id,
          channel_id: CHANNEL,
          guild_id: GUILD,
        });
      }
      await waitFor('bob sees the foreign channel', () => bob.dispatches('MESSAGE_CREATE').length === 2);
      await sleep(50);
      assert.equal(alice.dispatches('MESSAGE_CREATE').length, 1, 'alice is not in the other channel');
      assert.equal(discord.getMessage(CHANNEL, msg.id), undefined);
    });

    test('an ephemeral message goes only to the user it answers and stays out of the history', async () => {
      const alice = gateway();
      await alice.identify();
      const bob = gateway();
      await bob.identify(OTHER.token);
      const eph = discord.postMessage(CHANNEL, {
        author: BOT,
        content: 'only for bob',
        flags: 64,
        interaction_metadata: { id: '1', type: 2, user: { id: OTHER.id, username: OTHER.username } },
      });
      assert.equal(eph.guild_id, undefined);
      discord.postMessage(CHANNEL, { author: BOT, content: 'for all' });
      await waitFor('alice gets the public one', () => alice.dispatches('MESSAGE_CREATE').length === 1);
      await waitFor('bob gets both', () => bob.dispatches('MESSAGE_CREATE').length === 2);
      assert.equal(
        (alice.dispatches('MESSAGE_CREATE')[0]?.d as DiscordMessage | undefined)?.content,
        'for all',
      );
      const history = await api(`/channels/${CHANNEL}/messages?limit=100`);
      assert.ok(!history.text.includes('only for bob'));
      assert.ok(discord.getMessage(CHANNEL, eph.id), 'still there for its buttons');
    });

    test('frames are zlib-stream binary when asked, plain text otherwise (like the npm `midjourney` client)', async () => {
      const z = gateway();
      await z.identify();
      await waitFor('READY_* events', () => z.dispatches('SESSIONS_REPLACE').length === 1);
      assert.ok(z.binaryFrames.length >= 4);
      assert.equal(z.textFrames, 0);
      const plain = gateway('/?encoding=json&v=9');
      await plain.identify();
      await waitFor('READY_* events', () => plain.dispatches('SESSIONS_REPLACE').length === 1);
      assert.equal(plain.binaryFrames.length, 0);
      assert.ok(plain.textFrames >= 4);
      const hello = plain.payloads[0]!;
      assert.equal(hello.op, 10);
      assert.equal((hello.d as { heartbeat_interval: number }).heartbeat_interval, 50);
      const ready = plain.dispatches('READY')[0]!;
      const d = ready.d as Record<string, unknown>;
      assert.equal(ready.s, 1);
      assert.equal(d.resume_gateway_url, discord.gatewayUrl);
      assert.deepEqual([d.guilds, d.private_channels], [[], []]);
      assert.equal((d.user as { id: string }).id, USER.id);
      assert.ok(!JSON.stringify(d).includes(USER.token));
    });

    test('resume replays every dispatch after seq, then RESUMED; unknown sessions get op 9 false', async () => {
      const first = gateway();
      const sessionId = await first.identify();
      discord.dispatchToUser(USER.id, 'CUSTOM_EVENT', { n: 1 });
      await waitFor('first event', () => first.dispatches('CUSTOM_EVENT').length === 1);
      const seq = first.dispatches('CUSTOM_EVENT')[0]!.s!;
      await first.close(4000);
      for (let n = 2; n <= 4; n++) discord.dispatchToUser(USER.id, 'CUSTOM_EVENT', { n });
      const second = gateway();
      await second.open();
      second.send({ op: 6, d: { token: USER.token, session_id: sessionId, seq } });
      await waitFor('RESUMED', () => second.dispatches('RESUMED').length === 1);
      const replay = second.payloads.filter((p) => p.op === 0);
      assert.deepEqual(
        replay.map((p) => [p.t, p.s]),
        [
          ['CUSTOM_EVENT', seq + 1],
          ['CUSTOM_EVENT', seq + 2],
          ['CUSTOM_EVENT', seq + 3],
          ['RESUMED', seq + 4],
        ],
      );
      assert.deepEqual(
        replay.slice(0, 3).map((p) => p.d),
        [{ n: 2 }, { n: 3 }, { n: 4 }],
      );
      const stranger = gateway();
      await stranger.open();
      stranger.send({ op: 6, d: { token: USER.token, session_id: 'f'.repeat(32), seq: 1 } });
      await waitFor('op 9', () => stranger.payloads.find((p) => p.op === 9));
      assert.equal(stranger.payloads.find((p) => p.op === 9)?.d, false);
      const ahead = gateway();
      await ahead.open();
      ahead.send({ op: 6, d: { token: USER.token, session_id: sessionId, seq: 10_000 } });
      await waitFor('4007', () => ahead.closed);
      assert.deepEqual(ahead.closed, { code: 4007, reason: 'Invalid seq.' });
    });

    test('protocol errors close with Discord’s codes', async () => {
      const cases: { send: (g: RawGateway) => void; code: number; reason: string }[] = [
        { send: (g) => g.send('{not json'), code: 4002, reason: 'Error while decoding payload.' },
        {
          send: (g) => g.sendBinary(Buffer.from([1, 2, 3])),
          code: 4002,
          reason: 'Error while decoding payload.',
        },
        { send: (g) => g.send({ op: 3, d: {} }), code: 4003, reason: 'Not authenticated.' },
        {
          send: (g) => g.send({ op: 2, d: { token: 'nope' } }),
          code: 4004,
          reason: 'Authentication failed.',
        },
      ];
      for (const c of cases) {
        const g = gateway();
        await g.open();
        c.send(g);
        await waitFor(`close ${c.code}`, () => g.closed);
        assert.deepEqual(g.closed, { code: c.code, reason: c.reason });
      }
      const twice = gateway();
      await twice.identify();
      twice.send({ op: 2, d: { token: USER.token } });
      await waitFor('4005', () => twice.closed);
      assert.equal(twice.closed?.code, 4005);
    });

    test('every heartbeat is ACKed; a socket that stops heartbeating is closed with 4009', async () => {
      const g = gateway();
      await g.identify();
      g.send({ op: 1, d: 3 });
      g.send({ op: 1, d: 3 });
      await waitFor('two ACKs', () => g.payloads.filter((p) => p.op === 11).length === 2);
      await waitFor('4009', () => g.closed, 3000);
      assert.deepEqual(g.closed, { code: 4009, reason: 'Session timed out.' });
    });

    test('the CDN serves stored files by their URL path and 404s the rest; stats count what happened', async () => {
      const att = discord.storeFile(CHANNEL, 'grid_0.webp', Buffer.from('webp-bytes'), 'image/webp');
      assert.match(att.url, /^https:\/\/cdn\.discordapp\.com\/attachments\//);
      assert.match(att.proxy_url ?? '', /^https:\/\/media\.discordapp\.net\/attachments\//);
      const u = new URL(att.url);
      const res = await fetch(discord.origin + u.pathname + u.search);
      assert.equal(res.headers.get('content-type'), 'image/webp');
      assert.equal(await res.text(), 'webp-bytes');
      const eph = await fetch(
        `${discord.origin}${u.pathname.replace('/attachments/', '/ephemeral-attachments/')}${u.search}`,
      );
      assert.equal(eph.status, 200);
      assert.equal((await fetch(`${discord.origin}/attachments/1/2/none.png`)).status, 404);
      const stats = discord.stats();
      assert.ok(stats.interactions >= 5);
      assert.ok(stats.restCalls >= 20);
      assert.ok(stats.identifies >= 8);
      assert.ok(stats.resumes >= 1);
      assert.ok(stats.connections >= stats.identifies);
    });
  });
});
