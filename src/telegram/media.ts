/**
 * Bytes in and out: downloading a user's photo from Telegram (handed to the engine as a data URI,
 * so neither a loopback URL nor the bot token ever lands in a task) and downloading a result image
 * to upload it (Telegram could not fetch a sandbox or expired URL itself).
 */
import { type DownloadError, fetchCapped } from '../engine/result-download.ts';
import { scrub } from '../log.ts';

export class MediaError extends Error {
  constructor(
    readonly code: 'TOO_LARGE' | 'FETCH_FAILED',
    message: string,
  ) {
    super(message);
    this.name = 'MediaError';
  }
}

export interface FetchedBytes {
  bytes: Buffer;
  contentType: string | null;
}

/** GETs a URL with a size cap and a timeout. */
export async function fetchBytes(
  url: string,
  opts: { maxBytes: number; timeoutMs: number },
): Promise<FetchedBytes> {
  try {
    return await fetchCapped(url, opts);
  } catch (err) {
    const e = err as DownloadError;
    throw new MediaError(e.code === 'DOWNLOAD_TOO_LARGE' ? 'TOO_LARGE' : 'FETCH_FAILED', e.message);
  }
}

/** The apiRoot as a base URL that keeps its path (telegraf resolves `./bot…` against it). */
export function normaliseApiRoot(apiRoot: string): string {
  return apiRoot.endsWith('/') ? apiRoot : `${apiRoot}/`;
}

/** Downloads a file Telegram knows by `file_path`; errors never carry the token. */
export async function downloadTelegramFile(
  apiRoot: string,
  token: string,
  filePath: string,
  opts: { maxBytes: number; timeoutMs: number },
): Promise<FetchedBytes> {
  const url = new URL(
    `./file/bot${token}/${filePath.replace(/^\/+/, '')}`,
    normaliseApiRoot(apiRoot),
  ).toString();
  try {
    return await fetchBytes(url, opts);
  } catch (err) {
    const e = err as MediaError;
    throw new MediaError(e.code ?? 'FETCH_FAILED', scrub(e.message, [token]));
  }
}

/** A file name for an uploaded result, from its URL. */
export function fileNameOf(url: string, fallback: string): string {
  try {
    const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
    return /^[\w.-]{1,120}\.(png|jpe?g|webp|gif)$/i.test(name) ? name : fallback;
  } catch {
    return fallback;
  }
}

/** The image type of some bytes by their signature (PNG/JPEG/WEBP/GIF), or null. */
export function imageMime(bytes: Buffer): string | null {
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (
    bytes.length >= 12 &&
    bytes.toString('ascii', 0, 4) === 'RIFF' &&
    bytes.toString('ascii', 8, 12) === 'WEBP'
  ) {
    return 'image/webp';
  }
  if (bytes.length >= 6 && bytes.toString('ascii', 0, 3) === 'GIF') return 'image/gif';
  return null;
}
