/**
 * The image store room (SPEC §6.7): {@link createImageArchive} builds the archive `src/app.ts`
 * hands to the engine (filing results) and to the HTTP front (serving them), on local disk, an
 * S3-compatible bucket, or nothing (`off`). It imports nothing of the engine or the fronts.
 */
import type { Readable } from 'node:stream';
import type { ImagesConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Backend } from './backend.ts';
import { Gate } from './gate.ts';
import { LocalBackend } from './local.ts';
import { keyOf, validParts } from './names.ts';
import { cutResult } from './process.ts';
import { S3Backend } from './s3.ts';
import type {
  FiledImage,
  FileImageOptions,
  ImageArchive,
  ImageReader,
  ImageStoreKind,
  StoredFile,
} from './types.ts';

export type { FiledImage, ImageArchive, ImageReader, StoredFile } from './types.ts';
export { ImageStoreError } from './types.ts';

export interface ArchiveOptions {
  /** Base URL clients reach this service at (read at each filing: the port may be known late). */
  publicBase: () => string;
  logger: Logger;
  /** Files older than this many days are deleted (`store.expiredDates`). */
  expiredDays: number;
  /** Base directory for a relative `images.dir`. */
  cwd?: string;
  /** How often the expiry sweep runs (default hourly). */
  sweepEveryMs?: number;
  /**
   * How many results are decoded and cut at once (default 1): one cut already keeps the cores
   * busy (its encodes run side by side), and each decoded grid holds 12+ MB.
   */
  cutsAtOnce?: number;
}

/** The archive, the reader, and what `src/app.ts` needs to start and stop it. */
export interface ImageService extends ImageArchive, ImageReader {
  /** Checks that the store can be written; throws `ImageStoreError` when not. Starts the sweep. */
  start(): Promise<void>;
  /** Deletes the files of tasks past their expiry now; resolves with how many tasks. */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

class Archive implements ImageService {
  readonly enabled: boolean;
  private ok = true;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly cuts: Gate;

  constructor(
    readonly kind: ImageStoreKind,
    private readonly backend: Backend | undefined,
    private readonly split: boolean,
    private readonly opts: ArchiveOptions,
  ) {
    this.enabled = backend !== undefined;
    this.log = opts.logger.child({ room: 'images' });
    this.cuts = new Gate(opts.cutsAtOnce ?? 1);
  }

  async start(): Promise<void> {
    if (!this.backend) return;
    await this.backend.check();
    const every = this.opts.sweepEveryMs ?? 3600_000;
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) =>
        this.log.warn({ err: (err as Error).message }, 'image expiry sweep failed'),
      );
    }, every);
    this.timer.unref();
  }

  async sweep(): Promise<number> {
    if (!this.backend) return 0;
    const cutoff = Date.now() - this.opts.expiredDays * 24 * 3600_000;
    const n = await this.backend.sweep(cutoff);
    if (n > 0) this.log.info({ tasks: n }, 'expired images deleted');
    return n;
  }

  private url(taskId: string, token: string, name: string): string {
    const key = keyOf(taskId, token, name);
    return (
      this.backend?.directUrl(key) ??
      `${this.opts.publicBase().replace(/\/+$/, '')}/image/file/${taskId}/${token}/${name}`
    );
  }

  private async put(key: string, bytes: Buffer, contentType: string): Promise<void> {
    if (!this.backend) throw new Error('images.store is off');
    try {
      await this.backend.put(key, bytes, contentType);
      this.ok = true;
    } catch (err) {
      this.ok = false;
      throw err;
    }
  }

  async fileImage(taskId: string, token: string, bytes: Buffer, opts: FileImageOptions): Promise<FiledImage> {
    const cut = await this.cuts.run(() => cutResult(bytes, { grid: opts.grid && this.split }));
    // The original goes last: its presence means the whole set is there.
    const [original, ...derived] = cut.files;
    await Promise.all(derived.map((f) => this.put(keyOf(taskId, token, f.name), f.bytes, f.contentType)));
    if (original) await this.put(keyOf(taskId, token, original.name), original.bytes, original.contentType);
    return {
      imageUrl: this.url(taskId, token, cut.image),
      imageUrls: cut.parts.map((name, i) => ({
        url: this.url(taskId, token, name),
        thumbnail: this.url(taskId, token, cut.partThumbs[i] ?? cut.thumb),
      })),
      thumbnailUrl: this.url(taskId, token, cut.thumb),
    };
  }

  async fileVideo(taskId: string, token: string, bytes: Buffer): Promise<string> {
    await this.put(keyOf(taskId, token, 'video.mp4'), bytes, 'video/mp4');
    return this.url(taskId, token, 'video.mp4');
  }

  health(): { store: ImageStoreKind; ok: boolean } {
    return { store: this.kind, ok: this.ok };
  }

  async stat(taskId: string, token: string, name: string): Promise<StoredFile | undefined> {
    if (!this.backend || !validParts(taskId, token, name)) return undefined;
    return this.backend.stat(keyOf(taskId, token, name));
  }

  async read(
    taskId: string,
    token: string,
    name: string,
    range?: { start: number; end: number },
  ): Promise<Readable> {
    if (!this.backend || !validParts(taskId, token, name)) throw new Error('no such file');
    return this.backend.read(keyOf(taskId, token, name), range);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.backend?.close();
  }
}

/** Builds the archive for `images` (not started: call `start()`). */
export function createImageArchive(config: ImagesConfig, opts: ArchiveOptions): ImageService {
  if (config.store === 'off') return new Archive('off', undefined, config.split, opts);
  const backend: Backend =
    config.store === 's3' ? new S3Backend(config.s3) : new LocalBackend(config.dir, opts.cwd);
  return new Archive(config.store, backend, config.split, opts);
}
