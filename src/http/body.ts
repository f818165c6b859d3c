/**
 * Reading a JSON request body within a route's bounds: refused by its declared length before a
 * byte is read, scanned for depth and field sizes while it arrives (a 60 MB `data` is refused
 * after its first few hundred KB, never held), cut with the JSON 413 (not a reset) when it runs
 * past the route's limit, and parsed in steps so other requests are served in between.
 */
import type { IncomingMessage } from 'node:http';
import { DATA_MAX_BYTES, DATA_MAX_DEPTH } from '../engine/data-limits.ts';
import { ClientAbortedError, HttpError, quoted } from './errors.ts';
import { JsonScanner, type ScanProblem } from './json-scan.ts';
import type { BodyBounds } from './limits.ts';

/**
 * After a body is refused, how much more is read and dropped (and for how long) so the answer
 * reaches a client still sending; closing at once would make its kernel answer with a reset.
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

/** The 400 for a body the scanner refused, naming the field. */
function scanError(problem: ScanProblem, bounds: BodyBounds): HttpError {
  const field = problem.field === null ? 'body' : problem.field;
  const name = /^[A-Za-z][\w.-]{0,40}$/.test(field) ? field : quoted(field, 40);
  const headers = { connection: 'close' };
  if (problem.kind === 'depth') {
    return new HttpError(
      400,
      field === 'data' ? `data is nested deeper than ${DATA_MAX_DEPTH} levels` : `${name} is nested too deep`,
      headers,
    );
  }
  return new HttpError(
    400,
    field === 'data'
      ? `data is larger than ${DATA_MAX_BYTES / 1024} KiB as JSON`
      : `${name} is larger than ${size(bounds.fields[field] ?? bounds.otherField)}`,
    headers,
  );
}

/**
 * The raw body, at most `limit` bytes. `check` sees each chunk as it comes; an error it returns
 * ends the reading (the rest is drained) and becomes the answer.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  path: string,
  check?: (chunk: Buffer) => HttpError | null,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    // Too much to wait for: answer now (the client may see a reset instead).
    if (declared > limit + DRAIN_BYTES) {
      reject(tooLarge(limit, path));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let refusal: HttpError | null = null;
    let timer: NodeJS.Timeout | undefined;
    const refuse = () => {
      if (timer) clearTimeout(timer);
      req.removeListener('data', onData);
      reject(refusal ?? tooLarge(limit, path));
    };
    const startRefusing = (err: HttpError) => {
      refusal = err;
      chunks.length = 0;
      timer = setTimeout(refuse, DRAIN_MS);
    };
    const onData = (c: Buffer) => {
      received += c.length;
      if (refusal) {
        if (received > limit + DRAIN_BYTES) refuse();
        return;
      }
      if (received > limit) {
        startRefusing(tooLarge(limit, path));
        return;
      }
      const err = check?.(c) ?? null;
      if (err) {
        startRefusing(err);
        return;
      }
      chunks.push(c);
    };
    if (declared > limit) startRefusing(tooLarge(limit, path));
    req.on('data', onData);
    req.on('end', () => (refusal ? refuse() : resolve(Buffer.concat(chunks))));
    req.on('aborted', () => reject(new ClientAbortedError()));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ECONNRESET' || err.code === 'ECONNABORTED' ? new ClientAbortedError() : err),
    );
  });
}

const yieldToOthers = () => new Promise<void>((r) => setImmediate(r));

/** Bodies above this are decoded and parsed in steps, with other requests served in between. */
const LARGE = 1024 * 1024;

const JSON_TYPE = /^application\/(.+\+)?json\b/i;

/**
 * The parsed JSON body of `req` ({} when empty). 415 for another content type, 413 past
 * `bounds.maxBytes`, 400 naming the field when a field is too large or too deep.
 */
export async function jsonBody(req: IncomingMessage, bounds: BodyBounds, path: string): Promise<unknown> {
  const type = String(req.headers['content-type'] ?? '');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (type && declared !== 0 && !JSON_TYPE.test(type))
    throw new HttpError(415, 'Content-Type must be application/json');
  const scanner = new JsonScanner(bounds);
  // A body of another type is refused whole (415), not judged as JSON on the way.
  const check =
    type && !JSON_TYPE.test(type)
      ? undefined
      : (chunk: Buffer) => {
          const problem = scanner.feed(chunk);
          return problem ? scanError(problem, bounds) : null;
        };
  const raw = await readBody(req, bounds.maxBytes, path, check);
  if (raw.length === 0) return {};
  if (type && !JSON_TYPE.test(type)) throw new HttpError(415, 'Content-Type must be application/json');
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
