/**
 * The simulated CDN and upload host: bytes stored under the path of their real URL
 * (`https://cdn.discordapp.com/attachments/<channel>/<id>/<file>?ex=…&is=…&hm=…&`), and upload
 * slots whose `upload_url` points at the real storage host — clients swap its origin for ours.
 * Like Discord since 2024, a file is served only through a signed, unexpired link (`ex=` passed,
 * a wrong `hm=` or none → 404), and `POST /attachments/refresh-urls` signs links anew.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { DiscordAttachment } from '../../discord/types.ts';
import { REAL_CDN_ORIGIN, REAL_MEDIA_ORIGIN, REAL_UPLOAD_ORIGIN } from './api.ts';

export interface StoredFile {
  bytes: Buffer;
  contentType: string;
}

/**
 * Where the CDN keeps its bytes, by path. The default keeps them in memory and forgets the oldest
 * past a byte budget; another implementation (e.g. on disk, for a sandbox that outlives its
 * process) can be passed to the {@link Cdn}.
 */
export interface CdnBytes {
  get(path: string): StoredFile | undefined;
  set(path: string, file: StoredFile): void;
  delete(path: string): void;
  clear(): void;
}

/** In-memory bytes, oldest forgotten first past `maxBytes` (their URLs then 404, like expired ones). */
export class MemoryCdnBytes implements CdnBytes {
  private readonly files = new Map<string, StoredFile>();
  private storedBytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(path: string): StoredFile | undefined {
    return this.files.get(path);
  }

  set(path: string, file: StoredFile): void {
    this.delete(path);
    this.files.set(path, file);
    this.storedBytes += file.bytes.length;
    for (const [oldest, old] of this.files) {
      if (this.storedBytes <= this.maxBytes || oldest === path) break;
      this.files.delete(oldest);
      this.storedBytes -= old.bytes.length;
    }
  }

  delete(path: string): void {
    const old = this.files.get(path);
    if (!old) return;
    this.files.delete(path);
    this.storedBytes -= old.bytes.length;
  }

  clear(): void {
    this.files.clear();
    this.storedBytes = 0;
  }
}

/** Why a CDN link does not serve. */
export type CdnMiss = 'missing' | 'expired' | 'unsigned';

export interface UploadSlot {
  key: string;
  uploadId: string;
  filename: string;
  userId: string;
  channelId: string;
  file: StoredFile | undefined;
}

/** How long a signed CDN URL claims to live (Discord: about a day). */
const URL_LIFETIME_S = 24 * 3600;

/** Upload slots kept; the oldest are forgotten first. */
const MAX_SLOTS = 1000;

export class Cdn {
  private readonly files: CdnBytes;
  private readonly slots = new Map<string, UploadSlot>();
  private readonly signKey = randomBytes(32);
  /** How long a new link lives, in seconds (tests shorten it to see links expire). */
  urlLifetimeS = URL_LIFETIME_S;
  /** Faults: answer 404 to every file (the CDN "stops serving" them), or 500 to the next `n`. */
  readonly faults = { down: false, errorsNext: 0 };

  /** Past `maxBytes` of stored files the oldest are forgotten (their URLs then 404, like expired ones). */
  constructor(maxBytes = 256 * 1024 * 1024, bytes?: CdnBytes) {
    this.files = bytes ?? new MemoryCdnBytes(maxBytes);
  }

  /** Stores bytes; the attachment's `url`/`proxy_url` are on Discord's real CDN/media origins. */
  store(
    id: string,
    channelId: string,
    filename: string,
    bytes: Buffer,
    contentType: string,
  ): DiscordAttachment {
    const path = `/attachments/${channelId}/${id}/${encodeURIComponent(safeName(filename))}`;
    this.files.set(path, { bytes, contentType });
    const size = imageSize(bytes);
    return {
      id,
      filename: safeName(filename),
      size: bytes.length,
      url: REAL_CDN_ORIGIN + this.sign(path),
      proxy_url: REAL_MEDIA_ORIGIN + this.sign(path),
      content_type: contentType,
      ...(size ? { width: size.width, height: size.height } : {}),
    };
  }

  /** The stored bytes of a CDN path (`/attachments/…` or `/ephemeral-attachments/…`), query ignored. */
  get(path: string): StoredFile | undefined {
    return this.files.get(path);
  }

