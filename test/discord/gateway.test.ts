import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { GatewayClient, type GatewayState } from '../../src/discord/gateway.ts';
import { silentLogger } from '../../src/log.ts';
import type { FakeDiscord } from '../../src/sandbox/discord/api.ts';
import {
  BOT,
  CHANNEL,
  gatewayClient,
  OTHER,
  RawGateway,
  sleep,
  startWorld,
  UA,
  USER,
  waitFor,
} from './helpers.ts';

describe('gateway client against the simulated gateway', () => {
  let discord: FakeDiscord;
  const clients: GatewayClient[] = [];

  before(async () => {
    // Short enough for zombie detection to be quick, long enough that a loaded machine does not look like one.
    discord = await startWorld({ heartbeatIntervalMs: 150 });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await discord.close();
  });

  function start(extra: Parameters<typeof gatewayClient>[1] = {}) {
    const made = gatewayClient(discord, extra);
    const states: { to: GatewayState; reason?: string }[] = [];
    made.client.on('state', (s) => states.push(s));
    clients.push(made.client);
    made.client.connect();
    return { ...made, states };
  }

  const ready = (c: GatewayClient) => waitFor('ready', () => c.state === 'ready');

  test('identify → READY: session id, user, ready event; the extra READY_* events do no harm', async () => {
    const { client, events, states } = start();
    const [ev] = await once(client, 'ready', { signal: AbortSignal.timeout(5000) });
    assert.match(ev.sessionId, /^[0-9a-f]{32}$/);
    assert.equal(ev.user.id, USER.id);
    assert.equal(client.sessionId, ev.sessionId);
    assert.equal(client.user?.username, USER.username);
    assert.deepEqual(
      states.map((s) => s.to),
      ['connecting', 'ready'],
    );
    await waitFor('supplemental', () => events.some((e) => e.t === 'SESSIONS_REPLACE'));
    assert.deepEqual(
      events.map((e) => [e.t, e.s]),
      [
        ['READY', 1],
        ['READY_SUPPLEMENTAL', 2],
        ['SESSIONS_REPLACE', 3],
      ],
    );
    assert.equal(client.seq, 3);
    assert.equal(client.state, 'ready');
    assert.equal(client.counters.identifies, 1);
    await client.close();
    assert.equal(client.state, 'closed');
  });

  test('heartbeats are acknowledged and the connection stays up across many intervals', async () => {
    const { client, states } = start();
    await ready(client);
    await sleep(800);
    assert.ok(client.counters.heartbeats >= 4, `only ${client.counters.heartbeats} heartbeats`);
    assert.ok(client.counters.acks >= client.counters.heartbeats - 1);
    assert.ok(client.latencyMs !== null && client.latencyMs < 1000);
    assert.equal(client.state, 'ready');
    assert.ok(!states.some((s) => s.to === 'reconnecting'), 'never reconnected');
    await client.close();
  });

  test('a dropped socket is resumed: messages posted meanwhile arrive once each, in order, with no gap', async () => {
    const { client, events, messages } = start();
    await ready(client);
    const session = client.sessionId;
    discord.postMessage(CHANNEL, { author: BOT, content: 'before' });
    await waitFor('before', () => messages().includes('before'));
    discord.faults.dropSocket(USER.id);
    for (let i = 0; i < 5; i++) discord.postMessage(CHANNEL, { author: BOT, content: `while away ${i}` });
    const [resumed] = await once(client, 'resumed', { signal: AbortSignal.timeout(5000) });
    discord.postMessage(CHANNEL, { author: OTHER, content: 'after' });
    await waitFor('after', () => messages().includes('after'));
    assert.deepEqual(messages(), [
      'before',
      'while away 0',
      'while away 1',
      'while away 2',
      'while away 3',
      'while away 4',
      'after',
    ]);
    assert.equal(resumed.replayed, 5, 'the five missed messages were replayed');
    assert.equal(client.sessionId, session, 'the same session was resumed');
    const seqs = events.map((e) => e.s).filter((s): s is number => s !== null);
    for (let i = 1; i < seqs.length; i++)
      assert.ok(seqs[i]! > seqs[i - 1]!, `seq ${seqs[i]} after ${seqs[i - 1]}`);
    const ids = events.filter((e) => e.t === 'MESSAGE_CREATE').map((e) => (e.d as { id: string }).id);
    assert.equal(new Set(ids).size, ids.length, 'no message delivered twice');
    assert.equal(client.counters.resumes, 1);
    assert.equal(client.counters.identifies, 1);
    await client.close();
  });

  test('op 7 Reconnect → resume of the same session', async () => {
    const { client, messages } = start();
    await ready(client);
    const session = client.sessionId;
    discord.faults.sendReconnect(USER.id);
    await once(client, 'resumed', { signal: AbortSignal.timeout(5000) });
    assert.equal(client.sessionId, session);
    discord.postMessage(CHANNEL, { author: BOT, content: 'still here' });
    await waitFor('message after op 7', () => messages().includes('still here'));
    await client.close();
  });

  test('op 9 true → resume; op 9 false → a new session after the invalid-session wait', async () => {
    const { client } = start();
    await ready(client);
    const first = client.sessionId;
    discord.faults.sendInvalidSession(true, USER.id);
    await once(client, 'resumed', { signal: AbortSignal.timeout(5000) });
    assert.equal(client.sessionId, first);
    discord.faults.sendInvalidSession(false, USER.id);
    const [fresh] = await once(client, 'ready', { signal: AbortSignal.timeout(5000) });
    assert.notEqual(fresh.sessionId, first);
    assert.equal(client.counters.identifies, 2);
    assert.equal(client.state, 'ready');
    await client.close();
  });

  test('close codes: 4000 resumes, 4009 starts a new session', async () => {
    const { client } = start();
    await ready(client);
    const first = client.sessionId;
    discord.faults.closeWith(4000, USER.id);
    await once(client, 'resumed', { signal: AbortSignal.timeout(5000) });
    assert.equal(client.sessionId, first);
    discord.faults.closeWith(4009, USER.id);
    const [fresh] = await once(client, 'ready', { signal: AbortSignal.timeout(5000) });
    assert.notEqual(fresh.sessionId, first);
    await client.close();
  });

  test('close 4004 is fatal: event with "token invalid", state fatal, no reconnect', async () => {
    const { client, states } = start();
    await ready(client);
    const fatal = once(client, 'fatal', { signal: AbortSignal.timeout(5000) });
    discord.faults.closeWith(4004, USER.id);
    const [ev] = await fatal;
    assert.deepEqual(ev, { code: 4004, reason: 'token invalid' });
    const connections = discord.stats().connections;
    await sleep(200);
    assert.equal(client.state, 'fatal');
    assert.equal(states.at(-1)?.to, 'fatal');
    assert.equal(discord.stats().connections, connections, 'no new connection after a fatal close');
  });

  test('a wrong token is refused at Identify with 4004 and the client gives up', async () => {
    const { client } = start({ token: 'not-a-real-token' });
    const [ev] = await once(client, 'fatal', { signal: AbortSignal.timeout(5000) });
    assert.equal(ev.code, 4004);
    assert.equal(client.state, 'fatal');
    assert.equal(client.sessionId, null);
  });

  test('a zombie connection (no ACK) is closed by the client and resumed', async () => {
    const { client, states, messages } = start();
    await ready(client);
    const session = client.sessionId;
    discord.faults.stopAcks();
    try {
      await waitFor('zombie detected', () => states.find((s) => s.reason?.includes('zombie')));
    } finally {
      discord.faults.resumeAcks();
    }
    await waitFor('ready again', () => client.state === 'ready' && client.counters.resumes >= 1);
    assert.equal(client.sessionId, session);
    discord.postMessage(CHANNEL, { author: BOT, content: 'after the zombie' });
    await waitFor('message after zombie', () => messages().includes('after the zombie'));
    await client.close();
  });

  test('compressed payloads split across two websocket messages decode, in order', async () => {
    const { client, messages } = start();
    await ready(client);
    discord.faults.splitFrames(true);
    try {
      discord.postMessage(CHANNEL, { author: BOT, content: 'x'.repeat(3000) });
      discord.postMessage(CHANNEL, { author: BOT, content: 'after the big one' });
      discord.postMessage(CHANNEL, { author: BOT, content: 'y' });
      await waitFor('three messages', () => messages().length >= 3);
    } finally {
      discord.faults.splitFrames(false);
    }
    assert.deepEqual(messages(), ['x'.repeat(3000), 'after the big one', 'y']);
    assert.equal(client.state, 'ready');
    await client.close();
  });

  test('without compression the client reads plain text frames', async () => {
    const { client, messages } = start({ compress: false });
    await ready(client);
    discord.postMessage(CHANNEL, { author: BOT, content: 'plain' });
    await waitFor('plain message', () => messages().includes('plain'));
    await client.close();
  });

  test('close() ends the session with 1000: it can no longer be resumed', async () => {
    const { client } = start();
    await ready(client);
    const session = client.sessionId;
    const seq = client.seq;
    await client.close();
    assert.equal(client.state, 'closed');
    assert.equal(client.sessionId, null);
    await sleep(50); // the server handles the close frame on its own schedule
    const resumes = discord.stats().resumes;
    const raw = new RawGateway(discord.gatewayUrl);
    await raw.open();
    raw.send({ op: 6, d: { token: USER.token, session_id: session, seq } });
    await waitFor('op 9', () => raw.payloads.find((p) => p.op === 9));
    assert.equal(raw.payloads.find((p) => p.op === 9)?.d, false);
    assert.equal(discord.stats().resumes, resumes);
    await raw.close();
  });
});

