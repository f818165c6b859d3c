/**
 * Shared pieces of the Discord client / simulated Discord tests: a small world (users, channels,
 * a command), polling waits, and a raw gateway client that records every payload it receives.
 */
import WebSocket from 'ws';
import { GatewayClient, type GatewayDispatch, type GatewayOptions } from '../../src/discord/gateway.ts';
import { RestClient, type RestOptions } from '../../src/discord/rest.ts';
import { ZlibStreamDecoder } from '../../src/discord/zlib-stream.ts';
import { silentLogger } from '../../src/log.ts';
import type { FakeDiscord } from '../../src/sandbox/discord/api.ts';
import { type FakeDiscordOptions, startFakeDiscord } from '../../src/sandbox/discord/server.ts';

export const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Safari/537.36';
export const USER = { id: '1200000000000000001', token: 'user.token.alice.0123456789', username: 'alice' };
export const OTHER = { id: '1200000000000000002', token: 'user.token.bob.0123456789', username: 'bob' };
export const BOT = {
  id: '936929561302675456',
  token: 'bot.token.never.used.by.clients',
  username: 'Some Bot',
  bot: true,
};
export const GUILD = '1100000000000000001';
export const CHANNEL = '1300000000000000001';
/** A channel alice is not in. */
export const FOREIGN = '1300000000000000002';
export const CMD = {
  id: '938956540159881230',
  version: '1237876415471554623',
  name: 'imagine',
  applicationId: BOT.id,
};

export async function startWorld(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const discord = await startFakeDiscord(opts);
  discord.addUser(USER);
  discord.addUser(OTHER);
  discord.addUser(BOT);
  discord.addChannel({ id: CHANNEL, guildId: GUILD, memberIds: [USER.id, OTHER.id, BOT.id] });
  discord.addChannel({ id: FOREIGN, guildId: GUILD, memberIds: [OTHER.id, BOT.id] });
  discord.addCommand(CMD);
  return discord;
}

export function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      let v: T | undefined | false;
      try {
        v = check();
      } catch (err) {
        reject(err);
        return;
      }
      if (v !== undefined && v !== false) resolve(v);
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A gateway client with small timings, recording what it dispatches. */
export function gatewayClient(
  discord: FakeDiscord,
  extra: Partial<GatewayOptions> = {},
): { client: GatewayClient; events: GatewayDispatch[]; messages: () => string[] } {
  const client = new GatewayClient({
    token: USER.token,
    url: discord.gatewayUrl,
    userAgent: UA,
    logger: silentLogger(),
    backoff: { minMs: 10, maxMs: 40 },
    invalidSessionDelayMs: { minMs: 5, maxMs: 15 },
    helloTimeoutMs: 2000,
    ...extra,
  });
  const events: GatewayDispatch[] = [];
  client.on('dispatch', (e) => events.push(e));
  const messages = () =>
    events.filter((e) => e.t === 'MESSAGE_CREATE').map((e) => String((e.d as { content?: unknown }).content));
  return { client, events, messages };
}

export function restClient(discord: FakeDiscord, extra: Partial<RestOptions> = {}): RestClient {
  return new RestClient({
    baseUrl: discord.origin,
    token: USER.token,
    userAgent: UA,
    logger: silentLogger(),
    retryDelayMs: { minMs: 5, maxMs: 20 },
    ...extra,
  });
}

/** A bare gateway socket: records every payload (decoded) and close, sends what it is told. */
export class RawGateway {
  readonly payloads: { op: number; d: unknown; s: number | null; t: string | null }[] = [];
  readonly binaryFrames: number[] = [];
  textFrames = 0;
  closed: { code: number; reason: string } | undefined;
  private readonly ws: WebSocket;
  private readonly decoder = new ZlibStreamDecoder();

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      let text: string | undefined;
      if (isBinary) {
        this.binaryFrames.push(data.length);
        text = this.decoder.push(data);
      } else {
        this.textFrames++;
        text = data.toString('utf8');
      }
      if (text !== undefined) this.payloads.push(JSON.parse(text));
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    this.ws.on('error', () => {});
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === WebSocket.OPEN) resolve();
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  send(payload: unknown): void {
    this.ws.send(typeof payload === 'string' ? payload : JSON.stringify(payload));
  }

  sendBinary(bytes: Buffer): void {
    this.ws.send(bytes, { binary: true });
  }

  dispatches(t: string): { d: unknown; s: number | null }[] {
    return this.payloads.filter((p) => p.op === 0 && p.t === t);
  }

  async identify(token = USER.token): Promise<string> {
    await this.open();
    this.send({ op: 2, d: { token, properties: { os: 'Linux', browser: 'test', device: '' } } });
    const ready = await waitFor('READY', () => this.dispatches('READY')[0]);
    return (ready.d as { session_id: string }).session_id;
  }

  close(code = 1000): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
      else this.ws.close(code);
    });
  }
}
