/**
 * Shared pieces of the Telegram tests: real PNGs for users' photos, and a harness that starts the
 * whole service (`src/app.ts`: engine, store, HTTP API and the Telegram front it wires) against the
 * in-process sandbox (simulated Discord + Midjourney over loopback) and the fake Bot API server.
 * Jobs run as the sandbox runs them; tests that need work to stay unfinished hold it there with
 * the sandbox's `holdJobs` fault.
 */
import type { Engine } from '../../src/engine/engine.ts';
import { isTerminal, type Task } from '../../src/engine/task.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { renderImage } from '../../src/sandbox/png.ts';
import type { TelegramFront } from '../../src/telegram/bot.ts';
import type { TelegramTiming } from '../../src/telegram/context.ts';
import type { KeyValue } from '../../src/telegram/kv.ts';
import { type FakeTelegram, type FloodLimits, startFakeTelegram } from '../fakes/telegram-api.ts';
import { type Service, startService } from '../helpers/service.ts';

/** A real PNG (the sandbox's renderer), different for every seed. */
export function png(seed: string, width = 16, height = 16): Buffer {
  return renderImage({ seed, step: 100, width, height });
}

export const FAST_TIMING: Partial<TelegramTiming> = {
  privateEditMs: 150,
  groupEditMs: 250,
  previewEditMs: 300,
  mediaGroupMs: 80,
  queueRefreshMs: 20,
  downloadTimeoutMs: 3000,
  stopDrainMs: 1000,
  pacing: { privateIntervalMs: 15, groupIntervalMs: 30, globalPerSecond: 500, retryBaseMs: 30 },
};

export interface HarnessOptions {
  /** The `telegram` config beyond token and apiRoot (allowedUsers, admins, webhook, ...). */
  telegram?: Record<string, unknown>;
  /** Other config sections (e.g. `listen`). */
  config?: Record<string, unknown>;
  /** `settings` (e.g. `maxQueue`). */
  settings?: Record<string, unknown>;
  timing?: Partial<TelegramTiming>;
  flood?: FloodLimits;
  /** Sandbox speed; at the default 200 a grid takes about 0.2 s. */
  speed?: number;
  /** Sandbox accounts (3 job slots each). */
  accounts?: number;
}

/** A task as the engine announced it, and when. */
export interface SeenTask {
  task: Task;
  at: number;
}

export interface Harness {
  tg: FakeTelegram;
  sandbox: Sandbox;
  /** The running service (a new one after `restart`). */
  svc: Service;
  readonly engine: Engine;
  /** The Telegram front's key-value space: the engine's store. */
  readonly kv: KeyValue;
  readonly front: TelegramFront;
  /** Every `task` event of the engine(s), in order. */
  readonly events: SeenTask[];
  /** The first event of every task, in order of creation. */
  created(): SeenTask[];
  /** The sandbox's `holdJobs` fault. */
  holdJobs(on: boolean, afterPercent?: number): void;
  /** Every task, newest first. */
  tasks(): Promise<Task[]>;
  /** Waits for a task the predicate accepts. */
  task(pred: (t: Task) => boolean, what: string, timeoutMs?: number): Promise<Task>;
  /** Waits until task `id` satisfies `until` (default: final). */
  waitTask(id: string, until?: (t: Task) => boolean, timeoutMs?: number): Promise<Task>;
  /** Fills `n` job slots with jobs started over the HTTP API (hold jobs first); their ids. */
  occupy(n: number): Promise<string[]>;
  /** Lifts every hold and waits until every task has ended. */
  settle(): Promise<void>;
  /**
   * A real restart: the app closes (front, API, engine, store), `meanwhile` runs while nothing is
   * up, then a new app starts on the same SQLite file and the same sandbox.
   */
  restart(meanwhile?: () => void | Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const tg = await startFakeTelegram(opts.flood ? { flood: opts.flood } : {});
  const timing = { ...FAST_TIMING, ...opts.timing };
  const config = { ...opts.config, telegram: { token: tg.token, apiRoot: tg.apiRoot, ...opts.telegram } };
  const common = {
    speed: opts.speed ?? 200,
    config,
    telegramTiming: timing,
    ...(opts.settings ? { settings: opts.settings } : {}),
  };
  const events: SeenTask[] = [];
  const listen = (s: Service) => s.app.engine.on('task', (task) => events.push({ task, at: Date.now() }));
  let svc: Service;
  try {
    svc = await startService({ ...common, accounts: opts.accounts ?? 1 });
  } catch (err) {
    await tg.close();
    throw err;
  }
  listen(svc);
  const sandbox = svc.sandbox;
  let fillers = 0;

  const h: Harness = {
    tg,
    sandbox,
    svc,
    get engine() {
      return h.svc.app.engine;
    },
    get kv() {
      return h.svc.app.store.space<unknown>('telegram');
    },
    get front() {
      const front = h.svc.app.telegram;
      if (!front) throw new Error('the app started no Telegram front');
      return front;
    },
    events,
    created() {
      const first = new Map<string, SeenTask>();
      for (const e of events) if (!first.has(e.task.id)) first.set(e.task.id, e);
      return [...first.values()];
    },
    holdJobs(on, afterPercent) {
      sandbox.bot.faults.holdJobs(on, afterPercent);
    },
    tasks() {
      return h.engine.list({ limit: 10_000 });
    },
    async task(pred, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = (await h.tasks()).find(pred);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out waiting for the task: ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    waitTask(id, until, timeoutMs) {
      return h.svc.waitTask(id, until, timeoutMs);
    },
    async occupy(n) {
      const ids: string[] = [];
      for (let i = 0; i < n; i++)
        ids.push(await h.svc.submit('/image/imagine', { prompt: `filler ${++fillers}` }));
      for (const id of ids) await h.waitTask(id, (t) => t.status !== 'PENDING');
      return ids;
    },
    async settle() {
      h.holdJobs(false);
      const deadline = Date.now() + 20_000;
      while ((await h.tasks()).some((t) => !isTerminal(t.status))) {
        if (Date.now() > deadline) throw new Error('tasks did not end');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async restart(meanwhile) {
      await h.svc.app.close();
      await meanwhile?.();
      h.svc = await startService({ ...common, sandbox, storeFile: h.svc.storeFile });
      listen(h.svc);
    },
    async close() {
      await h.svc.app.close();
      await sandbox.close();
      await tg.close();
    },
  };
  return h;
}

/** The inline keyboard of a fake message as rows of [text, callback_data]. */
export function keyboardOf(m: { reply_markup?: Record<string, unknown> } | undefined): [string, string][][] {
  const rows = m?.reply_markup?.inline_keyboard;
  if (!Array.isArray(rows)) return [];
  return rows.map((row: unknown) =>
    (Array.isArray(row) ? row : []).map((x: unknown) => {
      const o = x as { text?: unknown; callback_data?: unknown };
      return [String(o.text), String(o.callback_data)] as [string, string];
    }),
  );
}

/** The callback data of the button labelled `text` on a message. */
export function buttonData(m: { reply_markup?: Record<string, unknown> } | undefined, text: string): string {
  for (const row of keyboardOf(m))
    for (const [t, d] of row) if (t === text || t.endsWith(` ${text}`)) return d;
  throw new Error(`no button "${text}" in ${JSON.stringify(keyboardOf(m))}`);
}
