/**
 * keyv's SQLite store, on one synchronous connection per file (better-sqlite3) shared by every
 * space of the process. A state change is committed on the main thread in tens of microseconds:
 * with an asynchronous binding each statement is a trip to the libuv thread pool, and on a
 * loaded machine that trip waits for a core, which was the whole tail of the engine's latency.
 * In WAL mode with synchronous=NORMAL a commit does not wait for the disk (it survives the
 * process being killed, which is what a restart needs); only a checkpoint does (a few ms to
 * tens of ms here), so checkpoints are not run inside commits but by a worker thread with a
 * connection of its own, a passive one a second, which never blocks a writer.
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
  upsert: Database.Statement<[string, string]>;
  del: Database.Statement<[string]>;
  clear: Database.Statement<[string]>;
  page: Database.Statement<[string, string, number], { key: string; value: string }>;
}

/**
 * The checkpointer's code, run in a worker thread (plain CommonJS, so it needs no loader): it
 * copies the write-ahead log back into the database file once a second, until told to stop.
 */
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { timeout: 0 });
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.once('message', () => { clearInterval(timer); checkpoint(); db.close(); parentPort.close(); });
`;

/** One open file: its connection, its statements, its checkpointer and how many stores use it. */
class Connection {
  readonly db: Database.Database;
  readonly sql: Statements;
  users = 0;
  private readonly checkpointer: Worker;

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
      get: this.db.prepare('SELECT value FROM keyv WHERE key = ?'),
      upsert: this.db.prepare(
        'INSERT INTO keyv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value',
      ),
      del: this.db.prepare('DELETE FROM keyv WHERE key = ?'),
      clear: this.db.prepare("DELETE FROM keyv WHERE key LIKE ? ESCAPE '\\'"),
      page: this.db.prepare(
        "SELECT key, value FROM keyv WHERE key LIKE ? ESCAPE '\\' AND key > ? ORDER BY key LIMIT ?",
      ),
    };
    this.checkpointer = new Worker(CHECKPOINTER, {
      eval: true,
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        path,
        everyMs: CHECKPOINT_EVERY_MS,
      },
    });
    // A checkpointer that fails leaves the log growing, never the data at risk; the last
    // connection's close checkpoints it anyway.
    this.checkpointer.on('error', () => undefined);
    this.checkpointer.unref();
  }

  async close(): Promise<void> {
    const exited = once(this.checkpointer, 'exit').catch(() => undefined);
    // Held open until the last checkpoint is done, even when nothing else keeps the process up.
    this.checkpointer.ref();
    this.checkpointer.postMessage('stop');
    await exited;
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

  private get sql(): Statements {
    if (!this.conn) throw new Error('the SQLite store is closed');
    return this.conn.sql;
  }

  async get(key: string): Promise<string | undefined> {
    return this.sql.get.get(key)?.value;
  }

  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    const get = this.sql.get;
    return keys.map((k) => get.get(k)?.value);
  }

  async set(key: string, value: string): Promise<void> {
    this.write(key, value);
  }

  /** The write itself, committed when it returns (throws what SQLite refused). */
  write(key: string, value: string): void {
    this.sql.upsert.run(key, value);
  }

  async delete(key: string): Promise<boolean> {
    return this.sql.del.run(key).changes > 0;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let any = false;
    for (const k of keys) if (this.sql.del.run(k).changes > 0) any = true;
    return any;
  }

  async has(key: string): Promise<boolean> {
    return this.sql.get.get(key) !== undefined;
  }

  async clear(): Promise<void> {
    this.sql.clear.run(prefixPattern(this.namespace));
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
