/**
 * Persistent task storage on keyv: a SQLite file by default, Redis by URL (SPEC §6.10). Every
 * record is written through before the engine announces a change; a process keeps the records of
 * live tasks in memory too, so reads never wait on the store.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import KeyvRedis from '@keyv/redis';
import Keyv from 'keyv';
import type { Logger } from '../log.ts';
import type { SpeedMode } from '../midjourney/account-info.ts';
import type { TaskOrigin } from './api.ts';
import type { ImageMeta } from './results-store.ts';
import { SqliteKv } from './sqlite-kv.ts';
import { StoreFileWatch, unwritableFile } from './store-file.ts';
import { readTaskRecord } from './stored-record.ts';
import { type Task, withDefaults } from './task.ts';

/** Engine bookkeeping kept beside the public task JSON; never shown to API callers. */
export interface TaskMeta {
  /** Creation order, so a restart requeues PENDING tasks in their original order. */
  seq: number;
  /** Account (its channel id) the task is pinned to or runs on. */
  accountId: string | null;
  nonce: string | null;
  interactionId: string | null;
  progressMessageId: string | null;
  progressFlags: number;
  /** The message carrying the job's Cancel Job button when it is not the progress message (an ephemeral reply). */
  cancelMessageId?: string | null;
  cancelFlags?: number;
  /** Flags of the result message: a button click must echo them as `message_flags`. */
  messageFlags: number;
  parentMessageId: string | null;
  parentHash: string | null;
  cancelRequested: boolean;
  notifyUrl: string | null;
  origin?: TaskOrigin;
  queuedAtMs: number;
  startedAtMs: number | null;
  /** Inputs kept in full (data URIs too) so a restart can redo the submission. */
  inputImages: string[];
  mask?: string;
  dimensions?: string;
  /** The speed the caller asked for (`/mj-relax`, …); follow-ups take their parent's (SPEC §12.1). */
  speed?: SpeedMode;
  /** The text of Midjourney's latest message for the task (the `/mj` view's `messageContent`). */
  messageContent?: string;
  /** Prompt sent to Midjourney (with uploaded image URLs), for matching its echo. */
  sentPrompt?: string;
  /** Stored result files (SPEC §6.7): token and copy state. */
  images?: ImageMeta;
}

export interface TaskRecord {
  task: Task;
  meta: TaskMeta;
}

/** A failure of the store, surfaced to callers (never swallowed). */
export class StoreError extends Error {
  readonly code = 'STORE_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export interface StoreOptions {
  url: string;
  expiredDays: number;
  /** Base directory for relative sqlite paths. */
  cwd?: string;
  /** Where a stored record that had to be repaired or skipped is reported. */
  logger?: Logger;
}

/** A value that is already JSON: the task space stores it as it is instead of serialising again. */
class RawJson {
  constructor(readonly json: string) {}
}

/**
 * The task space's serialiser: a record arrives as JSON made once by the engine and is embedded
 * as it is (keyv's default walks every value in JS, recursively). Marked `"v":2`, so records of
 * the default format (strings starting with ':' escaped) are still read back right.
 */
const rawSerializer = {
  serialize: (data: { value?: unknown; expires?: number | null }): string =>
    data.value instanceof RawJson
      ? `{"v":2,"value":${data.value.json},"expires":${data.expires ?? null}}`
      : JSON.stringify({ v: 2, value: data.value, expires: data.expires ?? null }),
  deserialize: <T>(text: string): { value?: T; expires?: number } | undefined => {
    const parsed = JSON.parse(text) as { v?: number; value?: T; expires?: number | null };
    if (parsed?.v !== 2) return JSON.parse(text, unescapeLegacy) as { value?: T; expires?: number };
    return { value: parsed.value as T, ...(parsed.expires ? { expires: parsed.expires } : {}) };
  },
};

/** keyv's default format prefixes strings that start with ':' with another ':' (and Buffers with ':base64:'). */
function unescapeLegacy(_key: string, value: unknown): unknown {
  if (typeof value !== 'string' || !value.startsWith(':')) return value;
  return value.startsWith(':base64:') ? Buffer.from(value.slice(8), 'base64') : value.slice(1);
}

