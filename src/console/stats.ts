/**
 * Jobs per minute and failure rate over the last hour, for the dashboard's chart: counted from
 * the engine's task events as tasks end, seeded once from the store's recent tasks.
 */
import type { EngineApi } from '../engine/api.ts';
import { isTerminal, type Task } from '../engine/task.ts';

export interface MinuteCount {
  /** Start of the minute, unix ms. */
  at: number;
  finished: number;
  failed: number;
}

export interface HourStats {
  /** Sixty minutes, oldest first; the last one is the current minute. */
  minutes: MinuteCount[];
  /** Tasks ended in the hour, divided by 60. */
  jobsPerMinute: number;
  /** Failed / ended in the hour; null when nothing ended. */
  failureRate: number | null;
}

const HOUR = 3600_000;
const MINUTE = 60_000;

/** Keeps the end time and outcome of each task that ended in the last hour. */
export class JobStats {
  private readonly ended = new Map<string, { at: number; failed: boolean }>();
  private seeded: Promise<void> | undefined;
  private readonly onTask = (task: Task) => this.record(task);

  constructor(
    private readonly engine: EngineApi,
    private readonly now: () => number = Date.now,
  ) {
    engine.on('task', this.onTask);
  }

  private record(task: Task): void {
    if (!isTerminal(task.status)) return;
    const at = task.finishTime ? task.finishTime * 1000 : this.now();
    if (at < this.now() - HOUR) return;
    this.ended.set(task.id, { at, failed: task.status === 'FAILED' });
  }

  /** Reads the store's newest tasks once, so a restart does not start the chart empty. */
  private seed(): Promise<void> {
    this.seeded ??= this.engine.list({ limit: 1000 }).then(
      (tasks) => {
        for (const t of tasks) if (!this.ended.has(t.id)) this.record(t);
      },
      () => {
        // An unreadable store shows the events since start-up only; the next call tries again.
        this.seeded = undefined;
      },
    );
    return this.seeded;
  }

  async hour(): Promise<HourStats> {
    await this.seed();
    const now = this.now();
    const first = Math.floor(now / MINUTE) * MINUTE - 59 * MINUTE;
    const minutes: MinuteCount[] = Array.from({ length: 60 }, (_, i) => ({
      at: first + i * MINUTE,
      finished: 0,
      failed: 0,
    }));
    let total = 0;
    let failed = 0;
    for (const [id, e] of this.ended) {
      if (e.at < now - HOUR) {
        this.ended.delete(id);
        continue;
      }
      const slot = minutes[Math.floor((e.at - first) / MINUTE)];
      if (!slot) continue;
      total++;
      if (e.failed) {
        failed++;
        slot.failed++;
      } else slot.finished++;
    }
    return {
      minutes,
      jobsPerMinute: Math.round((total / 60) * 100) / 100,
      failureRate: total ? failed / total : null,
    };
  }

  close(): void {
    this.engine.off('task', this.onTask);
  }
}
