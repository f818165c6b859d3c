/**
 * `GET /image/file/<taskId>/<token>/<name>` (SPEC §6.7.3): a task's stored files, no secret, not
 * under `settings.apiPrefix`. The URL is a capability: a wrong token is just a file that does not
 * exist (404). Files never change, so they are cached for a year; `Range` serves videos.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { ImageReader } from '../images/types.ts';

export const IMAGE_FILE_PREFIX = '/image/file/';

const IMMUTABLE = 'public, max-age=31536000, immutable';

function notFound(res: ServerResponse, headOnly: boolean): void {
  const text = JSON.stringify({ code: 404, msg: 'no such file', data: null });
  res.writeHead(404, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(headOnly ? undefined : text);
}

/** A single `bytes=` range of a `size`-byte file; null: none asked; 'bad': not satisfiable. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges (or another unit) are answered with the whole file, which HTTP allows.
  if (!m) return header.includes(',') || !header.startsWith('bytes=') ? null : 'bad';
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return 'bad';
  let start: number;
  let end: number;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'bad';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || end < start) return 'bad';
  return { start, end };
}

/** Serves one request under {@link IMAGE_FILE_PREFIX}. */
export async function serveImageFile(
  reader: ImageReader | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const method = req.method ?? 'GET';
  const headOnly = method === 'HEAD';
  if (method !== 'GET' && !headOnly) {
    const text = JSON.stringify({ code: 405, msg: `${method} is not allowed on ${path}`, data: null });
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json; charset=utf-8' });
    res.end(text);
    return;
  }
  const parts = path.slice(IMAGE_FILE_PREFIX.length).split('/');
  const [taskId = '', token = '', name = ''] = parts;
  const file = reader && parts.length === 3 ? await reader.stat(taskId, token, name) : undefined;
  if (!reader || !file) {
    notFound(res, headOnly);
    return;
  }
  const common = {
    'content-type': file.contentType,
    etag: file.etag,
    'cache-control': IMMUTABLE,
    'accept-ranges': 'bytes',
  };
  const match = req.headers['if-none-match'];
  if (match?.split(',').some((e) => e.trim() === file.etag || e.trim() === '*')) {
    res.writeHead(304, common).end();
    return;
  }
  const ifRange = req.headers['if-range'];
  const range = ifRange && ifRange !== file.etag ? null : parseRange(req.headers.range, file.size);
  if (range === 'bad') {
    res.writeHead(416, { ...common, 'content-range': `bytes */${file.size}`, 'content-length': '0' }).end();
    return;
  }
  const length = range ? range.end - range.start + 1 : file.size;
  res.writeHead(range ? 206 : 200, {
    ...common,
    'content-length': String(length),
    ...(range ? { 'content-range': `bytes ${range.start}-${range.end}/${file.size}` } : {}),
  });
  if (headOnly || length === 0) {
    res.end();
    return;
  }
  const body = await reader.read(taskId, token, name, range ?? undefined);
  await pipeline(body, res);
}
