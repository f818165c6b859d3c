/**
 * Shared pieces of the Telegram tests: tiny PNGs, an in-memory key-value space, a scripted engine
 * that behaves like the real one at its API (events after every change, Midjourney's button rows,
 * queue positions, the engine's refusals), a loopback image server for previews and results, and
 * a harness that starts the real front (real telegraf) against the fake Bot API server.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync } from 'node:zlib';
import type { Registry } from 'prom-client';
import { parseConfig, type TelegramConfig } from '../../src/config.ts';
import type {
  ActionInput,
  BlendInput,
  DescribeInput,
  EngineApi,
  EngineEvents,
  Health,
  ImagineInput,
  TaskOrigin,
} from '../../src/engine/api.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { isTerminal, type Task, type TaskButton, type TaskStatus } from '../../src/engine/task.ts';
import { silentLogger } from '../../src/log.ts';
import type { Action } from '../../src/midjourney/actions.ts';
import { parseCustomId } from '../../src/midjourney/custom-ids.ts';
import { createTelegramFront, type TelegramFront } from '../../src/telegram/bot.ts';
import type { TelegramTiming } from '../../src/telegram/context.ts';
import type { KeyValue } from '../../src/telegram/kv.ts';
import { type FakeTelegram, type FloodLimits, startFakeTelegram } from '../fakes/telegram-api.ts';

// ---------------------------------------------------------------------------------------- PNG

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A real PNG of one colour derived from `seed`. */
export function png(seed: string, width = 16, height = 16): Buffer {
  let h = 0;
  for (const ch of seed) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const rgb = [h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff];
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set(rgb, 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------- kv

export function memoryKv(): KeyValue & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    async get(k) {
      const v = data.get(k);
      return v === undefined ? undefined : structuredClone(v);
    },
    async set(k, v) {
      data.set(k, structuredClone(v));
    },
  };
}

// ---------------------------------------------------------------------------------------- images

export interface ImageServer {
  url: string;
  /** Paths requested so far. */
  hits: string[];
  close(): Promise<void>;
}

/** Serves `/<anything>.png` as a PNG seeded by the path. */
export async function startImageServer(): Promise<ImageServer> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const bytes = png(req.url ?? 'x', 32, 32);
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': bytes.length });
    res.end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// ---------------------------------------------------------------------------------------- engine

const HASH_BASE = '0000-4000-8000-000000000000';

function hashOf(n: number): string {
  return `${n.toString(16).padStart(8, '0')}-${HASH_BASE}`;
}

function b(label: string | undefined, custom_id: string, emoji?: string): TaskButton {
  return {
    type: 2,
    style: 2,
    ...(label ? { label } : {}),
    ...(emoji ? { emoji: { name: emoji } } : {}),
    custom_id,
  };
}

export function gridButtons(hash: string): TaskButton[][] {
  return [
    [1, 2, 3, 4]
      .map((i) => b(`U${i}`, `MJ::JOB::upsample::${i}::${hash}`))
      .concat(b(undefined, `MJ::JOB::reroll::0::${hash}::SOLO`, '🔄')),
    [1, 2, 3, 4].map((i) => b(`V${i}`, `MJ::JOB::variation::${i}::${hash}`)),
  ];
}

export function upscaleButtons(hash: string): TaskButton[][] {
  return [
    [
      b('Upscale (Subtle)', `MJ::JOB::upsample_v6_2x_subtle::1::${hash}::SOLO`),
      b('Upscale (Creative)', `MJ::JOB::upsample_v6_2x_creative::1::${hash}::SOLO`),
    ],
    [
      b('Vary (Strong)', `MJ::JOB::high_variation::1::${hash}::SOLO`, '🪄'),
      b('Vary (Subtle)', `MJ::JOB::low_variation::1::${hash}::SOLO`, '🪄'),
      b('Vary (Region)', `MJ::Inpaint::1::${hash}::SOLO`, '🖌️'),
    ],
    [
      b('Zoom Out 2x', `MJ::Outpaint::50::1::${hash}::SOLO`, '🔍'),
      b('Zoom Out 1.5x', `MJ::Outpaint::75::1::${hash}::SOLO`, '🔍'),
      b('Custom Zoom', `MJ::CustomZoom::${hash}`, '🔍'),
      b('Make Square', `MJ::Outpaint::100::1::${hash}::SOLO`),
    ],
    [
      b(undefined, `MJ::JOB::pan_left::1::${hash}::SOLO`, '⬅️'),
      b(undefined, `MJ::JOB::pan_right::1::${hash}::SOLO`, '➡️'),
      b(undefined, `MJ::JOB::pan_up::1::${hash}::SOLO`, '⬆️'),
      b(undefined, `MJ::JOB::pan_down::1::${hash}::SOLO`, '⬇️'),
    ],
    [b(undefined, `MJ::BOOKMARK::${hash}`, '❤️')],
  ];
}

