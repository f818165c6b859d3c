/**
 * The SQLite store's file watched from under the store: a file (or directory) deleted or replaced
 * while the service runs, or a file that can no longer be written, is noticed before the next
 * write, so the write is refused (503) instead of landing in a file nobody will open again.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';

/** The files SQLite keeps for one database in WAL mode. */
function companions(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/**
 * Why the database files at `path` cannot be opened safely, or null. SQLite maps `-shm` into
 * memory: one it cannot write (immutable, read-only) ends in SIGBUS, so it is refused up front.
 */
export function unwritableFile(path: string): string | null {
  for (const file of companions(path)) {
    if (!existsSync(file)) continue;
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (err) {
      return `${file} cannot be written (${(err as NodeJS.ErrnoException).code ?? 'error'}): fix its permissions or attributes (chattr -i)`;
    }
  }
  return null;
}

/** Watches one database file's identity (device + inode) from the moment it was opened. */
export class StoreFileWatch {
  private identity: { dev: number; ino: number } | undefined;
  private lost: string | null = null;
  /** Access checks cost three syscalls: done at most once a second. */
  private accessCheckedAt = 0;
  private accessProblem: string | null = null;

  constructor(readonly path: string) {}

  /** Records the identity of the file as opened. */
  arm(): void {
    try {
      const st = statSync(this.path);
      this.identity = { dev: st.dev, ino: st.ino };
    } catch {
      this.identity = undefined;
    }
  }

  /**
   * Why writes must stop, or null. Once the file is gone it stays gone for this process: the open
   * connection still writes to the deleted file, so a new file at the same path does not help.
   */
  problem(): string | null {
    if (this.lost || !this.identity) return this.lost;
    let st: { dev: number; ino: number };
    try {
      st = statSync(this.path);
    } catch {
      this.lost = `the store file ${this.path} (or its directory) was deleted while running; restart the service`;
      return this.lost;
    }
    if (st.dev !== this.identity.dev || st.ino !== this.identity.ino) {
      this.lost = `the store file ${this.path} was replaced while running; restart the service`;
      return this.lost;
    }
    const now = Date.now();
    if (now - this.accessCheckedAt >= 1000) {
      this.accessCheckedAt = now;
      this.accessProblem = unwritableFile(this.path);
    }
    return this.accessProblem;
  }
}
