/**
 * A gate that lets at most `width` jobs run at once; the others wait their turn in order. The
 * image work is CPU and memory heavy (a decoded 2048² grid is 12 MB): without a bound, a burst of
 * finished jobs would decode them all at once and each would take longer.
 */
export class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly width: number) {
    if (!(width >= 1)) throw new RangeError('a gate lets at least one job through');
  }

  /** Jobs waiting for their turn (not counting those running). */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `job` once fewer than `width` jobs run; resolves or rejects as it does. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.width) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      // The place passes straight to the next job, so `running` never dips below a queue's worth.
      if (next) next();
      else this.running--;
    }
  }
}
