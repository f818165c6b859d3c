/**
 * keyv's SQLite store, on one synchronous connection per file (better-sqlite3) shared by every
 * space of the process. A state change is committed on the main thread in tens of microseconds:
 * with an asynchronous binding each statement is a trip to the libuv thread pool, and on a
 * loaded machine that trip waits for a core, which was the whole tail of the engine's latency.
 * In WAL mode with synchronous=NORMAL a commit does not wait for the disk (it survives the
 * process being killed, which is what a restart needs); only a checkpoint does (a few ms to
 * tens of ms here), so checkpoints are not run inside commits but by a helper thread with a
 * connection of its own, a passive one a second, which never blocks a writer. The helper also
 * takes the rare value of megabytes (a task whose inputs are data URIs not uploaded yet), whose
 * commit would take a quarter of a second here.
 *
 * The table is the one `@keyv/sqlite` made (`keyv`, `key` primary key, `value` text), so files
 * written before this store are read as they are.
 */
import { EventEmitter, once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** Rows read per page when a whole space is walked (start-up). */
const PAGE_ROWS = 500;
/** How often the write-ahead log is copied back into the database file. */
const CHECKPOINT_EVERY_MS = 1_000;

interface Statements {
  get: Database.Statement<[string], { value: string }>;
  upsert: Database.Statement<string[]>;
  del: Database.Statement<string[]>;
  clear: Database.Statement<string[]>;
  page: Database.Statement<[string, string, number], { key: string; value: string }>;
}

/** A value this long is written by the helper thread: committing it here would stall every request. */
const OFF_THREAD_CHARS = 1 << 20;

type WriteStatement = 'upsert' | 'del' | 'clear';

/**
 * The helper thread's code (plain CommonJS, so it needs no loader). On a connection of its own
 * it copies the write-ahead log back into the database file once a second, and runs the writes
 * handed to it, in order, answering each with its changes or its error.
 */
const HELPER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
const sql = {
  upsert: db.prepare(workerData.sql.upsert),
  del: db.prepare(workerData.sql.del),
  clear: db.prepare(workerData.sql.clear),
};
const decoder = new TextDecoder();
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m.op === 'stop') { clearInterval(timer); checkpoint(); db.close(); parentPort.close(); return; }
  try {
    const args = m.args.map((a) => (typeof a === 'string' ? a : decoder.decode(a)));
    parentPort.postMessage({ id: m.id, changes: sql[m.stmt].run(...args).changes });
  }
  catch (err) { parentPort.postMessage({ id: m.id, error: String(err && err.message || err) }); }
});
`;

const SQL = {
  get: 'SELECT value FROM keyv WHERE key = ?',
  upsert: 'INSERT INTO keyv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value',
  del: 'DELETE FROM keyv WHERE key = ?',
  clear: "DELETE FROM keyv WHERE key LIKE ? ESCAPE '\\'",
  page: "SELECT key, value FROM keyv WHERE key LIKE ? ESCAPE '\\' AND key > ? ORDER BY key LIMIT ?",
};

/** One open file: its connection, its statements, its helper thread and how many stores use it. */
class Connection {
  readonly db: Database.Database;
  readonly sql: Statements;
  users = 0;
  private readonly helper: Worker;
  private helperGone = false;
  /** Writes handed to the helper and not answered yet: until they are, every write goes there too. */
  private readonly handedOver = new Map<
    number,
    { resolve(changes: number): void; reject(err: Error): void }
  >();
  private nextId = 0;

  constructor(
    readonly path: string,
    busyTimeoutMs: number,
  ) {
    this.db = new Database(path, { timeout: busyTimeoutMs });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Checkpoints fsync; inside a commit they would stall the event loop for the disk.
    this.db.pragma('wal_autocheckpoint = 0');
    // A log grown by a burst is cut back to 4 MiB once it is reused from its start.
    this.db.pragma('journal_size_limit = 4194304');
    this.db.exec('CREATE TABLE IF NOT EXISTS keyv(key VARCHAR(255) PRIMARY KEY, value TEXT )');
    this.sql = {
      get: this.db.prepare(SQL.get),
      upsert: this.db.prepare(SQL.upsert),
      del: this.db.prepare(SQL.del),
      clear: this.db.prepare(SQL.clear),
      page: this.db.prepare(SQL.page),
    };
    this.helper = new Worker(HELPER, {
      eval: true,
      // It holds a few statements and, at times, one value on its way: a small young generation
      // keeps its memory small (the default reserves as much as the main thread's).
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        path,
        busyTimeoutMs,
        everyMs: CHECKPOINT_EVERY_MS,
        sql: SQL,
      },
    });
    this.helper.on('message', (m: { id: number; changes?: number; error?: string }) => {
      const w = this.handedOver.get(m.id);
      this.handedOver.delete(m.id);
      if (this.handedOver.size === 0) this.helper.unref();
      if (m.error !== undefined) w?.reject(new Error(m.error));
      else w?.resolve(m.changes ?? 0);
    });
    // Without the helper the log grows until the last close folds it in, and every write is
    // done here; none is lost: the ones it held are failed back to their callers.
    const gone = (why: string) => {
      this.helperGone = true;
      for (const w of this.handedOver.values()) w.reject(new Error(why));
      this.handedOver.clear();
    };
    this.helper.on('error', (err) => gone(`the store's writer thread failed: ${err.message}`));
    this.helper.on('exit', () => gone("the store's writer thread stopped"));
    this.helper.unref();
  }

  /**
   * Runs a writing statement: here and now, committed when this returns, or, for a long value
   * or while earlier writes are with the helper, by the helper after those (so writes keep their
   * order and the two connections never wait for each other's lock).
   */
  run(stmt: WriteStatement, args: string[], long: boolean): number | Promise<number> {
    if (this.helperGone || (this.handedOver.size === 0 && !long)) return this.sql[stmt].run(...args).changes;
    const id = ++this.nextId;
    // A write on its way keeps the process up, as one on the thread pool would.
    if (this.handedOver.size === 0) this.helper.ref();
    return new Promise<number>((resolve, reject) => {
      this.handedOver.set(id, { resolve, reject });
      // As bytes handed over, not copied: cloning a string of megabytes costs more than writing it.
      // Short ones (a key) go as they are: their bytes would share a pooled buffer.
      const sent = args.map((a) => (a.length < 64 * 1024 ? a : Buffer.from(a, 'utf8')));
      const moved = sent.flatMap((b) => (typeof b === 'string' ? [] : [b.buffer as ArrayBuffer]));
      this.helper.postMessage({ op: 'run', id, stmt, args: sent }, moved);
    });
  }

  async close(): Promise<void> {
    if (!this.helperGone) {
      const exited = once(this.helper, 'exit').catch(() => undefined);
      // Held open until the writes handed over and the last checkpoint are done.
      this.helper.ref();
      this.helper.postMessage({ op: 'stop' });
      await exited;
    }
    this.db.close();
  }
}

