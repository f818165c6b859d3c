/**
 * The byte stores behind the archive: each puts, stats, reads and sweeps files by key
 * (`<taskId>/<token>/<name>`), nothing more. Chosen by `images.store`.
 */
import type { Readable } from 'node:stream';
import type { StoredFile } from './types.ts';

export interface Backend {
  /** Writes a probe and removes it; throws `ImageStoreError` (`IMAGE_STORE_UNWRITABLE`) when it cannot. */
  check(): Promise<void>;
  put(key: string, bytes: Buffer, contentType: string): Promise<void>;
  stat(key: string): Promise<StoredFile | undefined>;
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** Removes every task prefix whose files were written before `cutoffMs`; resolves with how many. */
  sweep(cutoffMs: number): Promise<number>;
  /** A URL that serves the key straight from the store, when configured (`images.s3.publicUrl`). */
  directUrl(key: string): string | undefined;
  close(): Promise<void>;
}
