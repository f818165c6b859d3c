/**
 * Every route of the HTTP server, for the property-based hostile-input test
 * (test/http/hostile-property.test.ts). A new front adds its routes here: path, method, where its
 * input goes, the field names it reads, and (if its envelope is not the seed's) how to tell a
 * well-formed answer.
 */

export interface RouteCase {
  method: 'GET' | 'POST';
  path: string;
  /** Where generated values are put: the JSON body or the query string. */
  input: 'body' | 'query';
  /** Field names the route reads (generated values go under these, and under random names). */
  fields: string[];
  /** A well-formed answer for this route; default: the seed envelope of SPEC §5.1. */
  wellFormed?: (status: number, json: unknown) => boolean;
}

/** SPEC §5.1: `code` is 0 on success, else the HTTP status; `msg` is a sentence. */
export function seedEnvelope(status: number, json: unknown): boolean {
  if (!json || typeof json !== 'object') return false;
  const { code, msg } = json as { code?: unknown; msg?: unknown };
  return code === (status === 200 ? 0 : status) && typeof msg === 'string' && msg.length > 0;
}

const common = ['notifyUrl', 'data'];

export const ROUTES: RouteCase[] = [
  { method: 'POST', path: '/image/imagine', input: 'body', fields: ['prompt', 'images', ...common] },
  {
    method: 'POST',
    path: '/image/action',
    input: 'body',
    fields: ['taskId', 'customId', 'prompt', 'mask', ...common],
  },
  { method: 'POST', path: '/image/describe', input: 'body', fields: ['images', ...common] },
  { method: 'POST', path: '/image/blend', input: 'body', fields: ['images', 'dimensions', ...common] },
  { method: 'POST', path: '/image/shorten', input: 'body', fields: ['prompt', 'bot', ...common] },
  { method: 'GET', path: '/task/seed', input: 'query', fields: ['taskId'] },
  { method: 'GET', path: '/task/fetch', input: 'query', fields: ['taskId'] },
  { method: 'POST', path: '/task/fetch', input: 'body', fields: ['taskId'] },
  { method: 'POST', path: '/task/cancel', input: 'body', fields: ['taskId'] },
  { method: 'GET', path: '/task/list', input: 'query', fields: ['status', 'limit'] },
  {
    method: 'GET',
    path: '/health',
    input: 'query',
    fields: [],
    // A query string too long for the headers is a 431 in the seed envelope.
    wellFormed: (status, json) =>
      status === 200 ? (json as { status?: unknown })?.status === 'ok' : seedEnvelope(status, json),
  },
];

/**
 * SPEC §12.1: the `/mj` API's envelope — `{code, description}` with HTTP 200 on a submit answer,
 * 401/404/405/413/415 with their own code, and reads that answer a task, a bare array or 404.
 */
export function compatEnvelope(status: number, json: unknown): boolean {
  // Headers too large are refused by the server before any route is known (seed envelope).
  if (status === 431) return seedEnvelope(status, json);
  if (Array.isArray(json)) return status === 200;
  if (!json || typeof json !== 'object') return false;
  const { code, description, id } = json as { code?: unknown; description?: unknown; id?: unknown };
  if (status === 200 && typeof id === 'string') return true;
  return Number.isInteger(code) && typeof description === 'string' && description.length > 0;
}

const hook = ['notifyHook', 'state'];
const mj = (method: 'GET' | 'POST', path: string, fields: string[]): RouteCase => ({
  method,
  path,
  input: method === 'GET' ? 'query' : 'body',
  fields,
  wellFormed: compatEnvelope,
});

ROUTES.push(
  mj('POST', '/mj/submit/imagine', ['prompt', 'base64Array', 'botType', ...hook]),
  mj('POST', '/mj-relax/mj/submit/imagine', ['prompt', 'base64Array', ...hook]),
  mj('POST', '/mj/submit/action', ['taskId', 'customId', ...hook]),
  mj('POST', '/mj/submit/modal', ['taskId', 'prompt', 'maskBase64']),
  mj('POST', '/mj/submit/describe', ['base64', 'link', ...hook]),
  mj('POST', '/mj/submit/blend', ['base64Array', 'dimensions', ...hook]),
  mj('POST', '/mj/submit/shorten', ['prompt', 'botType', ...hook]),
  mj('POST', '/mj/submit/change', ['taskId', 'action', 'index', ...hook]),
  mj('POST', '/mj/submit/simple-change', ['content', ...hook]),
  mj('POST', '/mj/submit/video', [
    'prompt',
    'image',
    'base64',
    'motion',
    'loop',
    'batchSize',
    'action',
    'taskId',
    'index',
  ]),
  mj('POST', '/mj/submit/upload-discord-images', ['base64Array']),
  mj('POST', '/mj/submit/edits', ['prompt', 'image']),
  mj('POST', '/mj/task/list-by-condition', ['ids']),
  mj('GET', '/mj/task/list', ['limit']),
  mj('GET', '/mj/task/1795592602140274/fetch', []),
  mj('GET', '/mj/task/1795592602140274/image-seed', []),
  mj('POST', '/mj/task/1795592602140274/cancel', []),
  mj('GET', '/mj/account/list', []),
);
