/**
 * §11 row 6: 100 Telegram chats with a running job each. The whole service (engine, sandbox
 * Midjourney, Telegram front) runs against the fake Bot API holding Telegram's flood limits: one
 * call a second per chat and 30 a second overall, `retry_after` 5 s beyond them. Counted: 429s
 * answered, finals delivered, how long a final took to arrive after its job finished. Baseline:
 * the same run with the front's pacing switched off (a bot that edits on every progress event).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import type { TelegramTiming } from '../src/telegram/context.ts';
import { startFakeTelegram } from '../test/fakes/telegram-api.ts';
import { fmt, percentile, type Row } from './lib/report.ts';

interface Outcome {
  limited: number;
  calls: number;
  delivered: number;
  /** Job FINISHED → its photo arrived, ms. */
  finalDelays: number[];
  seconds: number;
}

const UNPACED: Partial<TelegramTiming> = {
  privateEditMs: 0,
  groupEditMs: 0,
  previewEditMs: 0,
  queueRefreshMs: 0,
  pacing: { globalPerSecond: 100_000, privateIntervalMs: 0, groupIntervalMs: 0 },
};

async function run(
  chats: number,
  timing: Partial<TelegramTiming> | undefined,
  spreadMs: number,
): Promise<Outcome> {
  const tg = await startFakeTelegram({
    flood: { perChat: 1, windowMs: 1000, global: 30, globalWindowMs: 1000, retryAfterS: 5 },
  });
  // Speed 2: a job runs ~20 s with a progress edit every 2.5 s, so every chat has a live job at once.
  const accounts = Math.ceil(chats / 3);
  const sandbox = await startSandbox({ speed: 2, accounts, logger: silentLogger() });
  const dir = mkdtempSync(join(tmpdir(), 'mjb-bench-tg-'));
  const config = parseConfig({
    listen: 'http://127.0.0.1:0',
    store: { url: `sqlite://${join(dir, 'tasks.sqlite')}` },
    images: { dir: join(dir, 'images') },
    logLevel: 'silent',
    settings: { interactionIntervalMs: 0 },
    telegram: { token: tg.token, apiRoot: tg.apiRoot, maxJobsPerUser: 3 },
  });
  const app = await startApp(config, {
    logger: silentLogger(),
    sandbox,
    ...(timing ? { telegramTiming: timing } : {}),
  });
  for (const by = Date.now() + 20_000; app.engine.health().status !== 'ok' && Date.now() < by; )
    await new Promise((r) => setTimeout(r, 20));

  const finishedAt = new Map<string, number>();
  app.engine.on('task', (task) => {
    if (task.status === 'FINISHED' && !finishedAt.has(task.prompt)) finishedAt.set(task.prompt, Date.now());
  });
  const users = Array.from({ length: chats }, (_, i) => tg.user(50_000 + i));
  const prompt = (id: number) => `bench chat ${id} lighthouse`;
  const started = Date.now();
  // The prompts come in over `spreadMs` (a job runs ~20 s, so with 10 s every chat's job is
  // running at once from the last prompt on), or all in the same moment with 0.
  void (async () => {
    for (const [i, u] of users.entries()) {
      const at = started + (spreadMs * i) / users.length;
      if (at > Date.now()) await new Promise((r) => setTimeout(r, at - Date.now()));
      tg.sendText({ from: u, text: prompt(u.id) });
    }
  })();
  const arrived = new Map<number, number>();
  const deadline = Date.now() + 180_000;
  while (arrived.size < chats && Date.now() < deadline) {
    for (const u of users) {
      if (arrived.has(u.id)) continue;
      // The grid, not the status message (also a photo once a preview shows): it carries U1.
      const photo = tg
        .botMessages(u.id)
        .find(
          (m) =>
            m.photo && m.caption?.includes(prompt(u.id)) && JSON.stringify(m.reply_markup).includes('"U1"'),
        );
      if (photo) arrived.set(u.id, photo.sentAt);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (Date.now() - started) / 1000;
  const finalDelays = users.flatMap((u) => {
    const at = arrived.get(u.id);
    const done = finishedAt.get(prompt(u.id));
    return at !== undefined && done !== undefined ? [at - done] : [];
  });
  const counted = tg.calls.filter((c) => c.method !== 'getUpdates');
  const outcome: Outcome = {
    limited: counted.filter((c) => c.errorCode === 429).length,
    calls: counted.length,
    delivered: arrived.size,
    finalDelays,
    seconds,
  };
  await app.close();
  await sandbox.close();
  await tg.close();
  return outcome;
}

export async function telegramChats(chats = 100): Promise<Row[]> {
  const SPREAD_MS = 10_000;
  const paced = await run(chats, undefined, SPREAD_MS);
  const naive = await run(chats, UNPACED, SPREAD_MS);
  // Every prompt in the same second: the finals then come within a second too, and 100 of them
  // under Telegram's 30 calls/s take over 3 s whatever the order; printed beside the row.
  const burst = await run(chats, undefined, 0);
  const describe = (o: Outcome) =>
    `${o.limited} × 429, ${o.delivered}/${chats} finals, ${o.calls} calls, final p99 ${fmt(percentile(o.finalDelays, 99) / 1000, 1)} s`;
  return [
    {
      what: `Telegram: ${chats} chats with a running job each, prompts over ${SPREAD_MS / 1000} s (fake Bot API at 1/s per chat, 30/s overall)`,
      figure: `${describe(paced)}; all prompts in one second: ${describe(burst)}`,
      baseline: `unpaced: ${describe(naive)}`,
      ratio: `${paced.limited} vs ${naive.limited} 429s`,
      target: '0 Telegram 429s, every final delivered, FINISHED → photo p99 ≤ 2 s',
      met:
        paced.limited === 0 &&
        burst.limited === 0 &&
        paced.delivered === chats &&
        burst.delivered === chats &&
        percentile(paced.finalDelays, 99) <= 2000,
    },
  ];
}
