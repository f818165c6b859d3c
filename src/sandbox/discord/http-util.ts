/**
 * HTTP plumbing of the simulated Discord: Discord-shaped error answers, bounded body reading, and
 * the little multipart parsing that `payload_json` + `files[n]` requests need.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An answer other than success, thrown from a route and written by the server loop. */
export class DiscordAnswer extends Error {
  readonly code = 'FAKE_DISCORD_ANSWER';
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message ?? status));
    this.name = 'DiscordAnswer';
  }
}

/** Discord's body for a request that failed form validation: `errors` mirrors the request's shape. */
export function invalidForm(path: string[], code: string, message: string): DiscordAnswer {
  let errors: Record<string, unknown> = { _errors: [{ code, message }] };
  for (const key of [...path].reverse()) errors = { [key]: errors };
  return new DiscordAnswer(400, { code: 50035, errors, message: 'Invalid Form Body' });
}

export const ANSWERS = {
  unauthorized: () => new DiscordAnswer(401, { message: '401: Unauthorized', code: 0 }),
  notFound: () => new DiscordAnswer(404, { message: '404: Not Found', code: 0 }),
  methodNotAllowed: () => new DiscordAnswer(405, { message: '405: Method Not Allowed', code: 0 }),
  invalidJson: () =>
    new DiscordAnswer(400, { message: 'The request body contains invalid JSON.', code: 50109 }),
  tooLarge: () =>
    new DiscordAnswer(413, {
      message: 'Request entity too large. Try sending something smaller in size',
      code: 40005,
    }),
  missingAccess: () => new DiscordAnswer(403, { message: 'Missing Access', code: 50001 }),
  unknownChannel: () => new DiscordAnswer(404, { message: 'Unknown Channel', code: 10003 }),
  unknownGuild: () => new DiscordAnswer(404, { message: 'Unknown Guild', code: 10004 }),
  unknownMessage: () => new DiscordAnswer(404, { message: 'Unknown Message', code: 10008 }),
  unknownInteraction: () => new DiscordAnswer(404, { message: 'Unknown interaction', code: 10062 }),
  emptyMessage: () => new DiscordAnswer(400, { message: 'Cannot send an empty message', code: 50006 }),
  serverError: () => new DiscordAnswer(500, { message: '500: Internal Server Error', code: 0 }),
  required: (path: string[]) => invalidForm(path, 'BASE_TYPE_REQUIRED', 'This field is required'),
};

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** Reads the whole body; past `limit` bytes the rest is drained and dropped, and `tooLarge` is set. */
export function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
      } else if (!tooLarge) chunks.push(c);
    });
    req.on('end', () => resolve({ body: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), tooLarge }));
    req.on('error', () => resolve({ body: Buffer.alloc(0), tooLarge }));
  });
}

export interface FormPart {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  data: Buffer;
}

/** Splits a `multipart/form-data` body; undefined when it is not well-formed. */
export function parseMultipart(body: Buffer, contentType: string): FormPart[] | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = boundary?.[1] ?? boundary?.[2];
  if (!b) return undefined;
  const delimiter = Buffer.from(`--${b}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) return undefined;
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    const next = body.indexOf(delimiter, pos);
    if (headerEnd < 0 || next < 0 || headerEnd > next) return undefined;
    const head = body.subarray(pos, headerEnd).toString('utf8');
    let data = body.subarray(headerEnd + 4, next);
    if (data.subarray(-2).toString() === '\r\n') data = data.subarray(0, -2);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name !== undefined) {
      parts.push({
        name,
        filename: /filename="([^"]*)"/i.exec(head)?.[1],
        contentType: /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim(),
        data,
      });
    }
    pos = next;
  }
  return parts;
}

/**
 * The JSON object of a REST body: plain JSON, or `payload_json` of a multipart body (whose
 * `files[n]` parts are returned too).
 * @throws {DiscordAnswer} 50109 when there is no JSON object to read.
 */
export function readPayload(
  body: Buffer,
  contentType: string | undefined,
): { json: Record<string, unknown>; files: FormPart[] } {
  let text: string;
  let files: FormPart[] = [];
  if (contentType?.toLowerCase().startsWith('multipart/form-data')) {
    const parts = parseMultipart(body, contentType);
    const payload = parts?.find((p) => p.name === 'payload_json');
    if (!parts || !payload) throw ANSWERS.invalidJson();
    text = payload.data.toString('utf8');
    files = parts.filter((p) => /^files\[\d+\]$/.test(p.name));
  } else {
    text = body.toString('utf8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw ANSWERS.invalidJson();
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw ANSWERS.invalidJson();
  return { json: value as Record<string, unknown>, files };
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
}

export function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
