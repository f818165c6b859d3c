import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@redis/client';
import { type FakeTelegram, type FakeUser, startFakeTelegram } from '../fakes/telegram-api.ts';
import {
  type InstanceProc,
  type RedisProc,
  type SandboxProc,
  startInstance,
  startRedis,
  startSandboxProcess,
  waitFor,
} from '../helpers/processes.ts';
import { png } from '../telegram/helpers.ts';

const TTL = 3000;
/** Slow enough that a job is still running after a holder's death and its lease's lapse. */
const SPEED = 3;

type Watcher = Awaited<ReturnType<typeof connectWatcher>>;

async function connectWatcher(url: string) {
  const w = createClient({ url });
  await w.connect();
  return w;
}

/** Three instances of one bot on one Redis and one sandbox, all separate processes. */
async function startCluster(
  names: string[],
  telegram: (tg: FakeTelegram) => Record<string, unknown>,
): Promise<{
  redis: RedisProc;
  sandbox: SandboxProc;
  tg: FakeTelegram;
  watcher: Watcher;
  instances: Map<string, InstanceProc>;
  config(id: string): Record<string, unknown>;
}> {
  const [redis, sandbox, tg] = await Promise.all([
    startRedis(),
    startSandboxProcess(4, SPEED),
    startFakeTelegram(),
  ]);
  const imagesDir = join(mkdtempSync(join(tmpdir(), 'mjb-tgcluster-')), 'images');
  const config = (id: string) => ({
    accounts: sandbox.line.accounts.map((a) => ({ ...a, timeoutMinutes: 2 })),
    proxy: sandbox.line.proxy,
    store: { url: redis.url },
    images: { dir: imagesDir },
    settings: { interactionIntervalMs: 0, allowPrivateNetworks: true },
    telegram: { token: tg.token, apiRoot: tg.apiRoot, ...telegram(tg) },
    cluster: { instanceId: id, leaseTtlMs: TTL },
  });
  // One after the other: three compiling at once on a loaded machine starve each other's renewals.
  const instances = new Map<string, InstanceProc>();
  for (const id of names) instances.set(id, await startInstance(config(id)));
  const watcher = await connectWatcher(redis.url);
  return { redis, sandbox, tg, watcher, instances, config };
}

/** getUpdates calls an instance made, from its own metrics. */
async function pollsOf(inst: InstanceProc): Promise<number> {
  const res = await fetch(`${inst.url}/metrics`).catch((err: Error) => {
    throw new Error(
      `${inst.url}: ${err.message} (exit ${inst.child.exitCode} ${inst.child.signalCode}) ${inst.stderr()}`,
    );
  });
  const text = await res.text();
  let n = 0;
  for (const m of text.matchAll(/^mjb_telegram_api_calls_total\{([^}]*)\} (\d+)/gm)) {
    if (/method="getUpdates"/.test(m[1] ?? '')) n += Number(m[2]);
  }
  return n;
}

/** Waits for the final of a job; on a time-out the instances' warnings tell why. */
async function waitFinal(
  tg: FakeTelegram,
  instances: Map<string, InstanceProc>,
  chatId: number,
  prompt: string,
): Promise<void> {
  try {
    await tg.waitFor(() => finalOf(tg, chatId, prompt), 90_000, `chat ${chatId}: the final of "${prompt}"`);
  } catch (err) {
    const logs = [...instances].map(([name, i]) => `--- ${name}\n${i.stderr().slice(-3000)}`).join('\n');
    // Where the job stands, as the instances see it (a job stuck upstream, or a final not sent).
    const views = await Promise.all(
      [...instances].map(async ([name, i]) => {
        const body = await fetch(`${i.url}/task/list`)
          .then(async (r) => {
            const list = ((await r.json()) as { data: Record<string, unknown>[] }).data;
            return list.map(
              (t) => `${t.id} ${t.status} "${t.prompt}" on ${t.discordId} ${t.failReason ?? ''}`,
            );
          })
          .catch((e: Error) => [e.message]);
        return `--- ${name} /task/list:\n${body.join('\n')}`;
      }),
    );
    throw new Error(`${(err as Error).message}\n${logs}\n${views.join('\n')}`);
  }
}

/** The grid a job in this chat ended with (its final photo). */
function finalOf(tg: FakeTelegram, chatId: number, prompt: string) {
  return tg.botMessages(chatId).find((m) => m.photo && m.caption === prompt);
}

/** What the bot sent a chat: status messages (text) and photos, successful calls only. */
function sentTo(tg: FakeTelegram, chatId: number) {
  return {
    messages: tg.callsOf('sendMessage', chatId).filter((c) => c.ok),
    photos: tg.callsOf('sendPhoto', chatId).filter((c) => c.ok),
  };
}

