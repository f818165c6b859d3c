/**
 * The process-wide FIFO of tasks waiting for an account (SPEC §6.2). The engine walks it in order
 * and takes every task that can run now, so a task whose pinned account is full never holds back
 * the ones behind it.
 */
export class TaskQueue {
  private ids: string[] = [];

  get length(): number {
    return this.ids.length;
  }

  push(id: string): void {
    this.ids.push(id);
  }

  /** Put back at the head (a task that must be retried before newer ones). */
  unshift(id: string): void {
    this.ids.unshift(id);
  }

  remove(id: string): boolean {
    const i = this.ids.indexOf(id);
    if (i < 0) return false;
    this.ids.splice(i, 1);
    return true;
  }

  /** 1-based place in the queue, or null when not queued. */
  position(id: string): number | null {
    const i = this.ids.indexOf(id);
    return i < 0 ? null : i + 1;
  }

  /** A snapshot in order, safe to iterate while the queue changes. */
  snapshot(): string[] {
    return [...this.ids];
  }
}