function describeButtons(): TaskButton[][] {
  return [
    [1, 2, 3, 4]
      .map((i) => b(undefined, `MJ::Job::PicReader::${i}`, `${i}️⃣`))
      .concat(b(undefined, 'MJ::Picread::Retry', '🔄')),
  ];
}

const SINGLE: Action[] = [
  'UPSCALE',
  'UPSCALE_V5_2X',
  'UPSCALE_V5_4X',
  'UPSCALE_V6_2X_SUBTLE',
  'UPSCALE_V6_2X_CREATIVE',
];

export interface FakeEngineOptions {
  /** Image server for previews and results. */
  images: string;
  /** Time between two steps of a job; 0 = jobs only move when the test moves them. */
  stepMs?: number;
  /** Jobs running at once; the others wait with a queue position. */
  concurrency?: number;
  maxQueue?: number;
}

/**
 * An engine with the real one's API and events. Jobs run on a timer through STARTED, SUBMITTED,
 * RUNNING 0/40/80% with previews, then FINISHED with Midjourney's buttons; `--fail <title>` in a
 * prompt fails it like a Midjourney error embed.
 */
export class FakeEngine extends EventEmitter<EngineEvents> implements EngineApi {
  readonly tasks = new Map<string, Task>();
  readonly origins = new Map<string, TaskOrigin | undefined>();
  readonly created: { method: string; input: unknown; at: number }[] = [];
  banned = ['nude'];
  noAccount = false;
  maxQueue: number;
  private readonly queue: string[] = [];
  private readonly running = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private seq = 0;
  private hashSeq = 0;
  private stopped = false;