/** The status message of a chat's one job: its id, once it has been edited at least once. */
async function statusEdited(tg: FakeTelegram, chatId: number): Promise<number> {
  return tg.waitFor(
    () => {
      // The job's first message is its status (a preview may have turned it into a photo).
      const status = tg.messages(chatId).find((m) => m.fromBot);
      return status && !status.deleted && status.editTimes.length > 0 ? status.message_id : undefined;
    },
    60_000,
    `chat ${chatId}: its status message edited`,
  );
}

describe('Telegram in a cluster, polling (SPEC §13): one poller on a lease, one sender of each message', () => {
  let c: Awaited<ReturnType<typeof startCluster>>;
  let leaseKey = '';
  const users: FakeUser[] = [];
  const holder = async () => (await c.watcher.get(leaseKey)) ?? undefined;

  before(async () => {
    c = await startCluster(['p1', 'p2', 'p3'], () => ({}));
    leaseKey = `mjb:telegram:${c.tg.botUser.id}:lease:bot`;
    for (let i = 0; i < 12; i++) users.push(c.tg.user(8100 + i));
  });

  after(async () => {
    await c?.watcher.quit();
    await Promise.all([...(c?.instances.values() ?? [])].map((i) => i.stop('SIGKILL')));
    await c?.sandbox.stop();
    await c?.redis.stop();
    await c?.tg.close();
  });

  test('one instance polls; jobs from several chats each get one status message and one final', async () => {
    const poller = await waitFor('a holder of the bot lease', holder, 4 * TTL);
    assert.ok(c.instances.has(poller), `the lease names an instance: ${poller}`);
    const chats = users.slice(0, 4);
    chats.forEach((u, i) => {
      c.tg.sendText({ from: u, text: `a quiet harbour ${i}` });
    });
    for (const [i, u] of chats.entries()) await waitFinal(c.tg, c.instances, u.id, `a quiet harbour ${i}`);
    for (const u of chats) {
      const sent = sentTo(c.tg, u.id);
      assert.equal(sent.messages.length, 1, `chat ${u.id}: one status message`);
      assert.equal(sent.photos.length, 1, `chat ${u.id}: one final`);
    }
    for (const [name, inst] of c.instances) {
      const polls = await pollsOf(inst);
      if (name === poller) assert.ok(polls > 0, 'the holder polls');
      else assert.equal(polls, 0, `${name} holds no lease and never polls`);
    }
    // Two pollers would cut each other's long polls off with a 409.
    assert.equal(c.tg.callsOf('getUpdates').filter((x) => x.errorCode === 409).length, 0);
    assert.equal((await c.sandbox.stats()).jobs, 4, 'each update started one job');
  });

  test('SIGKILL of the poller mid-job: another polls within one TTL, the status messages go on, nothing is sent twice', async () => {
    const victimName = (await holder()) as string;
    const victim = c.instances.get(victimName) as InstanceProc;
    const chats = users.slice(4, 7);
    chats.forEach((u, i) => {
      c.tg.sendText({ from: u, text: `a stormy coast ${i}` });
    });
    const statusIds = new Map<number, number>();
    for (const u of chats) statusIds.set(u.id, await statusEdited(c.tg, u.id));
    for (const [i, u] of chats.entries()) assert.equal(finalOf(c.tg, u.id, `a stormy coast ${i}`), undefined);

    await victim.stop('SIGKILL');
    const killedAt = Date.now();
    c.instances.delete(victimName);
    const next = await waitFor(
      'another instance holding the bot lease',
      async () => {
        const h = await holder();
        return h && h !== victimName ? h : undefined;
      },
      4 * TTL,
    );
    const takenAt = Date.now();
    assert.ok(c.instances.has(next));
    assert.ok(takenAt - killedAt <= TTL + 1000, `taken over after ${takenAt - killedAt} ms (TTL ${TTL})`);

    // Polling goes on there: a message sent now is answered.
    const late = users[7] as FakeUser;
    c.tg.sendText({ from: late, text: 'after the fall' });
    await waitFinal(c.tg, c.instances, late.id, 'after the fall');
    for (const [i, u] of chats.entries()) await waitFinal(c.tg, c.instances, u.id, `a stormy coast ${i}`);

    for (const u of [...chats, late]) {
      const sent = sentTo(c.tg, u.id);
      assert.equal(sent.messages.length, 1, `chat ${u.id}: one status message, never a second`);
      assert.equal(sent.photos.length, 1, `chat ${u.id}: one final`);
    }
    for (const u of chats) {
      const id = statusIds.get(u.id) as number;
      const status = c.tg.message(u.id, id);
      // The same message was taken over: edited after the take-over, then removed at the final.
      assert.ok(
        status?.editTimes.some((t) => t > killedAt),
        `chat ${u.id}: status edited after the take-over`,
      );
      assert.ok(status?.deleted, `chat ${u.id}: the status message gave way to the final`);
    }
    assert.equal((await pollsOf(c.instances.get(next) as InstanceProc)) > 0, true);
    assert.equal((await c.sandbox.stats()).jobs, 4 + chats.length + 1, 'no update handled twice');
  });

  test('SIGTERM hands the bot over at once; the job it was showing finishes on the same status message', async () => {
    const leavingName = (await holder()) as string;
    const leaving = c.instances.get(leavingName) as InstanceProc;
    const u = users[8] as FakeUser;
    c.tg.sendText({ from: u, text: 'a calm lagoon' });
    const statusId = await statusEdited(c.tg, u.id);
    assert.equal(await leaving.stop('SIGTERM'), 0);
    c.instances.delete(leavingName);
    // Released, not left to lapse.
    assert.notEqual(await holder(), leavingName);
    const next = await waitFor(
      'the staying instance holding the bot lease',
      async () => {
        const h = await holder();
        return h && h !== leavingName ? h : undefined;
      },
      4 * TTL,
    );
    assert.ok(c.instances.has(next));
    const v = users[9] as FakeUser;
    c.tg.sendText({ from: v, text: 'after the leave' });
    await waitFinal(c.tg, c.instances, u.id, 'a calm lagoon');
    await waitFinal(c.tg, c.instances, v.id, 'after the leave');
    for (const chat of [u, v]) {
      const sent = sentTo(c.tg, chat.id);
      assert.equal(sent.messages.length, 1, `chat ${chat.id}: one status message`);
      assert.equal(sent.photos.length, 1, `chat ${chat.id}: one final`);
    }
    assert.ok(c.tg.message(u.id, statusId)?.deleted, 'the same status message ended the job');
  });
});

