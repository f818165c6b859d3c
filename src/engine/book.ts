/**
 * The engine's book of tasks: the working records the engine changes, and for every reader the
 * last snapshot the store holds (SPEC §3.2 "persisted before it is announced", §3.3). A change
 * is applied to the working record at once (so the next Discord message sees it), serialised
 * once, written in order per task, and only once the write succeeded does it become what
 * `/task/fetch`, lists, callbacks and the fronts' events show.
 */
import type { Logger } from '../log.ts';
import type { TaskFacts } from './api.ts';
import { factsOf } from './facts.ts';
import type { TaskRecord, TaskStore } from './store.ts';
import { isTerminal, type Task, type TaskStatus } from './task.ts';

/** What readers see of a task: its persisted JSON, parsed (and frozen) once when first asked for. */
interface Published {
  json: string;
  status: TaskStatus;
  task: Readonly<Task> | undefined;
}

export type Change = (task: Task, meta: TaskRecord['meta']) => void;

export interface TaskBookOptions {
  store: TaskStore;
  logger: Logger;
  /**
   * Called with each persisted change whose public JSON differs from the one before, and the
   * task's facts (its origin among them) as they were when that change was made.
   */
  announce(task: Readonly<Task>, notifyUrl: string | null, facts: TaskFacts): void;
  /** The 1-based queue place of a PENDING task. */
  queuePosition(id: string): number | null;
}

/** Terminal records kept in memory for fast reads; older ones are read from the store again. */
const MAX_CACHED_TERMINAL = 2000;

export class TaskBook {
  /** Working records: live tasks, and recently finished ones for fast reads. */
  readonly records = new Map<string, TaskRecord>();
  /** Status and submit time of every task known to this process (for lists). */
  readonly summaries = new Map<string, { status: TaskStatus; submitTime: number }>();
  private readonly published = new Map<string, Published>();
  /** The JSON of each working task as last serialised, to tell a public change from a meta one. */
  private readonly lastJson = new Map<string, string>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly terminalOrder: string[] = [];
  /** Records handed to another instance (cluster): never written from here again. */
  private readonly forgotten = new WeakSet<TaskRecord>();

  constructor(private readonly opts: TaskBookOptions) {}

  /** Takes a record read from the store: the store holds it, so it is what readers see. */
  adopt(rec: TaskRecord): void {
    const json = JSON.stringify(rec.task);
    this.records.set(rec.task.id, rec);
    this.lastJson.set(rec.task.id, json);
    this.published.set(rec.task.id, { json, status: rec.task.status, task: undefined });
    this.summaries.set(rec.task.id, { status: rec.task.status, submitTime: rec.task.submitTime ?? 0 });
    // An old finished task read back from the store joins the bounded cache, not memory for good.
    if (isTerminal(rec.task.status)) this.retire(rec.task.id);
  }

  /** Writes a new record and only then makes it known. */
  async insert(rec: TaskRecord): Promise<void> {
    const json = JSON.stringify(rec.task);
    await this.opts.store.saveJson(rec.task.id, recordJson(json, rec.meta));
    this.records.set(rec.task.id, rec);
    this.lastJson.set(rec.task.id, json);
    this.published.set(rec.task.id, { json, status: rec.task.status, task: undefined });
    this.summaries.set(rec.task.id, { status: rec.task.status, submitTime: rec.task.submitTime ?? 0 });
  }

  /**
   * Changes a live task in memory at once, then persists and announces the snapshot in order.
   * Terminal tasks never change again; returns false for them.
   */
  mutate(rec: TaskRecord, change: Change): boolean {
    if (isTerminal(rec.task.status) || this.forgotten.has(rec)) return false;
    const id = rec.task.id;
    const status = rec.task.status;
    change(rec.task, rec.meta);
    const json = JSON.stringify(rec.task);
    const announce = json !== this.lastJson.get(id);
    this.lastJson.set(id, json);
    if (rec.task.status !== status) {
      this.opts.logger.info(
        { task: id, action: rec.task.action, from: status, to: rec.task.status, account: rec.meta.accountId },
        'task status',
      );
    }
    this.summaries.set(id, { status: rec.task.status, submitTime: rec.task.submitTime ?? 0 });
    this.persist(rec, json, announce);
    return true;
  }

