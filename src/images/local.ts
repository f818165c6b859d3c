/**
 * Stored files on local disk under `images.dir`: `<dir>/<taskId>/<token>/<name>`, each written to a
 * temporary name first and renamed, so a reader never sees half a file.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, writeFile as writeFileAll } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { Backend } from './backend.ts';
import { contentTypeOf, validTaskId } from './names.ts';
import { ImageStoreError, type StoredFile } from './types.ts';

// The callback form writes the buffer in one call; the promise form writes 512 KiB at a time, one
// trip to the thread pool each (an 8 MB grid: 16 trips, each a wait when the machine is busy).
const writeWhole = promisify(writeFileAll);

export class LocalBackend implements Backend {
  readonly root: string;

  constructor(dir: string, cwd = process.cwd()) {
    this.root = resolve(cwd, dir);
  }

  async check(): Promise<void> {
    const probe = join(this.root, `.probe-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(this.root, { recursive: true });
      await writeFile(probe, 'ok');
      await unlink(probe);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ImageStoreError(
        'IMAGE_STORE_UNWRITABLE',
        `images.dir: cannot write to ${this.root} (${e.code ?? e.message})`,
        'images.dir',
        { cause: err },
      );
    }
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    const path = join(this.root, key);
    const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(join(path, '..'), { recursive: true });
      await writeWhole(tmp, bytes);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw new ImageStoreError('IMAGE_STORE_FAILED', `could not write ${key}: ${(err as Error).message}`);
    }
  }

  async stat(key: string): Promise<StoredFile | undefined> {
    try {
      const s = await stat(join(this.root, key));
      if (!s.isFile()) return undefined;
      return {
        size: s.size,
        // Files never change once written: size and write time name the bytes.
        etag: `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`,
        contentType: contentTypeOf(key),
      };
    } catch {
      return undefined;
    }
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    return createReadStream(join(this.root, key), range ?? {});
  }

  async sweep(cutoffMs: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      if (!validTaskId(name)) continue;
      const dir = join(this.root, name);
      try {
        const s = await stat(dir);
        if (s.mtimeMs >= cutoffMs) continue;
        await rm(dir, { recursive: true, force: true });
        removed++;
      } catch {
        // gone already, or another instance sweeping the shared dir
      }
    }
    return removed;
  }

  directUrl(): undefined {
    return undefined;
  }

  async close(): Promise<void> {}
}