describe('Telegram in a cluster, webhook (SPEC §13): every instance takes updates', () => {
  let c: Awaited<ReturnType<typeof startCluster>>;
  let lb: Server;
  let lbUrl = '';
  /** Instance name → update ids it answered with 200. */
  const handledBy = new Map<string, number[]>();
  let duplicated: number | undefined;

  before(async () => {
    // A round-robin load balancer in front of the instances; the first update is also delivered
    // a second time to the next instance, as a Telegram redelivery through the balancer would be.
    let turn = 0;
    let order: [string, InstanceProc][] = [];
    lb = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (b: Buffer) => chunks.push(b));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const updateId = (JSON.parse(body.toString('utf8')) as { update_id: number }).update_id;
        const forward = async ([name, inst]: [string, InstanceProc]) => {
          const r = await fetch(`${inst.url}${req.url}`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-telegram-bot-api-secret-token': String(req.headers['x-telegram-bot-api-secret-token'] ?? ''),
            },
            body,
          });
          if (r.status === 200) handledBy.set(name, [...(handledBy.get(name) ?? []), updateId]);
          return r.status;
        };
        const first = order[turn++ % order.length] as [string, InstanceProc];
        void (async () => {
          const status = await forward(first);
          if (duplicated === undefined) {
            duplicated = updateId;
            await forward(order[turn % order.length] as [string, InstanceProc]);
          }
          res.writeHead(status).end();
        })().catch(() => res.writeHead(502).end());
      });
    });
    await new Promise<void>((r) => lb.listen(0, '127.0.0.1', () => r()));
    lbUrl = `http://127.0.0.1:${(lb.address() as AddressInfo).port}/tg/hook`;
    c = await startCluster(['w1', 'w2', 'w3'], () => ({ webhook: { url: lbUrl }, maxJobsPerUser: 1 }));
    order = [...c.instances.entries()];
  });

  after(async () => {
    await c?.watcher.quit();
    await Promise.all([...(c?.instances.values() ?? [])].map((i) => i.stop('SIGKILL')));
    await c?.sandbox.stop();
    await c?.redis.stop();
    await c?.tg.close();
    lb?.close();
  });

  test('updates go to all three instances; each job gets one status message and one final; a redelivery is handled once', async () => {
    await waitFor('the webhook set', async () => (c.tg.webhook?.url === lbUrl ? true : undefined), 30_000);
    await waitFor(
      'a holder of the bot lease',
      async () => (await c.watcher.get(`mjb:telegram:${c.tg.botUser.id}:lease:bot`)) ?? undefined,
      4 * TTL,
    );
    const chats = [9101, 9102, 9103, 9104, 9105, 9106].map((id) => c.tg.user(id));
    for (const [i, u] of chats.entries()) {
      c.tg.sendText({ from: u, text: `a hooked heron ${i}` });
      // One delivery at a time, as Telegram sends them: each lands on the next instance.
      await c.tg.waitFor(() => c.tg.webhookDeliveries.length === i + 1, 30_000, `delivery ${i + 1}`);
    }
    for (const [i, u] of chats.entries()) await waitFinal(c.tg, c.instances, u.id, `a hooked heron ${i}`);
    for (const u of chats) {
      const sent = sentTo(c.tg, u.id);
      assert.equal(sent.messages.length, 1, `chat ${u.id}: one status message`);
      assert.equal(sent.photos.length, 1, `chat ${u.id}: one final`);
    }
    assert.deepEqual(
      c.tg.webhookDeliveries.map((d) => d.status),
      chats.map(() => 200),
    );
    for (const name of c.instances.keys())
      assert.ok((handledBy.get(name) ?? []).length >= 2, `${name} took updates: ${handledBy.get(name)}`);
    assert.equal(
      [...handledBy.values()].flat().filter((id) => id === duplicated).length,
      2,
      'the redelivery reached a second instance',
    );
    assert.equal(c.tg.callsOf('getUpdates').length, 0, 'nobody polls with a webhook');
    assert.equal((await c.sandbox.stats()).jobs, chats.length, 'the redelivered update started one job');
  });

  test('an album whose photos reach different instances is one blend; a second job through another instance counts against maxJobsPerUser', async () => {
    const jobsBefore = (await c.sandbox.stats()).jobs;
    const u = c.tg.user(9201);
    const delivered = c.tg.webhookDeliveries.length;
    c.tg.sendAlbum({ from: u, images: [png('al1'), png('al2'), png('al3')], caption: '/blend' });
    await c.tg.waitFor(() => c.tg.webhookDeliveries.length === delivered + 3, 30_000, 'the album delivered');
    const parts = c.tg.webhookDeliveries.slice(delivered).map((d) => d.updateId);
    const receivers = new Set(
      [...handledBy].filter(([, ids]) => ids.some((id) => parts.includes(id))).map(([name]) => name),
    );
    assert.equal(receivers.size, 3, 'each photo of the album went to another instance');
    await c.tg.waitFor(() => c.tg.callsOf('sendPhoto', u.id).some((x) => x.ok), 90_000, 'the blend’s result');
    assert.equal(sentTo(c.tg, u.id).messages.length, 1, 'one status message, no refusal');
    assert.equal(sentTo(c.tg, u.id).photos.length, 1);
    assert.equal((await c.sandbox.stats()).jobs, jobsBefore + 1, 'one blend of three photos');

    // maxJobsPerUser is 1: the second prompt lands on another instance while the first runs.
    const w = c.tg.user(9202);
    const at = c.tg.webhookDeliveries.length;
    c.tg.sendText({ from: w, text: 'a first heron' });
    await c.tg.waitFor(() => c.tg.webhookDeliveries.length === at + 1, 30_000, 'the first prompt delivered');
    await c.tg.waitFor(() => sentTo(c.tg, w.id).messages.length === 1, 30_000, 'its status message');
    c.tg.sendText({ from: w, text: 'a second heron' });
    await c.tg.waitFor(
      () => c.tg.botMessages(w.id).find((m) => /limit of unfinished jobs \(1\)/.test(m.text ?? '')),
      30_000,
      'the refusal of the second job',
    );
    await waitFinal(c.tg, c.instances, w.id, 'a first heron');
    assert.equal((await c.sandbox.stats()).jobs, jobsBefore + 2, 'the second prompt started nothing');
  });

  test('pub/sub messages lost while the jobs run (subscribers cut off again and again): every job still gets its one final', async () => {
    // Chats of their own (the tests above used 91xx and 92xx).
    const chats = [9301, 9302, 9303].map((id) => c.tg.user(id));
    const before = c.tg.webhookDeliveries.length;
    for (const [i, u] of chats.entries()) {
      c.tg.sendText({ from: u, text: `a drifting kelp ${i}` });
      await c.tg.waitFor(() => c.tg.webhookDeliveries.length === before + i + 1, 30_000, `delivery ${i + 1}`);
    }
    // Redis pub/sub delivers at most once: what is published while a subscriber reconnects is lost.
    let cutting = true;
    const cutter = (async () => {
      while (cutting) {
        await c.watcher.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']).catch(() => undefined);
        // Faster than a reconnect: the subscribers are away nearly all the time.
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      for (const [i, u] of chats.entries()) await waitFinal(c.tg, c.instances, u.id, `a drifting kelp ${i}`);
    } finally {
      cutting = false;
      await cutter;
    }
    for (const u of chats) {
      const sent = sentTo(c.tg, u.id);
      assert.equal(sent.messages.length, 1, `chat ${u.id}: one status message`);
      assert.equal(sent.photos.length, 1, `chat ${u.id}: one final`);
    }
  });
});
