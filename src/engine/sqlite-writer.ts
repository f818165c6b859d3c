/**
 * The SQLite task space's writes, on a connection of their own with prepared statements and
 * group commit. Every write is a hop to the libuv thread pool and back, and on a loaded machine
 * each hop can wait for a core: keyv's per-call SQL costs three of them (prepare, run, finalize)
 * and a write started while another runs waited behind it anyway. Here one statement is prepared
 * once per batch size, at most one batch is in flight, and every write asked for meanwhile goes
 * into the next batch (one multi-row upsert, one implicit transaction, one hop); a key written
 * twice there is written once, with its newest value. Writes complete in the order given.
 */
import sqlite3 from 'sqlite3';

/** Rows per statement: a bigger batch is split into statements of at most this many rows. */
const MAX_ROWS = 32;

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

interface Row {
  value: string;
  waiters: Waiter[];
}

function opened(path: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path, (err) => (err ? reject(err) : resolve(db)));
  });
}

function exec(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
}

/** Writes `key → value` rows of one table (keyv's layout: `key` primary key, `value` text). */
export class SqliteWriter {
  private readonly db: Promise<sqlite3.Database>;
  /** The next batch: every key asked for while one is in flight. */
  private next = new Map<string, Row>();
  private inFlight = false;
  private idle: (() => void)[] = [];
  private readonly statements = new Map<number, sqlite3.Statement>();

  /** Opens `path` once `after` settled (the first connection set up the file and its mode). */
  constructor(
    path: string,
    private readonly table: string,
    opts: { busyTimeoutMs: number; after: Promise<unknown>; onError: (err: Error) => void },
  ) {
    const { busyTimeoutMs, onError } = opts;
    this.db = opts.after
      .catch(() => undefined)
      .then(() => opened(path))
      .then(async (db) => {
        // A statement that fails without a callback is reported here instead of crashing the process.
        db.on('error', onError);
        db.configure('busyTimeout', busyTimeoutMs);
        // WAL with synchronous=NORMAL: a commit survives the process being killed (what a restart
        // needs) without a full fsync per change. The table is keyv's, so keyv reads what this writes.
        await exec(
          db,
          `PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE IF NOT EXISTS ${table}(key VARCHAR(255) PRIMARY KEY, value TEXT )`,
        );
        return db;
      });
    // Failures reach each write; this only keeps an early failure from being unhandled.
    this.db.catch(() => undefined);
  }

  /** Resolves once the connection is set up; rejects when it could not be. */
  async ready(): Promise<void> {
    await this.db;
  }

  /** Upserts one row; resolves once it is committed. */
  write(key: string, value: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const row = this.next.get(key);
      if (row) {
        row.value = value;
        row.waiters.push({ resolve, reject });
      } else {
        this.next.set(key, { value, waiters: [{ resolve, reject }] });
      }
      if (!this.inFlight) void this.flush();
    });
  }

  /** Resolves once nothing is written any more, then closes the connection. */
  async close(): Promise<void> {
    if (this.inFlight || this.next.size > 0) await new Promise<void>((r) => this.idle.push(r));
    const db = await this.db.catch(() => undefined);
    if (!db) return;
    await Promise.all(
      [...this.statements.values()].map((s) => new Promise<void>((r) => s.finalize(() => r()))),
    );
    this.statements.clear();
    await new Promise<void>((r) => db.close(() => r()));
  }

  private async flush(): Promise<void> {
    this.inFlight = true;
    while (this.next.size > 0) {
      const batch = [...this.next];
      this.next = new Map();
      const parts: Promise<void>[] = [];
      for (let i = 0; i < batch.length; i += MAX_ROWS) parts.push(this.run(batch.slice(i, i + MAX_ROWS)));
      await Promise.all(parts);
    }
    this.inFlight = false;
    for (const done of this.idle.splice(0)) done();
  }

  /** One statement for `rows`; settles their waiters, never rejects. */
  private async run(rows: [string, Row][]): Promise<void> {
    const settle = (err: Error | null) => {
      for (const [, row] of rows) for (const w of row.waiters) err ? w.reject(err) : w.resolve();
    };
    try {
      const stmt = this.statement(await this.db, rows.length);
      const params: string[] = [];
      for (const [key, row] of rows) params.push(key, row.value);
      await new Promise<void>((resolve) =>
        stmt.run(params, (err: Error | null) => {
          settle(err);
          resolve();
        }),
      );
    } catch (err) {
      settle(err as Error);
    }
  }

  private statement(db: sqlite3.Database, rows: number): sqlite3.Statement {
    let stmt = this.statements.get(rows);
    if (!stmt) {
      const values = new Array(rows).fill('(?, ?)').join(', ');
      // A failed prepare reaches the run's callback; it is prepared again next time.
      stmt = db.prepare(
        `INSERT INTO ${this.table} (key, value) VALUES ${values} ON CONFLICT(key) DO UPDATE SET value=excluded.value`,
        (err: Error | null) => {
          if (err) this.statements.delete(rows);
        },
      );
      this.statements.set(rows, stmt);
    }
    return stmt;
  }
}
