/**
 * Reading a JSON request body within a route's bounds: refused by its declared length before a
 * byte is read, cut (with the JSON 413, not a reset) when a chunked body runs past it, scanned
 * for depth and field sizes before it is parsed, and parsed off the hot path of other requests.
 */
import type { IncomingMessage } from 'node:http';
import { DATA_MAX_BYTES, DATA_MAX_DEPTH } from '../engine/data-limits.ts';
import { ClientAbortedError, HttpError, quoted } from './errors.ts';
import { scanJson } from './json-scan.ts';
import type { BodyBounds } from './limits.ts';

/**
 * After a body ran past its limit, how much more is read and dropped (and for how long) so the
 * 413 reaches a client still sending; closing at once would make its kernel answer with a reset.
 */
const DRAIN_BYTES = 64 * 1024 * 1024;
const DRAIN_MS = 5000;

function size(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}

function tooLarge(limit: number, path: string): HttpError {
  return new HttpError(413, `request body is larger than ${size(limit)}, the most ${path} accepts`, {
    connection: 'close',
  });
}

/** The raw body, at most `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    // Too much to wait for: answer now (the client may see a reset instead).
    if (declared > limit + DRAIN_BYTES) {
      reject(tooLarge(limit, path));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let over = declared > limit;
    let timer: NodeJS.Timeout | undefined = over ? setTimeout(() => refuse(), DRAIN_MS) : undefined;
    const refuse = () => {
      if (timer) clearTimeout(timer);
      req.removeListener('data', onData);
      reject(tooLarge(limit, path));
    };
    const onData = (c: Buffer) => {
      received += c.length;
      if (over) {
        if (received > limit + DRAIN_BYTES) refuse();
        return;
      }
      if (received > limit) {
        over = true;
        chunks.length = 0;
        timer = setTimeout(refuse, DRAIN_MS);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => (over ? refuse() : resolve(Buffer.concat(chunks))));
    req.on('aborted', () => reject(new ClientAbortedError()));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ECONNRESET' || err.code === 'ECONNABORTED' ? new ClientAbortedError() : err),
    );
  });
}

const yieldToOthers = () => new Promise<void>((r) => setImmediate(r));

/** Bodies above this are decoded and parsed in steps, with other requests served in between. */
const LARGE = 1024 * 1024;

/**
 * The parsed JSON body of `req` ({} when empty). 415 for another content type, 413 past
 * `bounds.maxBytes`, 400 naming the field when a field is too large or too deep.
 */
export async function jsonBody(req: IncomingMessage, bounds: BodyBounds, path: string): Promise<unknown> {
  const type = String(req.headers['content-type'] ?? '');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (type && declared !== 0 && !/^application\/(.+\+)?json\b/i.test(type))
    throw new HttpError(415, 'Content-Type must be application/json');
  const raw = await readBody(req, bounds.maxBytes, path);
  if (raw.length === 0) return {};
  if (type && !/^application\/(.+\+)?json\b/i.test(type))
    throw new HttpError(415, 'Content-Type must be application/json');
  const problem = scanJson(raw, bounds);
  if (problem) {
    const field = problem.field === null ? 'body' : problem.field;
    const name = /^[A-Za-z][\w.-]{0,40}$/.test(field) ? field : quoted(field, 40);
    if (problem.kind === 'depth') {
      throw new HttpError(
        400,
        field === 'data'
          ? `data is nested deeper than ${DATA_MAX_DEPTH} levels`
          : `${name} is nested too deep`,
      );
    }
    throw new HttpError(
      400,
      field === 'data'
        ? `data is larger than ${DATA_MAX_BYTES / 1024} KiB as JSON`
        : `${name} is larger than ${size(bounds.fields[field] ?? bounds.otherField)}`,
    );
  }
  const large = raw.length > LARGE;
  if (large) await yieldToOthers();
  const text = raw.toString('utf8');
  if (large) await yieldToOthers();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'invalid JSON');
  }
}
