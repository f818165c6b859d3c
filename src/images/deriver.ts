/**
 * The line of results whose derived files (previews, quadrants) are still to be cut. A result's
 * original is stored and announced first; its derived files follow here, one result at a time
 * (one cut already keeps the cores busy). A request for a file still in the line moves its result
 * to the front and waits for it, so every URL a task shows answers with its bytes.
 */

/** One result to cut: `run` is given the original's bytes when still held. */
export interface DeriveJob {
  /** `<taskId>/<token>`. */
  key: string;
  /** The original's bytes, or undefined when the cut must read them back from the store. */
  bytes: Buffer | undefined;
  run(bytes: Buffer | undefined): Promise<void>;
}

interface Entry extends DeriveJob {
  done: Promise<void>;
  settle: () => void;
}

export class Deriver {
  private readonly line: Entry[] = [];
  private readonly byKey = new Map<string, Entry>();
  private running = 0;
  private closed = false;

  /**
   * @param width results cut at once.
   * @param hold results waiting in line whose bytes are kept (each can be 8 MB); later ones are
   *   read back from the store when their turn comes, so a burst never holds every original.
   * @param onError a cut that failed (the result keeps its original; its derived files are missing).
   */
  constructor(
    private readonly width: number,
    private readonly hold: number,
    private readonly onError: (key: string, err: unknown) => void,
  ) {}

  /** Results waiting or being cut. */
  get size(): number {
    return this.byKey.size;
  }

  /** Puts a result in line (at the front with `urgent`); resolves once it is cut (or failed). */
  add(job: DeriveJob, urgent = false): Promise<void> {
    const known = this.byKey.get(job.key);
    if (known) return urgent ? (this.hurry(job.key) ?? known.done) : known.done;
    let settle: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const entry: Entry = { ...job, done, settle };
    if (!urgent && this.line.length >= this.hold) entry.bytes = undefined;
    this.byKey.set(job.key, entry);
    if (urgent) this.line.unshift(entry);
    else this.line.push(entry);
    this.next();
    return done;
  }

  /** Moves a waiting result to the front; resolves once it is cut. Undefined when not in line. */
  hurry(key: string): Promise<void> | undefined {
    const entry = this.byKey.get(key);
    if (!entry) return undefined;
    const at = this.line.indexOf(entry);
    if (at > 0) {
      this.line.splice(at, 1);
      this.line.unshift(entry);
    }
    return entry.done;
  }

  /** Resolves once every result in line now is cut (later ones are not waited for). */
  async settled(): Promise<void> {
    await Promise.all([...this.byKey.values()].map((e) => e.done));
  }

  /** Drops the results still waiting (their files are cut on first request) and waits for the running ones. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.line.splice(0)) {
      this.byKey.delete(entry.key);
      entry.settle();
    }
    await this.settled();
  }

  private next(): void {
    while (!this.closed && this.running < this.width) {
      const entry = this.line.shift();
      if (!entry) return;
      this.running++;
      entry
        .run(entry.bytes)
        .catch((err: unknown) => this.onError(entry.key, err))
        .finally(() => {
          this.running--;
          this.byKey.delete(entry.key);
          entry.settle();
          this.next();
        });
    }
  }
}