  constructor(private readonly opts: FakeEngineOptions) {
    super();
    this.maxQueue = opts.maxQueue ?? 100;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  // ---------------------------------------------------------------- API

  async imagine(input: ImagineInput): Promise<Task> {
    this.created.push({ method: 'imagine', input, at: Date.now() });
    this.checkPrompt(input.prompt);
    return this.create('IMAGINE', input.prompt, input.images ?? [], {}, input.origin);
  }

  async describe(input: DescribeInput): Promise<Task> {
    this.created.push({ method: 'describe', input, at: Date.now() });
    return this.create('DESCRIBE', '', [input.image], {}, input.origin);
  }

  async blend(input: BlendInput): Promise<Task> {
    this.created.push({ method: 'blend', input, at: Date.now() });
    if (input.images.length < 2 || input.images.length > 5)
      throw new EngineError('INVALID_INPUT', 'images must hold 2 to 5 images');
    return this.create(
      'BLEND',
      '',
      input.images,
      input.dimensions ? { dimensions: input.dimensions } : {},
      input.origin,
    );
  }

  async action(input: ActionInput): Promise<Task> {
    this.created.push({ method: 'action', input, at: Date.now() });
    const parent = this.tasks.get(input.taskId);
    if (!parent) throw new EngineError('NOT_FOUND', `task ${input.taskId} not found`);
    const info = parseCustomId(input.customId);
    if (!info)
      throw new EngineError(
        'INVALID_INPUT',
        `customId ${input.customId} is not a Midjourney button we can press`,
      );
    if (parent.status !== 'FINISHED')
      throw new EngineError('CONFLICT', `task ${parent.id} is ${parent.status}, not FINISHED`);
    if (!parent.buttons.some((r) => r.some((x) => x.custom_id === input.customId))) {
      throw new EngineError('INVALID_INPUT', `customId is not one of task ${parent.id}'s buttons`);
    }
    let prompt = input.prompt ?? '';
    if (info.action === 'ZOOMOUT_CUSTOM') {
      const zoom = Number(/--zoom\s+(\S+)/.exec(prompt)?.[1]);
      if (!(zoom >= 1 && zoom <= 2))
        throw new EngineError('INVALID_INPUT', 'prompt must contain --zoom with a value from 1 to 2');
    }
    if (info.action === 'PIC_READER' && !prompt) prompt = parent.prompts[info.index - 1] ?? '';
    if (prompt) this.checkPrompt(prompt);
    return this.create(
      info.action,
      prompt || parent.prompt,
      [],
      { customId: input.customId, parentId: parent.id, index: info.index },
      input.origin,
    );
  }

  async cancel(taskId: string): Promise<Task> {
    const task = this.tasks.get(taskId);
    if (!task) throw new EngineError('NOT_FOUND', `task ${taskId} not found`);
    if (isTerminal(task.status))
      throw new EngineError('CONFLICT', `task ${taskId} is already ${task.status}`);
    return this.fail(taskId, 'cancelled');
  }

  async get(taskId: string): Promise<Task | undefined> {
    const t = this.tasks.get(taskId);
    return t ? this.view(t) : undefined;
  }

  async list(filter: { status?: TaskStatus; limit: number }): Promise<Task[]> {
    return [...this.tasks.values()]
      .filter((t) => !filter.status || t.status === filter.status)
      .slice(-filter.limit)
      .reverse()
      .map((t) => this.view(t));
  }

  health(): Health {
    return { status: 'ok', mode: 'sandbox', accounts: [], queue: this.queue.length };
  }

  // ---------------------------------------------------------------- driving

  /** Changes a task and announces it, as the engine does after persisting. */
  update(taskId: string, change: Partial<Task>): Task {
    const task = this.tasks.get(taskId);
    if (!task) throw new Error(`no task ${taskId}`);
    if (isTerminal(task.status)) return this.view(task);
    Object.assign(task, change);
    if (task.status !== 'PENDING') {
      const i = this.queue.indexOf(taskId);
      if (i >= 0) this.queue.splice(i, 1);
    }
    if (isTerminal(task.status)) this.settle(taskId);
    const view = this.view(task);
    this.emit('task', view, this.origins.get(taskId));
    return view;
  }

  fail(taskId: string, reason: string): Task {
    return this.update(taskId, { status: 'FAILED', failReason: reason, finishTime: now() });
  }

  /** Finishes a task with the result Midjourney would give for its action. */
  finish(taskId: string): Task {
    const task = this.tasks.get(taskId);
    if (!task) throw new Error(`no task ${taskId}`);
    const hash = hashOf(++this.hashSeq);
    const result: Partial<Task> = {
      status: 'FINISHED',
      progress: '100%',
      finishTime: now(),
      messageHash: hash,
      messageId: String(1_000_000 + this.hashSeq),
      imageUrl: `${this.opts.images}/result/${task.id}_${hash}.png`,
    };
    if (task.action === 'DESCRIBE') {
      result.prompts = [1, 2, 3, 4].map((i) => `described prompt ${i} of ${task.id} --ar 1:1`);
      result.description = result.prompts.map((p, i) => `${i + 1}️⃣ ${p}`).join('\n\n');
      result.buttons = describeButtons();
    } else {
      result.buttons = SINGLE.includes(task.action) ? upscaleButtons(hash) : gridButtons(hash);
    }
    return this.update(taskId, result);
  }

  /** Emits an account state change (e.g. disabled), as the engine does. */
  account(id: string, state: 'ready' | 'disabled', reason: string | null): void {
    this.emit('account', { id, state, reason, running: 0, queued: 0 });
  }

  // ---------------------------------------------------------------- internals

  private checkPrompt(prompt: string): void {
    const word = this.banned.find((w) => new RegExp(`\\b${w}\\b`, 'i').test(prompt));
    if (word)
      throw new EngineError('BANNED_WORD', `prompt contains the banned word "${word}"`, {
        'ban-words': word,
      });
  }

  private async create(
    action: Action,
    prompt: string,
    images: string[],
    params: Record<string, unknown>,
    origin: TaskOrigin | undefined,
  ): Promise<Task> {
    if (this.noAccount) throw new EngineError('NO_ACCOUNT', 'no Midjourney account available');
    if (this.queue.length >= this.maxQueue) throw new EngineError('QUEUE_FULL', 'queue is full');
    await Promise.resolve();
    const id = `${Math.floor(Date.now() / 1000)}${String(++this.seq).padStart(9, '0')}`;
    const task: Task = {
      id,
      action,
      status: 'PENDING',
      submitTime: now(),
      startTime: null,
      finishTime: null,
      progress: null,
      imageUrl: null,
      imageRawUrl: null,
      prompt,
      finalPrompt: null,
      params,
      images: images.map((u) =>
        u.startsWith('data:') ? `data:${u.slice(5, u.indexOf(';'))};${u.length} bytes` : u,
      ),
      description: null,
      prompts: [],
      failReason: null,
      messageHash: null,
      messageId: null,
      discordId: null,
      queuePosition: null,
      data: null,
      buttons: [],
    };
    this.tasks.set(id, task);
    this.origins.set(id, origin);
    this.queue.push(id);
    this.emit('task', this.view(task), origin);
    this.later(0, () => this.drain());
    return this.view(task);
  }

  private view(task: Task): Task {
    const copy = structuredClone(task);
    copy.queuePosition = task.status === 'PENDING' ? this.queue.indexOf(task.id) + 1 || null : null;
    return copy;
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  private settle(taskId: string): void {
    const i = this.queue.indexOf(taskId);
    if (i >= 0) this.queue.splice(i, 1);
    this.running.delete(taskId);
    this.later(0, () => this.drain());
  }

  private drain(): void {
    const step = this.opts.stepMs ?? 0;
    if (step <= 0) return;
    while (this.running.size < (this.opts.concurrency ?? 3) && this.queue.length > 0) {
      const id = this.queue.shift() as string;
      this.running.add(id);
      this.run(id, step);
    }
  }

  private run(id: string, step: number): void {
    const task = this.tasks.get(id);
    if (!task) return;
    const failTitle = /--fail\s+(\S+)/.exec(task.prompt)?.[1];
    const steps: (() => void)[] = [
      () => this.update(id, { status: 'STARTED', startTime: now() }),
      () => this.update(id, { status: 'SUBMITTED' }),
      () =>
        failTitle
          ? this.fail(id, `[${failTitle}] The job could not be done because of ${failTitle}.`)
          : this.update(id, { status: 'RUNNING', progress: '0%' }),
      () => this.update(id, { progress: '40%', imageUrl: `${this.opts.images}/preview/${id}_40.png` }),
      () => this.update(id, { progress: '80%', imageUrl: `${this.opts.images}/preview/${id}_80.png` }),
      () => this.finish(id),
    ];
    let i = 0;
    const next = () => {
      const t = this.tasks.get(id);
      if (!t || isTerminal(t.status)) return;
      steps[i++]?.();
      if (i < steps.length) this.later(step, next);
    };
    this.later(step, next);
  }
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

// ---------------------------------------------------------------------------------------- harness

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

export interface Harness {
  tg: FakeTelegram;
  engine: FakeEngine;
  images: ImageServer;
  kv: ReturnType<typeof memoryKv>;
  front: TelegramFront;
  config: TelegramConfig;
  /** Starts another front on the same fake, engine and store (a restart); `meanwhile` runs while none is up. */
  restart(meanwhile?: () => void): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  telegram?: Record<string, unknown>;
  timing?: Partial<TelegramTiming>;
  flood?: FloodLimits;
  stepMs?: number;
  concurrency?: number;
  maxQueue?: number;
  registry?: Registry;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const tg = await startFakeTelegram(opts.flood ? { flood: opts.flood } : {});
  const images = await startImageServer();
  const engine = new FakeEngine({
    images: images.url,
    stepMs: opts.stepMs ?? 0,
    concurrency: opts.concurrency ?? 3,
    ...(opts.maxQueue !== undefined ? { maxQueue: opts.maxQueue } : {}),
  });
  const kv = memoryKv();
  const config = parseConfig({
    telegram: { token: tg.token, apiRoot: tg.apiRoot, ...opts.telegram },
  }).telegram;
  const timing = { ...FAST_TIMING, ...opts.timing };
  const make = () =>
    createTelegramFront({
      engine,
      config,
      kv,
      logger: silentLogger(),
      timing,
      ...(opts.registry ? { registry: opts.registry } : {}),
    });
  const h: Harness = {
    tg,
    engine,
    images,
    kv,
    config,
    front: make(),
    async restart(meanwhile) {
      await h.front.stop();
      meanwhile?.();
      h.front = make();
      await h.front.start();
    },
    async close() {
      engine.stop();
      await h.front.stop();
      await tg.close();
      await images.close();
    },
  };
  await h.front.start();
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