function sqlitePath(url: string, cwd: string): string {
  return resolve(cwd, url.replace(/^sqlite:\/\//, ''));
}

function keyvFor(url: string, namespace: string, cwd: string, raw = false): { kv: Keyv; sqlite?: SqliteKv } {
  const serializer = raw ? rawSerializer : {};
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    return {
      kv: new Keyv({ store: new KeyvRedis(url), namespace, useKeyPrefix: false, ...serializer }),
    };
  }
  const path = sqlitePath(url, cwd);
  mkdirSync(dirname(path), { recursive: true });
  const unwritable = unwritableFile(path);
  if (unwritable) throw new StoreError(`the SQLite store cannot be opened: ${unwritable}`);
  let sqlite: SqliteKv;
  try {
    sqlite = new SqliteKv(path, { busyTimeoutMs: 5000 });
  } catch (err) {
    throw new StoreError(`the SQLite store cannot be opened: ${(err as Error).message}`, { cause: err });
  }
  return { kv: new Keyv({ store: sqlite, namespace, ...serializer }), sqlite };
}

/** keyv's namespace of the task records (keys `task:<id>` in SQLite). */
const TASK_SPACE = 'task';

/** The task store plus named key-value spaces for the fronts (e.g. Telegram button keys). */
export class TaskStore {
  /**
   * True when writes complete in the order they were given (SQLite: committed before the call
   * returns, or by the store's helper thread in turn), so a caller need not wait for one write of
   * a task before giving the next.
   */
  readonly ordered: boolean;
  private readonly tasks: Keyv<TaskRecord>;
  /** SQLite: the task space's store, written directly (keyv reads the rows back). */
  private readonly sqlite: SqliteKv | undefined;
  private readonly ttlMs: number;
  /** The fronts' spaces. */
  private readonly extra = new Map<string, Keyv>();
  /** Records repaired while reading, written back once by {@link all}. */
  private readonly repaired = new Set<string>();
  /** The SQLite file as opened (none for Redis). */
  private readonly watch: StoreFileWatch | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private lostLogged = false;

  constructor(private readonly opts: StoreOptions) {
    this.ttlMs = Math.round(opts.expiredDays * 24 * 3600 * 1000);
    const { kv, sqlite } = keyvFor(opts.url, TASK_SPACE, opts.cwd ?? process.cwd(), true);
    this.tasks = kv as Keyv<TaskRecord>;
    this.sqlite = sqlite;
    this.ordered = sqlite !== undefined;
    // Records written by older versions may hold values this one refuses (a `data` nested
    // thousands of levels deep): each is repaired or skipped on its own, with the reason logged.
    const plain = kv.deserialize;
    if (plain) {
      const log = opts.logger?.child({ room: 'store' });
      kv.deserialize = ((raw: string) =>
        readTaskRecord(raw, plain, (problem) => {
          log?.warn(problem, problem.repaired ? 'stored task repaired' : 'stored task skipped');
          if (problem.repaired && problem.id) this.repaired.add(problem.id);
        })) as typeof plain;
    }
    if (!/^rediss?:\/\//.test(opts.url)) {
      const watch = new StoreFileWatch(sqlitePath(opts.url, opts.cwd ?? process.cwd()));
      this.watch = watch;
      watch.arm();
      // Noticed even while nothing is written, so the log says when it happened.
      this.watchTimer = setInterval(() => this.fileProblem(), 2000);
      this.watchTimer.unref();
    }
  }

  /** Why writes are refused now (the file vanished or cannot be written), logged once. */
  private fileProblem(): string | null {
    const problem = this.watch?.problem() ?? null;
    if (problem && !this.lostLogged) {
      this.lostLogged = true;
      this.opts.logger?.child({ room: 'store' }).error({ problem }, 'store unusable: writes are refused');
    } else if (!problem && this.lostLogged) {
      // Write access came back (a vanished file never does).
      this.lostLogged = false;
      this.opts.logger?.child({ room: 'store' }).warn('store writable again');
    }
    return problem;
  }

  async save(record: TaskRecord): Promise<void> {
    await this.saveJson(record.task.id, JSON.stringify(record));
  }

  /** Writes a record given as its JSON (`{"task":…,"meta":…}`), made once by the engine. */
  async saveJson(id: string, json: string): Promise<void> {
    const problem = this.fileProblem();
    if (problem) throw new StoreError(`could not save task ${id}: ${problem}`);
    try {
      if (this.sqlite) {
        // keyv's own envelope (see rawSerializer), so keyv reads it back as if it had written it.
        const expires = this.ttlMs === 0 ? null : Date.now() + this.ttlMs;
        await this.sqlite.write(`${TASK_SPACE}:${id}`, `{"v":2,"value":${json},"expires":${expires}}`);
        return;
      }
      const ok = await this.tasks.set(id, new RawJson(json) as unknown as TaskRecord, this.ttlMs);
      if (ok === false) throw new Error('store refused the write');
    } catch (err) {
      throw new StoreError(`could not save task ${id}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    try {
      const rec = (await this.tasks.get(id)) ?? undefined;
      return rec ? { ...rec, task: withDefaults(rec.task) } : undefined;
    } catch (err) {
      throw new StoreError(`could not read task ${id}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Every stored record (used once at start-up for restart recovery and listing). */
  async all(): Promise<TaskRecord[]> {
    const out: TaskRecord[] = [];
    if (!this.tasks.iterator) return out;
    try {
      for await (const entry of this.tasks.iterator(undefined)) {
        const value = entry[1] as TaskRecord | undefined;
        if (value && typeof value === 'object' && value.task)
          out.push({ ...value, task: withDefaults(value.task) });
      }
    } catch (err) {
      throw new StoreError(`could not list tasks: ${(err as Error).message}`, { cause: err });
    }
    for (const rec of out) {
      if (!this.repaired.delete(rec.task.id)) continue;
      await this.save(rec).catch(() => undefined);
    }
    return out;
  }

  /** A key-value space of its own (same backend, same expiry unless given). */
  space<V>(namespace: string): {
    get(k: string): Promise<V | undefined>;
    set(k: string, v: V, ttlMs?: number): Promise<void>;
  } {
    let kv = this.extra.get(namespace);
    if (!kv) {
      kv = keyvFor(this.opts.url, namespace, this.opts.cwd ?? process.cwd()).kv;
      this.extra.set(namespace, kv);
    }
    const space = kv;
    return {
      get: async (k) => ((await space.get(k)) as V | undefined) ?? undefined,
      set: async (k, v, ttlMs) => {
        const problem = this.fileProblem();
        if (problem) throw new StoreError(`could not save ${namespace} ${k}: ${problem}`);
        await space.set(k, v, ttlMs ?? this.ttlMs);
      },
    };
  }

  async close(): Promise<void> {
    if (this.watchTimer) clearInterval(this.watchTimer);
    await Promise.allSettled([
      this.tasks.disconnect(),
      ...[...this.extra.values()].map((kv) => kv.disconnect()),
    ]);
  }
}
