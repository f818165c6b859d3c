/**
 * Each user's unfinished jobs (for `/jobs`, `/cancel` and `maxJobsPerUser`), kept in memory and
 * mirrored to the store so that a restart still knows them. The engine stays the truth: ids whose
 * task has ended or vanished are pruned whenever the list is read. In a cluster the lists live in
 * Redis alone ({@link SharedJobLists}): any instance may take a user's next request.
 */
import { z } from 'zod';
import type { EngineApi } from '../engine/api.ts';
import { isTerminal, type Task } from '../engine/task.ts';
import type { Logger } from '../log.ts';
import { type KeyValue, readKey, writeKey } from './kv.ts';

const listSchema = z.array(z.string());

/** Per-user lists that every instance reads and changes in place (no read-modify-write). */
export interface SharedJobLists {
  /** Oldest first. */
  jobIds(userId: number): Promise<string[]>;
  addJob(userId: number, taskId: string): Promise<void>;
  removeJobs(userId: number, taskIds: string[]): Promise<void>;
}

export class UserJobs {
  private readonly byUser = new Map<number, string[]>();
  private readonly loaded = new Map<number, Promise<void>>();
  private readonly reserved = new Map<number, number>();

  constructor(
    private readonly engine: EngineApi,
    private readonly kv: KeyValue,
    private readonly logger: Logger,
    private readonly shared?: SharedJobLists,
  ) {}

  private load(userId: number): Promise<void> {
    let p = this.loaded.get(userId);
    if (!p) {
      p = (async () => {
        const stored = (await readKey(this.kv, `jobs:${userId}`, listSchema, this.logger)) ?? [];
        const current = this.byUser.get(userId) ?? [];
        this.byUser.set(userId, [...new Set([...stored, ...current])]);
      })();
      this.loaded.set(userId, p);
    }
    return p;
  }

  private persist(userId: number): void {
    const ids = this.byUser.get(userId) ?? [];
    void writeKey(this.kv, `jobs:${userId}`, ids, this.logger);
  }

  /** The user's unfinished tasks, oldest first (ended ones are forgotten on the way). */
  async list(userId: number): Promise<Task[]> {
    if (this.shared) return this.listShared(userId, this.shared);
    await this.load(userId);
    const ids = [...(this.byUser.get(userId) ?? [])];
    const tasks: Task[] = [];
    const gone: string[] = [];
    for (const id of ids) {
      let task: Task | undefined;
      try {
        task = await this.engine.get(id);
      } catch {
        task = undefined;
      }
      if (task && !isTerminal(task.status)) tasks.push(task);
      else gone.push(id);
    }
    if (gone.length > 0) {
      this.byUser.set(
        userId,
        (this.byUser.get(userId) ?? []).filter((id) => !gone.includes(id)),
      );
      this.persist(userId);
    }
    return tasks;
  }

  /**
   * Holds a place for a new job when the user is under `max`; the returned release must be
   * called once the job was created (or refused). Null when the user is at the limit.
   */
  async reserve(userId: number, max: number): Promise<(() => void) | null> {
    const open = (await this.list(userId)).length;
    const held = this.reserved.get(userId) ?? 0;
    if (open + held >= max) return null;
    this.reserved.set(userId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.reserved.get(userId) ?? 1) - 1;
      if (n <= 0) this.reserved.delete(userId);
      else this.reserved.set(userId, n);
    };
  }

  add(userId: number, taskId: string): void {
    if (this.shared) {
      this.shared.addJob(userId, taskId).catch((err: Error) => this.sharedFailed(err));
      return;
    }
    const ids = this.byUser.get(userId) ?? [];
    if (ids.includes(taskId)) return;
    ids.push(taskId);
    this.byUser.set(userId, ids);
    void this.load(userId).then(() => this.persist(userId));
  }

  remove(userId: number, taskId: string): void {
    if (this.shared) {
      this.shared.removeJobs(userId, [taskId]).catch((err: Error) => this.sharedFailed(err));
      return;
    }
    const ids = this.byUser.get(userId);
    if (!ids?.includes(taskId)) return;
    this.byUser.set(
      userId,
      ids.filter((id) => id !== taskId),
    );
    void this.load(userId).then(() => this.persist(userId));
  }

  private async listShared(userId: number, shared: SharedJobLists): Promise<Task[]> {
    let ids: string[];
    try {
      ids = await shared.jobIds(userId);
    } catch (err) {
      this.sharedFailed(err as Error);
      return [];
    }
    const tasks: Task[] = [];
    const gone: string[] = [];
    for (const id of ids) {
      const task = await this.engine.get(id).catch(() => undefined);
      if (task && !isTerminal(task.status)) tasks.push(task);
      else gone.push(id);
    }
    if (gone.length > 0) shared.removeJobs(userId, gone).catch((err: Error) => this.sharedFailed(err));
    return tasks;
  }

  private sharedFailed(err: Error): void {
    this.logger.error({ err: err.message }, 'telegram job list in Redis not reached');
  }

  /** The user's most recent unfinished job id. */
  async latest(userId: number): Promise<string | undefined> {
    const tasks = await this.list(userId);
    return tasks.at(-1)?.id;
  }
}
