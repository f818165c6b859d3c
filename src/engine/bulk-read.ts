/**
 * Reading many tasks' JSON at once (a `/mj` poll asks for up to 1000 ids every few seconds): the
 * tasks in memory are read with no wait each, only the others from the store. Like lists, it does
 * not wait for result links being updated (the next read shows them). In a cluster the places of
 * the waiting ones in the shared line are asked for in one round trip.
 */
import type { TaskBook } from './book.ts';
import { isAwaitingModal } from './modal-tasks.ts';
import type { TaskRecord } from './store.ts';
import type { Task } from './task.ts';

export interface BulkReadDeps {
  book: TaskBook;
  /** The record of a task not in memory (from the store), or undefined. */
  load(id: string): Promise<TaskRecord | undefined>;
  /** A task of this instance was read (its stored result may want an update). */
  onRead(rec: TaskRecord): void;
  /** Several instances (SPEC §13): the places of waiting tasks in the cluster's line. */
  places?(ids: readonly string[]): Promise<(number | null)[]>;
}

/** The persisted JSON of each of `ids`, in their order; undefined for an unknown one. */
export async function jsonOfMany(
  deps: BulkReadDeps,
  ids: readonly string[],
): Promise<(string | undefined)[]> {
  const { book } = deps;
  /** Waiting tasks whose place the cluster's line knows: their index in `out`. */
  const waiting: { i: number; task: Readonly<Task> }[] = [];
  const read = (rec: TaskRecord, i: number): string => {
    const id = rec.task.id;
    const held = book.records.get(id) === rec;
    if (deps.places && rec.task.status === 'PENDING' && !isAwaitingModal(rec.task)) {
      waiting.push({ i, task: (held ? book.view(id) : undefined) ?? rec.task });
    }
    if (!held) return JSON.stringify(rec.task);
    deps.onRead(rec);
    return book.viewJson(id) ?? JSON.stringify(rec.task);
  };
  const out: (string | undefined)[] = new Array(ids.length);
  const misses: number[] = [];
  ids.forEach((id, i) => {
    const rec = book.records.get(id);
    if (rec) out[i] = read(rec, i);
    else misses.push(i);
  });
  await Promise.all(
    misses.map(async (i) => {
      const rec = await deps.load(ids[i] ?? '');
      out[i] = rec ? read(rec, i) : undefined;
    }),
  );
  if (deps.places && waiting.length > 0) {
    const places = await deps.places(waiting.map((w) => w.task.id));
    waiting.forEach((w, k) => {
      out[w.i] = JSON.stringify({ ...w.task, queuePosition: places[k] ?? null });
    });
  }
  return out;
}