describe('gateway client against a scripted server', () => {
  let wss: WebSocketServer;
  let url: string;
  const received: { op: number; d: unknown }[][] = [];
  let script: (socket: import('ws').WebSocket, index: number) => void = () => {};

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    const addr = wss.address() as import('node:net').AddressInfo;
    url = `ws://127.0.0.1:${addr.port}`;
    wss.on('connection', (socket) => {
      const mine: { op: number; d: unknown }[] = [];
      received.push(mine);
      socket.on('message', (data) => mine.push(JSON.parse(data.toString())));
      script(socket, received.length - 1);
    });
  });
  after(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });

  function client(extra: Partial<ConstructorParameters<typeof GatewayClient>[0]> = {}) {
    return new GatewayClient({
      token: 'raw-user-token',
      url,
      userAgent: UA,
      logger: silentLogger(),
      backoff: { minMs: 10, maxMs: 40 },
      compress: false,
      ...extra,
    });
  }

  test('Identify is the user-account payload: raw token, capabilities, browser properties from the UA', async () => {
    received.length = 0;
    script = (socket) => socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 60_000 } }));
    const c = client({ identifyProperties: { release_channel: 'canary' } });
    c.connect();
    const identify = await waitFor('identify', () => received[0]?.find((p) => p.op === 2));
    const d = identify.d as Record<string, Record<string, unknown>>;
    assert.equal(d.token, 'raw-user-token' as unknown);
    assert.equal(d.capabilities, 16381 as unknown);
    assert.equal(d.compress, false as unknown);
    assert.equal(d.properties?.browser_user_agent, UA);
    assert.equal(d.properties?.os, 'Windows');
    assert.equal(d.properties?.browser, 'Chrome');
    assert.equal(d.properties?.browser_version, '146.0.0.0');
    assert.equal(d.properties?.release_channel, 'canary');
    assert.equal(d.presence?.status, 'online');
    await c.close();
  });

  test('op 1 from the server gets an immediate heartbeat with the last sequence', async () => {
    received.length = 0;
    script = (socket) => {
      socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 60_000 } }));
      socket.send(
        JSON.stringify({
          op: 0,
          s: 1,
          t: 'READY',
          d: { session_id: 'a'.repeat(32), resume_gateway_url: url, user: { id: '1', username: 'u' } },
        }),
      );
      socket.send(JSON.stringify({ op: 0, s: 2, t: 'SOMETHING_NEW', d: {} }));
      setTimeout(() => socket.send(JSON.stringify({ op: 1, d: null })), 50);
    };
    // random() = 1: the first scheduled heartbeat is a whole interval (60 s) away.
    const c = client({ random: () => 0.999 });
    c.connect();
    const beat = await waitFor('heartbeat', () => received[0]?.find((p) => p.op === 1));
    assert.equal(beat.d, 2);
    assert.equal(c.state, 'ready');
    await c.close();
  });

  test('no Hello in time → a new socket', async () => {
    received.length = 0;
    script = (socket, index) => {
      if (index > 0) socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 60_000 } }));
    };
    const c = client({ helloTimeoutMs: 100 });
    c.connect();
    await waitFor('identify on the second socket', () => received[1]?.find((p) => p.op === 2));
    assert.ok(c.counters.reconnects >= 1);
    assert.equal(received[0]?.length, 0, 'nothing was sent before Hello');
    await c.close();
  });

  test('reconnects back off: attempts against a dead server grow apart', async () => {
    const dead = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(dead, 'listening');
    const port = (dead.address() as import('node:net').AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const times: number[] = [];
    const c = new GatewayClient({
      token: 't',
      url: `ws://127.0.0.1:${port}`,
      userAgent: UA,
      logger: silentLogger(),
      backoff: { minMs: 20, maxMs: 160 },
      random: () => 0.999,
    });
    c.on('state', (s) => {
      if (s.to === 'reconnecting') times.push(Date.now());
    });
    c.connect();
    await waitFor('five attempts', () => c.counters.reconnects >= 5, 5000);
    await c.close();
    assert.equal(c.state, 'closed');
    const total = Date.now() - (times[0] ?? Date.now());
    // 20 + 40 + 80 + 160 + 160 ms of waiting at least (random ≈ 1): never a busy loop.
    assert.ok(total >= 400, `five reconnects took only ${total} ms`);
  });
});
