/**
 * The sandbox's memory across restarts (SPEC §8): its messages, the jobs whose buttons can still
 * be pressed, and the jobs in flight, kept in a key-value space of the service's store. Writes
 * are gathered for a moment and made per key, in order; `close()` writes what is left.
 */
import type { Logger } from '../log.ts';

/** The part of a key-value space the sandbox needs (the service's `TaskStore.space` fits). */
export interface SandboxKv {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

/** Gathers changes per key and writes each key's latest value, one write at a time. */
export class SandboxPersistence {
  private readonly dirty = new Map<string, () => unknown>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly kv: SandboxKv,
    private readonly logger: Logger | undefined,
    private readonly delayMs = 100,
  ) {}

  load(key: string): Promise<unknown> {
    return this.kv.get(key);
  }

  /** `value` is read when the write happens: many changes in a row cost one write. */
  mark(key: string, value: () => unknown): void {
    this.dirty.set(key, value);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Writes every pending key now. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Read now: what is written is the state at this moment (close() lets go of it right after).
    const batch = [...this.dirty.entries()].map(([key, value]) => [key, value()] as const);
    this.dirty.clear();
    this.writing = this.writing.then(async () => {
      for (const [key, value] of batch) {
        try {
          await this.kv.set(key, value);
        } catch (err) {
          this.logger?.warn({ key, err: (err as Error).message }, 'sandbox state write failed');
        }
      }
    });
    return this.writing;
  }
}
