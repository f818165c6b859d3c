/**
 * The engine's read side (SPEC §3.2, §13): what `/task/fetch`, lists and the fronts see of a task.
 * Readers see the last persisted snapshot; a task this instance works on may first refresh its
 * stored result links ({@link TaskReadsDeps.onRead}). In a cluster a live task another instance
 * works on is read from the store and never adopted here: this copy would soon be stale, and
 * writing it from here would race its owner; a waiting task's place is its place in the shared
 * line, wherever it was submitted.
 */
import type { TaskFacts } from './api.ts';
import type { TaskBook } from './book.ts';
import { jsonOfMany } from './bulk-read.ts';
import { EngineError } from './errors.ts';
import { factsOf } from './facts.ts';
import { isAwaitingModal } from './modal-tasks.ts';
import type { TaskRecord, TaskStore } from './store.ts';
import { isTerminal, type Task, type TaskStatus } from './task.ts';

export interface TaskReadsDeps {
  book: TaskBook;
  store: TaskStore;
  /** A task this instance holds was read: its stored result may want an update first. */
  onRead(rec: TaskRecord): Promise<void>;
  /**
   * Several instances on one Redis: live tasks not in memory here are someone else's, and a
   * waiting task's place is read from the shared line (1-based; null for one not in it).
   */
  cluster?: { places(ids: readonly string[]): Promise<(number | null)[]> };
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
      if (this.deps.cluster && !isTerminal(rec.task.status)) return rec;
      book.adopt(rec);
    }
    return book.records.get(id);
  }

  async get(id: string): Promise<Task | undefined> {
    const rec = await this.record(id);
    return rec ? this.task(rec, true) : undefined;
  }

  /** The task as `/task/fetch` serves it, already JSON (the persisted snapshot, not re-serialised). */
  async getJson(id: string): Promise<string | undefined> {
    const rec = await this.record(id);
    if (!rec) return undefined;
    if (this.inLine(rec)) return JSON.stringify(await this.task(rec, true));
    await this.refresh(rec, true);
    return this.held(rec)
      ? (this.deps.book.viewJson(id) ?? JSON.stringify(rec.task))
      : JSON.stringify(rec.task);
  }

  /** Many tasks' JSON in the order of `ids`; like lists, it does not wait for link updates. */
  getJsonMany(ids: readonly string[]): Promise<(string | undefined)[]> {
    const { book, cluster } = this.deps;
    return jsonOfMany(
      {
        book,
        load: (id) => this.record(id),
        onRead: (rec) => void this.refresh(rec, false),
        ...(cluster ? { places: (w: readonly string[]) => cluster.places(w) } : {}),
      },
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
      // Lists do not wait for link updates; the next read shows them.
      if (rec) out.push(await this.task(rec, false));
    }
    return out;
  }

  /**
   * The one step of every read: a task held here may refresh its stored result first (awaited,
   * or started and not waited for) and is seen as last persisted; a peer's task is seen as
   * stored, never written from here. A waiting one gets its place in the cluster's line.
   */
  private async task(rec: TaskRecord, wait: boolean): Promise<Task> {
    await this.refresh(rec, wait);
    const task = ((this.held(rec) ? this.deps.book.view(rec.task.id) : undefined) ?? rec.task) as Task;
    if (!this.inLine(rec) || !this.deps.cluster) return task;
    const [place] = await this.deps.cluster.places([rec.task.id]);
    return Object.freeze({ ...task, queuePosition: place ?? null });
  }

  private async refresh(rec: TaskRecord, wait: boolean): Promise<void> {
    if (!this.held(rec)) return;
    if (wait) await this.deps.onRead(rec);
    else void this.deps.onRead(rec);
  }

  private held(rec: TaskRecord): boolean {
    return this.deps.book.records.get(rec.task.id) === rec;
  }

  /** A task waiting in the cluster's shared line (a prepared form waits outside it). */
  private inLine(rec: TaskRecord): boolean {
    return !!this.deps.cluster && rec.task.status === 'PENDING' && !isAwaitingModal(rec.task);
  }
}
