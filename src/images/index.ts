/**
 * The image store room (SPEC §6.7): {@link createImageArchive} builds the archive `src/app.ts`
 * hands to the engine (filing results) and to the HTTP front (serving them), on local disk, an
 * S3-compatible bucket, or nothing (`off`). It imports nothing of the engine or the fronts.
 */
import type { Readable } from 'node:stream';
import type { ImagesConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Backend } from './backend.ts';
import { Deriver } from './deriver.ts';
import { Gate } from './gate.ts';
import { LocalBackend } from './local.ts';
import { keyOf, validParts } from './names.ts';
import { cutDerived, type Plan, planFiles, probeImage } from './process.ts';
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

/** Names of derived files: made from the original, after it (SPEC §6.7.2–3). */
const DERIVED = /^(?:[1-4]\.(?:png|jpg|webp|gif)|thumb(?:-[1-4])?\.webp)$/;
const ORIGINALS = ['image.png', 'image.jpg', 'image.webp', 'image.gif'];
/** Results whose cut failed, remembered so a request for their missing files does not cut again. */
const FAILED_KEPT = 1000;

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
  private readonly deriver: Deriver;
  private readonly failed = new Set<string>();

  constructor(
    readonly kind: ImageStoreKind,
    private readonly backend: Backend | undefined,
    private readonly split: boolean,
    private readonly opts: ArchiveOptions,
  ) {
    this.enabled = backend !== undefined;
    this.log = opts.logger.child({ room: 'images' });
    this.cuts = new Gate(opts.cutsAtOnce ?? 1);
    this.deriver = new Deriver(opts.cutsAtOnce ?? 1, 4, (key, err) => {
      this.failed.add(key);
      if (this.failed.size > FAILED_KEPT) this.failed.delete(this.failed.values().next().value as string);
      this.log.warn({ files: key, err: (err as Error).message }, 'previews and quadrants not made');
    });
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
    // A cut still under way would write into a task's prefix after the sweep looked at it.
    await this.deriver.settled();
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
    const plan = planFiles(await probeImage(bytes), opts.grid && this.split);
    const original = keyOf(taskId, token, plan.image);
    if (this.backend?.directUrl(original) !== undefined) {
      // Clients load the files straight from the bucket, past this service: they must all be
      // there when the task is announced. The original goes last: its presence means the set is.
      const derived = await this.cuts.run(() => cutDerived(bytes, plan));
      await Promise.all(derived.map((f) => this.put(keyOf(taskId, token, f.name), f.bytes, f.contentType)));
      await this.put(original, bytes, plan.contentType);
    } else {
      // Served by this service: the original is stored before FINISHED, the previews and
      // quadrants right after; a request for one not cut yet waits for it (see `stat`).
      await this.put(original, bytes, plan.contentType);
      void this.deriver.add(this.deriveJob(taskId, token, plan, bytes));
    }
    return {
      imageUrl: this.url(taskId, token, plan.image),
      imageUrls: plan.parts.map((name, i) => ({
        url: this.url(taskId, token, name),
        thumbnail: this.url(taskId, token, plan.partThumbs[i] ?? plan.thumb),
      })),
      thumbnailUrl: this.url(taskId, token, plan.thumb),
    };
  }

  /** The cut of one result's derived files, reading the original back when its bytes were let go. */
  private deriveJob(taskId: string, token: string, plan: Plan, bytes: Buffer | undefined) {
    return {
      key: keyOf(taskId, token, ''),
      bytes,
      run: async (held: Buffer | undefined) => {
        const source = held ?? (await this.readAll(keyOf(taskId, token, plan.image)));
        const files = await this.cuts.run(() => cutDerived(source, plan));
        await Promise.all(files.map((f) => this.put(keyOf(taskId, token, f.name), f.bytes, f.contentType)));
      },
    };
  }

  private async readAll(key: string): Promise<Buffer> {
    if (!this.backend) throw new Error('images.store is off');
    const chunks: Buffer[] = [];
    for await (const chunk of await this.backend.read(key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * Makes sure a derived file that should exist does: waits for its result's cut when it is in
   * line (moved to the front), else (cut dropped at a restart, or begun on another instance that
   * shares the store) cuts it now from the stored original.
   */
  private async derive(taskId: string, token: string, name: string): Promise<void> {
    const key = keyOf(taskId, token, '');
    if (this.failed.has(key)) return;
    const waiting = this.deriver.hurry(key);
    if (waiting) return waiting;
    const backend = this.backend;
    if (!backend) return;
    for (const original of ORIGINALS) {
      const file = await backend.stat(keyOf(taskId, token, original));
      if (!file) continue;
      const bytes = await this.readAll(keyOf(taskId, token, original));
      // The grid flag is not kept with the files: names of quadrants are only handed out for
      // grids, so a result cut here is cut as one (an upscale gets unused quadrants, no harm).
      const plan = planFiles(await probeImage(bytes), this.split);
      // A name this result never has (another format's quadrant) is not worth a cut.
      if (![plan.thumb, ...plan.parts, ...plan.partThumbs].includes(name)) return;
      return this.deriver.add(this.deriveJob(taskId, token, plan, bytes), true);
    }
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
    const key = keyOf(taskId, token, name);
    const found = await this.backend.stat(key);
    if (found || !DERIVED.test(name)) return found;
    try {
      await this.derive(taskId, token, name);
    } catch (err) {
      this.log.warn(
        { files: keyOf(taskId, token, ''), err: (err as Error).message },
        'file not cut on request',
      );
      return undefined;
    }
    return this.backend.stat(key);
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
    await this.deriver.close();
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
