/**
 * What the engine and the HTTP front need of the image store (SPEC §6.7): the engine files a
 * finished task's result through {@link ImageArchive}; the front serves files through
 * {@link ImageReader}. Concrete backends (local disk, S3-compatible, off) live beside this file and
 * are chosen by `src/app.ts`; nothing here knows of tasks beyond their id.
 */
import type { Readable } from 'node:stream';

export type ImageStoreKind = 'local' | 's3' | 'off';

/** A stored file's facts, for `Content-Length`, `ETag` and `Range`. */
export interface StoredFile {
  size: number;
  etag: string;
  contentType: string;
}

/** One stored image and its preview, as the task shows them (`imageUrls` entries). */
export interface StoredImageUrl {
  url: string;
  thumbnail: string | null;
}

/** What filing a result produced: the URLs the task gets. */
export interface FiledImage {
  /** The result itself (`image.<ext>`). */
  imageUrl: string;
  /** A grid's four quadrants in grid order, or the one image. */
  imageUrls: StoredImageUrl[];
  /** `thumb.webp`: ≤ 512 px preview of the whole result. */
  thumbnailUrl: string | null;
}

/** How a result is cut up: a 2x2 grid gets its quadrants stored too. */
export interface FileImageOptions {
  grid: boolean;
}

/** Raised when the store cannot be used; `key` names the configuration key to look at. */
export class ImageStoreError extends Error {
  constructor(
    readonly code: 'IMAGE_STORE_UNWRITABLE' | 'IMAGE_STORE_FAILED' | 'IMAGE_INVALID',
    message: string,
    readonly key = 'images',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ImageStoreError';
  }
}

/** The engine's view of the store. */
export interface ImageArchive {
  readonly kind: ImageStoreKind;
  /** False when results are not stored (`images.store: "off"`). */
  readonly enabled: boolean;
  /**
   * Stores a result image (original bytes untouched) with its thumbnail and, for a grid with
   * `images.split` on, its four quadrants. Resolves with the URLs the task gets.
   * @throws {ImageStoreError} the bytes are not an image, or the store refused the write.
   */
  fileImage(taskId: string, token: string, bytes: Buffer, opts: FileImageOptions): Promise<FiledImage>;
  /** Stores a video result as `video.mp4`; resolves with its URL. */
  fileVideo(taskId: string, token: string, bytes: Buffer): Promise<string>;
  /** `/health`'s `images` entry. */
  health(): { store: ImageStoreKind; ok: boolean };
}

/** The HTTP front's view of the store: read one file of a task. */
export interface ImageReader {
  /** The file's facts, or undefined when no such file exists (wrong token, unknown task, name). */
  stat(taskId: string, token: string, name: string): Promise<StoredFile | undefined>;
  /** The bytes from `start` to `end` inclusive (the whole file without a range). */
  read(
    taskId: string,
    token: string,
    name: string,
    range?: { start: number; end: number },
  ): Promise<Readable>;
}
