/**
 * Reading many tasks' JSON at once (a `/mj` poll asks for up to 1000 ids every few seconds): the
 * tasks in memory are read with no wait each, only the others from the store. Like lists, it does
 * not wait for result links being updated (the next read shows them).
 */
import type { TaskBook } from './book.ts';
import type { TaskRecord } from './store.ts';

export interface BulkReadDeps {
  book: TaskBook;
  /** The record of a task not in memory (from the store), or undefined. */
  load(id: string): Promise<TaskRecord | undefined>;
  /** A task of this instance was read (its stored result may want an update). */
  onRead(rec: TaskRecord): void;
}

/** The persisted JSON of each of `ids`, in their order; undefined for an unknown one. */
export async function jsonOfMany(
  deps: BulkReadDeps,
  ids: readonly string[],
): Promise<(string | undefined)[]> {
  const { book } = deps;
  const read = (rec: TaskRecord): string => {
    const id = rec.task.id;
    if (book.records.get(id) !== rec) return JSON.stringify(rec.task);
    deps.onRead(rec);
    return book.viewJson(id) ?? JSON.stringify(rec.task);
  };
  const out: (string | undefined)[] = new Array(ids.length);
  const misses: number[] = [];
  ids.forEach((id, i) => {
    const rec = book.records.get(id);
    if (rec) out[i] = read(rec);
    else misses.push(i);
  });
  await Promise.all(
    misses.map(async (i) => {
      const rec = await deps.load(ids[i] ?? '');
      out[i] = rec ? read(rec) : undefined;
    }),
  );
  return out;
}
