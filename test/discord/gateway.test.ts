import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GatewayClient, type GatewayState } from '../../src/discord/gateway.ts';
import { silentLogger } from '../../src/log.ts';
import type { FakeDiscord } from '../../src/sandbox/discord/api.ts';
import { startFakeDiscord } from '../../src/sandbox/discord/server.ts';

const USER = { id: '1200000000000000001', token: 'user-token-1', username: 'alice' };
const CHANNEL = '1300000000000000001';
const MJ = { id: '936929561302675456', token: 'mj', username: 'Midjourney Bot', bot: true };

function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const v = check();
      if (v !== undefined) resolve(v);
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('gateway client against the simulated gateway', () => {
  let discord: FakeDiscord;
  const clients: GatewayClient[] = [];

  before(async () => {
    discord = await startFakeDiscord({ heartbeatIntervalMs: 100 });
    discord.addUser(USER);
    discord.addUser(MJ);
    discord.addChannel({ id: CHANNEL, memberIds: [USER.id, MJ.id] });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await discord.close();
  });

  function client(token = USER.token) {
    const c = new GatewayClient({
      token,
      url: discord.gatewayUrl,
      userAgent: 'test-agent',
      logger: silentLogger(),
      backoff: { minMs: 10, maxMs: 50 },
      invalidSessionDelayMs: { min: 5, max: 10 },
    });
    const states: GatewayState[] = [];
    const messages: string[] = [];
    c.on('state', (s) => states.push(s.to));
    c.on('dispatch', (e) => {
      if (e.t === 'MESSAGE_CREATE') messages.push((e.d as { content: string }).content);
    });
    clients.push(c);
    c.connect();
    return { c, states, messages };
  }

  test('identify → READY with the session id and the user', async () => {
    const { c } = client();
    await waitFor('ready', () => (c.state === 'ready' ? true : undefined));
    assert.match(c.sessionId ?? '', /^[0-9a-f]{32}$/);
    assert.equal(c.user?.id, USER.id);
    await c.close();
  });

  test('heartbeats are acknowledged: the connection stays up across many intervals', async () => {
    const { c, states } = client();
    await waitFor('ready', () => (c.state === 'ready' ? true : undefined));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(c.state, 'ready');
    assert.ok(!states.includes('reconnecting'));
    await c.close();
  });

  test('a dropped socket resumes; messages sent meanwhile arrive once each, in order', async () => {
    const { c, messages } = client();
    await waitFor('ready', () => (c.state === 'ready' ? true : undefined));
    const session = c.sessionId;
    discord.faults.dropSocket(USER.id);
    for (let i = 0; i < 5; i++) discord.postMessage(CHANNEL, { author: MJ, content: `while away ${i}` });
    await waitFor('replay', () => (messages.length >= 5 ? true : undefined));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      messages,
      [0, 1, 2, 3, 4].map((i) => `while away ${i}`),
    );
    assert.equal(c.sessionId, session, 'the same session was resumed');
    assert.ok(c.counters.resumes >= 1);
    await c.close();
  });

  test('op 7 → resume; op 9 false → a new session; op 9 true → resume', async () => {
    const { c } = client();
    await waitFor('ready', () => (c.state === 'ready' ? true : undefined));
    const first = c.sessionId;
    discord.faults.sendReconnect(USER.id);
    await waitFor('resume after op 7', () =>
      c.counters.resumes >= 1 && c.state === 'ready' ? true : undefined,
    );
    assert.equal(c.sessionId, first);
    discord.faults.sendInvalidSession(true, USER.id);
    await waitFor('resume after op 9 true', () =>
      c.counters.resumes >= 2 && c.state === 'ready' ? true : undefined,
    );
    assert.equal(c.sessionId, first);
    discord.faults.sendInvalidSession(false, USER.id);
    await waitFor('identify after op 9 false', () =>
      c.sessionId && c.sessionId !== first && c.state === 'ready' ? true : undefined,
    );
    await c.close();
  });

  test('close 4004 is fatal: token invalid, no reconnect', async () => {
    const { c } = client();
    await waitFor('ready', () => (c.state === 'ready' ? true : undefined));
    let fatal: { code: number; reason: string } | undefined;
    c.on('fatal', (f) => {
      fatal = f;
    });
    discord.faults.closeWith(4004, USER.id);
    await waitFor('fatal', () => fatal);
    assert.deepEqual(fatal, { code: 4004, reason: 'token invalid' });
    const connections = discord.stats().connections;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(c.state, 'fatal');
    assert.equal(discord.stats().connections, connections, 'no new connection after a fatal close');
  });

  test('a wrong token is refused with 4004 at identify', async () => {
    const { c } = client('not-a-token');
    await waitFor('fatal', () => (c.state === 'fatal' ? true : undefined));
  });

  test('a zombie connection (no ACK) is dropped and resumed', async () => {
    const { c } = client();
    await waitFor('ready', () => (c.state === 'ready' ? true : undefined));
    discord.faults.stopAcks();
    await waitFor('reconnecting', () => (c.state === 'reconnecting' ? true : undefined));
    discord.faults.resumeAcks();
    await waitFor('ready again', () => (c.state === 'ready' ? true : undefined));
    assert.ok(c.counters.resumes >= 1);
    await c.close();
  });

  test('a compressed payload split across two websocket messages decodes', async () => {
    const { c, messages } = client();
    await waitFor('ready', () => (c.state === 'ready' ? true : undefined));
    discord.faults.splitFrames(true);
    try {
      discord.postMessage(CHANNEL, { author: MJ, content: 'x'.repeat(3000) });
      discord.postMessage(CHANNEL, { author: MJ, content: 'after the big one' });
      await waitFor('both', () => (messages.length >= 2 ? true : undefined));
      assert.equal(messages[0], 'x'.repeat(3000));
      assert.equal(messages[1], 'after the big one');
    } finally {
      discord.faults.splitFrames(false);
    }
    await c.close();
  });
});