const open = new Map<string, Connection>();

function connect(path: string, busyTimeoutMs: number): Connection {
  let c = open.get(path);
  if (!c?.db.open) {
    c = new Connection(path, busyTimeoutMs);
    open.set(path, c);
  }
  c.users++;
  return c;
}

/** `namespace:` as a LIKE pattern (keyv prefixes each key with its space's name). */
function prefixPattern(namespace: string | undefined): string {
  return namespace ? `${namespace.replace(/[\\%_]/g, (ch) => `\\${ch}`)}:%` : '%';
}

/** A keyv store adapter over the shared connection of `path`. */
export class SqliteKv extends EventEmitter {
  readonly opts: { dialect: 'sqlite'; url: string };
  namespace?: string;
  private conn: Connection | undefined;

  constructor(path: string, opts: { busyTimeoutMs: number }) {
    super();
    this.opts = { dialect: 'sqlite', url: `sqlite://${path}` };
    this.conn = connect(path, opts.busyTimeoutMs);
  }

  private conn_(): Connection {
    if (!this.conn) throw new Error('the SQLite store is closed');
    return this.conn;
  }

  private get sql(): Statements {
    return this.conn_().sql;
  }

  async get(key: string): Promise<string | undefined> {
    return this.sql.get.get(key)?.value;
  }

  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    const get = this.sql.get;
    return keys.map((k) => get.get(k)?.value);
  }

  async set(key: string, value: string): Promise<void> {
    await this.write(key, value);
  }

  /**
   * The write itself: committed when it returns, or, for a value over a MiB (or one queued
   * behind such a value), when the promise it returns resolves. Throws what SQLite refused.
   */
  write(key: string, value: string): Promise<void> | undefined {
    const done = this.conn_().run('upsert', [key, value], value.length >= OFF_THREAD_CHARS);
    return typeof done === 'number' ? undefined : done.then(() => undefined);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.conn_().run('del', [key], false)) > 0;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let any = false;
    for (const k of keys) if (await this.delete(k)) any = true;
    return any;
  }

  async has(key: string): Promise<boolean> {
    return this.sql.get.get(key) !== undefined;
  }

  async clear(): Promise<void> {
    await this.conn_().run('clear', [prefixPattern(this.namespace)], false);
  }

  /** Every row of `namespace`, a page at a time, so a write between two pages is never refused. */
  async *iterator(namespace?: string): AsyncGenerator<[string, string], void> {
    const pattern = prefixPattern(namespace);
    let after = '';
    for (;;) {
      const rows = this.sql.page.all(pattern, after, PAGE_ROWS);
      for (const row of rows) yield [row.key, row.value];
      const last = rows.at(-1);
      if (!last || rows.length < PAGE_ROWS) return;
      after = last.key;
    }
  }

  async disconnect(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    if (!c) return;
    c.users--;
    if (c.users > 0) return;
    if (open.get(c.path) === c) open.delete(c.path);
    await c.close();
  }
}