  /**
   * The file a link serves: its path must be stored and its `ex`/`is`/`hm` must be ours and
   * unexpired. `path` is normalised (`/attachments/…`), `query` as in the link.
   */
  serve(path: string, query: URLSearchParams): StoredFile | CdnMiss {
    const file = this.files.get(path);
    if (!file || this.faults.down) return 'missing';
    const ex = query.get('ex');
    const is = query.get('is');
    const hm = query.get('hm');
    if (!ex || !is || !hm || hm !== this.mac(path, ex, is)) return 'unsigned';
    if (Number.parseInt(ex, 16) * 1000 <= Date.now()) return 'expired';
    return file;
  }

  /** A freshly signed link for a stored file's link (Discord's refresh-urls), or undefined. */
  refresh(url: string): string | undefined {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return undefined;
    }
    const origin = u.origin === REAL_MEDIA_ORIGIN ? REAL_MEDIA_ORIGIN : REAL_CDN_ORIGIN;
    if (u.origin !== REAL_CDN_ORIGIN && u.origin !== REAL_MEDIA_ORIGIN) return undefined;
    const path = u.pathname.replace(/^\/ephemeral-attachments\//, '/attachments/');
    if (!this.files.get(path)) return undefined;
    return origin + this.sign(path);
  }

  /** Forgets every stored file (their links then 404). */
  clear(): void {
    this.files.clear();
  }

  /** A new upload slot for a file the client announced. */
  openSlot(
    userId: string,
    channelId: string,
    filename: string,
  ): { uploadUrl: string; uploadFilename: string } {
    const name = safeName(filename);
    const key = `${randomUUID()}/${name}`;
    const uploadId = randomBytes(24).toString('base64url');
    this.slots.set(key, { key, uploadId, filename: name, userId, channelId, file: undefined });
    if (this.slots.size > MAX_SLOTS) {
      const oldest = this.slots.keys().next().value;
      if (oldest !== undefined) this.slots.delete(oldest);
    }
    return { uploadUrl: `${REAL_UPLOAD_ORIGIN}/${key}?upload_id=${uploadId}`, uploadFilename: key };
  }

  /** Stores the bytes of a PUT on a slot; false when the slot or its upload id is unknown. */
  fillSlot(key: string, uploadId: string | null, bytes: Buffer, contentType: string): boolean {
    const slot = this.slots.get(key);
    if (!slot || slot.uploadId !== uploadId) return false;
    slot.file = { bytes, contentType };
    return true;
  }

  /** A slot whose bytes arrived, for the user who opened it. */
  uploaded(key: string, userId: string): (UploadSlot & { file: StoredFile }) | undefined {
    const slot = this.slots.get(key);
    return slot?.file && slot.userId === userId ? (slot as UploadSlot & { file: StoredFile }) : undefined;
  }

  private mac(path: string, ex: string, is: string): string {
    return createHmac('sha256', this.signKey).update(`${path}${ex}${is}`).digest('hex');
  }

  private sign(path: string): string {
    const now = Math.floor(Date.now() / 1000);
    const ex = (now + this.urlLifetimeS).toString(16);
    const is = now.toString(16);
    return `${path}?ex=${ex}&is=${is}&hm=${this.mac(path, ex, is)}&`;
  }
}

/** Keeps a name URL- and path-safe the way Discord does (spaces and odd characters become `_`). */
export function safeName(filename: string): string {
  const base = filename.split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[^\w.-]/g, '_').slice(0, 200);
  return clean.length > 0 ? clean : 'unknown';
}

/** Width/height of a PNG or WebP, read from its header (the CDN reports them like Discord). */
export function imageSize(bytes: Buffer): { width: number; height: number } | undefined {
  if (
    bytes.length >= 24 &&
    bytes.readUInt32BE(0) === 0x89504e47 &&
    bytes.toString('ascii', 12, 16) === 'IHDR'
  ) {
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (
    bytes.length >= 30 &&
    bytes.toString('ascii', 0, 4) === 'RIFF' &&
    bytes.toString('ascii', 8, 12) === 'WEBP'
  ) {
    const chunk = bytes.toString('ascii', 12, 16);
    if (chunk === 'VP8X') return { width: 1 + bytes.readUIntLE(24, 3), height: 1 + bytes.readUIntLE(27, 3) };
    if (chunk === 'VP8 ')
      return { width: bytes.readUInt16LE(26) & 0x3fff, height: bytes.readUInt16LE(28) & 0x3fff };
  }
  return undefined;
}
