/**
 * The engine's index of every known task (for listing) outlives the store's records unless it is
 * pruned: a task the store has expired must leave it too.
 */
import { isTerminal, type TaskStatus } from './task.ts';

export interface TaskSummary {
  status: TaskStatus;
  /** Seconds since the epoch. */
  submitTime: number;
}

/** How often the index is swept. */
export const SUMMARY_SWEEP_MS = 10 * 60 * 1000;

/** Drops finished tasks older than the store keeps them; returns how many went. */
export function pruneSummaries(
  summaries: Map<string, TaskSummary>,
  expiredDays: number,
  nowMs = Date.now(),
): number {
  const cutoff = nowMs / 1000 - expiredDays * 24 * 3600;
  let dropped = 0;
  for (const [id, s] of summaries) {
    if (s.submitTime < cutoff && isTerminal(s.status)) {
      summaries.delete(id);
      dropped++;
    }
  }
  return dropped;
}