  /**
   * Adds a late fact to a finished task (its seed, SPEC §14): written in order like any change
   * and published once written, but not announced (the task's status does not change). Rejects
   * when the write fails.
   */
  async annotate(rec: TaskRecord, change: Change): Promise<void> {
    const id = rec.task.id;
    change(rec.task, rec.meta);
    const json = JSON.stringify(rec.task);
    this.lastJson.set(id, json);
    const whole = recordJson(json, rec.meta);
    const status = rec.task.status;
    const next = this.write(id, whole).then(() => {
      this.published.set(id, { json, status, task: undefined });
    });
    const tail = next.catch(() => {});
    this.chains.set(id, tail);
    void tail.then(() => {
      if (this.chains.get(id) === tail) this.chains.delete(id);
    });
    await next;
  }

  /**
   * Lets a live task go (its account moved to another instance, SPEC §13): later changes of this
   * record are ignored, and readers here read the store again. Resolves once its writes are done.
   */
  async forget(rec: TaskRecord): Promise<void> {
    const id = rec.task.id;
    this.forgotten.add(rec);
    await this.settled(id);
    if (this.records.get(id) === rec) {
      this.records.delete(id);
      this.published.delete(id);
      this.lastJson.delete(id);
    }
  }

  /** Resolves once every write of the task queued so far is done (or failed and logged). */
  settled(id: string): Promise<void> {
    return this.chains.get(id) ?? Promise.resolve();
  }

  /** Every write queued so far, for a graceful stop. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
  }

  /** What readers may see of a task: the last persisted snapshot (frozen; never the working copy). */
  view(id: string): Readonly<Task> | undefined {
    const pub = this.published.get(id);
    if (!pub) return undefined;
    pub.task ??= deepFreeze(JSON.parse(pub.json) as Task);
    if (pub.task.status !== 'PENDING') return pub.task;
    return Object.freeze({ ...pub.task, queuePosition: this.opts.queuePosition(id) });
  }

  /** The persisted task JSON as `/task/fetch` serves it (no parse, no copy), or undefined. */
  viewJson(id: string): string | undefined {
    const pub = this.published.get(id);
    if (!pub) return undefined;
    if (pub.status === 'PENDING') return JSON.stringify(this.view(id));
    return pub.json;
  }

  /** A terminal task joins the cache of recent ones; the oldest beyond the limit leave memory. */
  retire(id: string): void {
    this.terminalOrder.push(id);
    while (this.terminalOrder.length > MAX_CACHED_TERMINAL) {
      const old = this.terminalOrder.shift();
      if (old && !this.chains.has(old)) {
        this.records.delete(old);
        this.published.delete(old);
        this.lastJson.delete(old);
      }
    }
  }

  /**
   * Writes a task's record after the writes of it queued before: at once when the store keeps
   * the order itself (the writes of one tick then share one commit), else once the last is done.
   */
  private write(id: string, whole: string): Promise<void> {
    const save = () => this.opts.store.saveJson(id, whole);
    if (this.opts.store.ordered) return save();
    return (this.chains.get(id) ?? Promise.resolve()).then(save);
  }

  private persist(rec: TaskRecord, json: string, announce: boolean): void {
    const id = rec.task.id;
    const whole = recordJson(json, rec.meta);
    const status = rec.task.status;
    const notifyUrl = rec.meta.notifyUrl;
    const facts = announce ? factsOf(rec.meta) : undefined;
    const next = this.write(id, whole).then(
      () => {
        const pub: Published = { json, status, task: undefined };
        this.published.set(id, pub);
        if (announce) {
          const task = this.view(id);
          if (task && facts) this.opts.announce(task, notifyUrl, facts);
        }
      },
      (err: unknown) =>
        this.opts.logger.error({ task: id, err: (err as Error).message }, 'store write failed'),
    );
    this.chains.set(id, next);
    void next.then(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
  }
}

/** The stored record's JSON, built around the task JSON already made (serialised once). */
function recordJson(taskJson: string, meta: TaskRecord['meta']): string {
  return `{"task":${taskJson},"meta":${JSON.stringify(meta)}}`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
