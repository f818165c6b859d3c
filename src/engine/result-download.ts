/**
 * Downloads a finished task's file from Discord's CDN (SPEC §6.7.1): streamed, capped at 64 MiB,
 * 60 s per attempt, three attempts with doubling backoff. Only Discord CDN URLs (or `proxy.cdn`)
 * are fetched, never a URL a user typed.
 */
import { request } from 'undici';

export const DOWNLOAD_MAX_BYTES = 64 * 1024 * 1024;

export class DownloadError extends Error {
  constructor(
    readonly code: 'DOWNLOAD_FAILED' | 'DOWNLOAD_TOO_LARGE' | 'DOWNLOAD_ABORTED',
    message: string,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

export interface DownloadOptions {
  attempts: number;
  /** Wait before the second attempt; doubles after. */
  backoffMs: number;
  timeoutMs: number;
  maxBytes: number;
  /** Aborts every attempt and wait (engine shutdown). */
  signal: AbortSignal;
}

async function once(url: string, opts: DownloadOptions): Promise<Buffer> {
  return (await fetchCapped(url, opts)).bytes;
}

/**
 * One GET of `url` with a byte cap (checked against Content-Length, then while streaming) and a
 * timeout; the fronts use it too for the files they relay.
 * @throws {DownloadError} `DOWNLOAD_TOO_LARGE` past the cap, `DOWNLOAD_FAILED` otherwise.
 */
export async function fetchCapped(
  url: string,
  opts: { maxBytes: number; timeoutMs: number; signal?: AbortSignal },
): Promise<{ bytes: Buffer; contentType: string | null }> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: 'GET',
      signal,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  } catch (err) {
    throw new DownloadError('DOWNLOAD_FAILED', (err as Error).message);
  }
  if (res.statusCode !== 200) {
    res.body.resume();
    throw new DownloadError('DOWNLOAD_FAILED', `HTTP ${res.statusCode}`);
  }
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    res.body.destroy();
    throw new DownloadError('DOWNLOAD_TOO_LARGE', `larger than ${opts.maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > opts.maxBytes) {
        res.body.destroy();
        throw new DownloadError('DOWNLOAD_TOO_LARGE', `larger than ${opts.maxBytes} bytes`);
      }
      chunks.push(buf);
    }
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    throw new DownloadError('DOWNLOAD_FAILED', (err as Error).message);
  }
  const type = res.headers['content-type'];
  return { bytes: Buffer.concat(chunks, size), contentType: typeof type === 'string' ? type : null };
}

/**
 * The bytes at `url`, after at most `attempts` tries.
 * @throws {DownloadError} the last attempt's failure (a too-large file is not tried again).
 */
export async function downloadResult(url: string, opts: DownloadOptions): Promise<Buffer> {
  let wait = opts.backoffMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(url, opts);
    } catch (err) {
      const e = err as DownloadError;
      if (opts.signal.aborted) throw new DownloadError('DOWNLOAD_ABORTED', 'the service is stopping');
      if (e.code === 'DOWNLOAD_TOO_LARGE' || attempt >= opts.attempts) {
        throw new DownloadError(e.code, `${e.message} (after ${attempt} attempt${attempt === 1 ? '' : 's'})`);
      }
    }
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        opts.signal.removeEventListener('abort', onAbort);
        resolve();
      }, wait);
      opts.signal.addEventListener('abort', onAbort, { once: true });
    });
    wait *= 2;
  }
}
