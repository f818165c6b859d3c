/**
 * The engine's read side (SPEC §3.2, §13): what `/task/fetch`, lists and the fronts see of a task.
 * Readers see the last persisted snapshot; a task this instance works on may first refresh its
 * stored result links ({@link TaskReadsDeps.onRead}). In a cluster a live task another instance
 * works on is read from the store and never adopted here: this copy would soon be stale, and
 * writing it from here would race its owner.
 */
import type { TaskFacts } from './api.ts';
import type { TaskBook } from './book.ts';
import { jsonOfMany } from './bulk-read.ts';
import { EngineError } from './errors.ts';
import { factsOf } from './facts.ts';
import type { TaskRecord, TaskStore } from './store.ts';
import { isTerminal, type Task, type TaskStatus } from './task.ts';

export interface TaskReadsDeps {
  book: TaskBook;
  store: TaskStore;
  /** Several instances on one Redis: live tasks not in memory here are someone else's. */
  clustered: boolean;
  /** A task this instance holds was read: its stored result may want an update first. */
  onRead(rec: TaskRecord): Promise<void>;
}

export class TaskReads {
  constructor(private readonly deps: TaskReadsDeps) {}

  /**
   * The record of a task: the working one if this instance has it, else the stored one (a
   * terminal one is adopted into the cache of recent ones; a live one of a peer only read).
   * @throws {EngineError} STORE_FAILED when the store cannot be read
   */
  async record(id: string): Promise<TaskRecord | undefined> {
    if (!/^\d{1,30}$/.test(id)) return undefined;
    const { book } = this.deps;
    const mem = book.records.get(id);
    if (mem) return mem;
    let rec: TaskRecord | undefined;
    try {
      rec = await this.deps.store.get(id);
    } catch (err) {
      throw new EngineError('STORE_FAILED', `could not read task ${id}: ${(err as Error).message}`);
    }
    if (rec && !book.records.has(id)) {
      if (this.deps.clustered && !isTerminal(rec.task.status)) return rec;
      book.adopt(rec);
    }
    return book.records.get(id);
  }

  async get(id: string): Promise<Task | undefined> {
    const rec = await this.record(id);
    if (!rec) return undefined;
    await this.refresh(rec, true);
    return this.view(rec);
  }

  /** The task as `/task/fetch` serves it, already JSON (the persisted snapshot, not re-serialised). */
  async getJson(id: string): Promise<string | undefined> {
    const rec = await this.record(id);
    if (!rec) return undefined;
    await this.refresh(rec, true);
    return this.json(rec);
  }

  /** Many tasks' JSON in the order of `ids`; like lists, it does not wait for link updates. */
  getJsonMany(ids: readonly string[]): Promise<(string | undefined)[]> {
    return jsonOfMany(
      { book: this.deps.book, load: (id) => this.record(id), onRead: (rec) => void this.refresh(rec, false) },
      ids,
    );
  }

  async facts(id: string): Promise<TaskFacts | undefined> {
    const rec = await this.record(id);
    return rec ? factsOf(rec.meta) : undefined;
  }

  /** The newest tasks known here (every instance knows every task's summary), newest first. */
  async list(filter: { status?: TaskStatus; limit: number }): Promise<Task[]> {
    const ids = [...this.deps.book.summaries.entries()]
      .filter(([, s]) => !filter.status || s.status === filter.status)
      .sort((a, b) => b[1].submitTime - a[1].submitTime || (a[0] < b[0] ? 1 : -1))
      .slice(0, filter.limit)
      .map(([id]) => id);
    const out: Task[] = [];
    for (const id of ids) {
      const rec = await this.record(id);
      if (!rec) continue;
      // Lists do not wait for link updates; the next read shows them.
      await this.refresh(rec, false);
      out.push(this.view(rec));
    }
    return out;
  }

  /**
   * The one step before any read: a task held here may refresh its stored result (awaited, or
   * started and not waited for); a peer's task is read as stored, never written from here.
   */
  private async refresh(rec: TaskRecord, wait: boolean): Promise<void> {
    if (this.deps.book.records.get(rec.task.id) !== rec) return;
    if (wait) await this.deps.onRead(rec);
    else void this.deps.onRead(rec);
  }

  private view(rec: TaskRecord): Task {
    return (this.deps.book.view(rec.task.id) ?? rec.task) as Task;
  }

  private json(rec: TaskRecord): string {
    return this.deps.book.viewJson(rec.task.id) ?? JSON.stringify(rec.task);
  }
}
