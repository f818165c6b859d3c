import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { type Service, startService } from '../helpers/service.ts';
import { type CompatTaskJson, mjCall, NewApiRelay, type SubmitResponse } from './clients.ts';

const KEY = 'hook-secret';

async function receiver(): Promise<{ server: Server; url: string; got: { raw: string; sig: string }[] }> {
  const got: { raw: string; sig: string }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      raw += c;
    });
    req.on('end', () => {
      got.push({ raw, sig: String(req.headers['x-mj-signature'] ?? '') });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    server,
    url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/mj/notify`,
    got,
  };
}

describe('/mj notifyHook callbacks and speed prefixes', () => {
  let svc: Service;
  let rx: Awaited<ReturnType<typeof receiver>>;
  before(async () => {
    rx = await receiver();
    svc = await startService({ speed: 300, settings: { secret: KEY, allowPrivateNetworks: true } });
  });
  after(async () => {
    await svc.close();
    rx.server.close();
  });

  test('a task made on /mj calls its notifyHook with the compat task, in order, signed', async () => {
    const res = await mjCall(
      svc.app.url,
      '/mj/submit/imagine',
      { prompt: 'tell chatnio', notifyHook: rx.url, state: 'chat-7' },
      { 'mj-api-secret': KEY },
    );
    const id = String((res.body as SubmitResponse).result);
    await new NewApiRelay(svc.app.url, KEY).poll(id);
    // properties (SPEC §12.3) hold what Discord and Midjourney said of the job.
    const fetched = (await mjCall(svc.app.url, `/mj/task/${id}/fetch`, undefined, { 'mj-api-secret': KEY }))
      .body as CompatTaskJson;
    const p = fetched.properties;
    const seed = await svc.app.engine.get(id);
    const job = svc.sandbox.bot.jobByHash(seed?.messageHash ?? '');
    const result = svc.sandbox.discord.getMessage(seed?.discordId ?? '', seed?.messageId ?? '');
    assert.ok(job && result);
    assert.equal(p.nonce, job.nonce, 'the nonce of the interaction that started the job');
    assert.match(String(p.progressMessageId), /^\d{15,25}$/);
    assert.notEqual(p.progressMessageId, p.messageId);
    assert.equal(p.messageId, result.id);
    assert.equal(p.messageHash, job.hash);
    assert.equal(p.flags, result.flags ?? 0);
    assert.equal(p.messageContent, result.content);
    assert.match(String(p.messageContent), /^\*\*tell chatnio\*\* - <@\d+> \(fast\)$/);
    assert.equal(p.notifyHook, rx.url);
    assert.equal(p.discordChannelId, svc.sandbox.accounts[0]?.channel_id);
    assert.equal(p.discordInstanceId, svc.sandbox.accounts[0]?.channel_id);
    assert.equal(p.finalPrompt, 'tell chatnio');
    assert.equal(p.botType, 'MID_JOURNEY');
    await svc.app.engine.stop().catch(() => {}); // drains the callbacks
    const mine = rx.got
      .map((g) => ({ ...g, task: JSON.parse(g.raw) as CompatTaskJson }))
      .filter((g) => g.task.id === id);
    assert.ok(mine.length >= 3, `callbacks: ${mine.length}`);
    const statuses = mine.map((g) => g.task.status);
    assert.equal(statuses[0], 'SUBMITTED');
    assert.ok(statuses.includes('IN_PROGRESS'));
    assert.equal(statuses.at(-1), 'SUCCESS');
    assert.equal(statuses.indexOf('SUCCESS'), statuses.length - 1, 'SUCCESS comes last, once');
    const last = mine.at(-1);
    assert.equal(last?.task.progress, '100%');
    assert.equal(last?.task.state, 'chat-7');
    assert.ok(last?.task.imageUrl);
    assert.equal(typeof last?.task.buttons[0]?.customId, 'string');
    assert.deepEqual(last?.task.properties, p, 'the last callback carries the same properties');
    for (const g of mine) {
      assert.equal(g.sig, `sha256=${createHmac('sha256', KEY).update(g.raw).digest('hex')}`);
    }
  });
});

describe('/mj-relax, /mj-fast, /mj-turbo', () => {
  test('the mode prefix adds its flag unless the prompt names a speed; lists work under it', async () => {
    const svc = await startService({ speed: 300 });
    try {
      const relay = new NewApiRelay(`${svc.app.url}/mj-relax`, '');
      const a = await mjCall(`${svc.app.url}/mj-relax`, '/mj/submit/imagine', { prompt: 'a slow boat' }, {});
      const b = await mjCall(
        `${svc.app.url}/mj-turbo`,
        '/mj/submit/imagine',
        { prompt: 'a boat --fast' },
        {},
      );
      const ta = await relay.poll(String((a.body as SubmitResponse).result));
      const tb = await relay.poll(String((b.body as SubmitResponse).result));
      assert.equal(ta.status, 'SUCCESS', ta.failReason ?? '');
      assert.equal(ta.prompt, 'a slow boat --relax');
      assert.equal(tb.prompt, 'a boat --fast');
      const plain = await mjCall(svc.app.url, '/mj/submit/imagine', { prompt: 'no prefix' }, {});
      const tp = await relay.poll(String((plain.body as SubmitResponse).result));
      assert.equal(tp.prompt, 'no prefix');
      assert.equal((await mjCall(svc.app.url, '/mj-slow/mj/task/list', undefined, {})).status, 404);
    } finally {
      await svc.close();
    }
  });
});

describe('MODAL tasks over time and restarts', () => {
  let sandbox: Sandbox;
  let storeFile: string;
  before(async () => {
    sandbox = await startSandbox({ speed: 300, logger: silentLogger() });
    storeFile = join(mkdtempSync(join(tmpdir(), 'mjb-modal-')), 'tasks.sqlite');
  });
  after(async () => {
    await sandbox.close();
  });

  /** The service as a live account pointed at the sandbox, so timeoutMinutes is ours to set. */
  async function start(): Promise<App> {
    const acc = sandbox.accounts[0];
    assert.ok(acc);
    const config = parseConfig({
      listen: 'http://127.0.0.1:0',
      accounts: [
        { token: acc.token, channel_id: acc.channel_id, guild_id: acc.guild_id, timeoutMinutes: 0.1 },
      ],
      proxy: sandbox.proxy,
      store: { url: `sqlite://${storeFile}` },
      settings: { interactionIntervalMs: 0 },
      logLevel: 'silent',
    });
    const app = await startApp(config, {
      logger: silentLogger(),
      engine: { backoff: { minMs: 20, maxMs: 100 } },
    });
    const by = Date.now() + 10_000;
    while (app.engine.health().status !== 'ok' && Date.now() < by)
      await new Promise((r) => setTimeout(r, 10));
    return app;
  }

  const zoomForm = async (app: App, relay: NewApiRelay): Promise<string> => {
    const grid = await relay.poll(String((await relay.accepted('imagine', { prompt: 'a windmill' })).result));
    const up = await relay.poll(
      String(
        (await relay.accepted('action', { taskId: grid.id, customId: grid.buttons[0]?.customId })).result,
      ),
    );
    const zoom = up.buttons.find((b) => b.customId.startsWith('MJ::CustomZoom::'));
    const r = await relay.submit('action', { taskId: up.id, customId: zoom?.customId });
    assert.equal(r.code, 21);
    assert.ok(app);
    return String(r.result);
  };

  test('a MODAL task survives a restart and runs when its form comes', async () => {
    let app = await start();
    const id = await zoomForm(app, new NewApiRelay(app.url, ''));
    await app.close();
    app = await start();
    try {
      const relay = new NewApiRelay(app.url, '');
      const [t] = (await mjCall(app.url, '/mj/task/list-by-condition', { ids: [id] }, {}))
        .body as CompatTaskJson[];
      assert.equal(t?.status, 'MODAL');
      await relay.accepted('modal', { taskId: id, prompt: 'a windmill --zoom 1.2' });
      const done = await relay.poll(id);
      assert.equal(done.status, 'SUCCESS', done.failReason ?? '');
    } finally {
      await app.close();
    }
  });

  test("a MODAL task left alone fails after the account's timeoutMinutes, also across a restart", async () => {
    let app = await start();
    const relay = new NewApiRelay(app.url, '');
    const alone = await zoomForm(app, relay);
    const crossing = await zoomForm(app, relay);
    const t = await relay.poll(alone, 20_000);
    assert.equal(t.status, 'FAILURE');
    assert.equal(t.failReason, 'the form was not submitted within 0.1 minutes');
    await app.close();
    // The second form's time runs out while the service is down.
    await new Promise((r) => setTimeout(r, 1000));
    app = await start();
    try {
      const c = await new NewApiRelay(app.url, '').poll(crossing, 5000);
      assert.equal(c.status, 'FAILURE');
      assert.equal(c.failReason, 'the form was not submitted within 0.1 minutes');
      assert.equal(c.progress, '100%');
    } finally {
      await app.close();
    }
  });
});
