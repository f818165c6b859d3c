/**
 * The console's action bodies: the same rules as the HTTP API (prompt length, image references,
 * counts), checked here because a front room does not import another front.
 */
import type { ActionInput, BlendDimensions, BlendInput, DescribeInput, ImagineInput } from '../engine/api.ts';
import { TASK_STATUSES, type TaskStatus } from '../engine/task.ts';
import { ACTIONS } from '../midjourney/actions.ts';

/** A body or query that does not have the expected shape; the message names the field. */
export class ConsoleInputError extends Error {
  readonly code = 'CONSOLE_INPUT';
}

const fail = (msg: string): never => {
  throw new ConsoleInputError(msg);
};

const HTTP_URL = /^https?:\/\/[^\s/?#]+\S*$/i;
const DATA_URI = /^data:image\/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+$/;

function object(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) fail('body must be a JSON object');
  return body as Record<string, unknown>;
}

function prompt(b: Record<string, unknown>, required: boolean): string | undefined {
  const p = b.prompt;
  if (p === undefined || p === null) return required ? fail('prompt is required') : undefined;
  if (typeof p !== 'string') return fail('prompt must be a string');
  const clean = p.replace(/\s+/g, ' ').trim();
  if (!clean) return required ? fail('prompt is required') : undefined;
  if (clean.length > 8192) fail('prompt is longer than 8192 characters');
  return clean;
}

function images(b: Record<string, unknown>, min: number, max: number): string[] {
  const v = b.images;
  if (v === undefined || v === null) return min > 0 ? fail('images is required') : [];
  if (!Array.isArray(v)) return fail('images must be an array');
  if (v.length < min || v.length > max)
    fail(min === max ? `images must have exactly ${min} item` : `images must have ${min} to ${max} items`);
  v.forEach((x, i) => {
    if (typeof x !== 'string' || x.length > 100 * 1024 * 1024 || !(HTTP_URL.test(x) || DATA_URI.test(x)))
      fail(`images[${i}] is not a valid http(s) URL or data URI`);
  });
  return v as string[];
}

function taskId(b: Record<string, unknown>): string {
  const v = b.taskId;
  if (v === undefined || v === null || v === '') fail('taskId is required');
  if (typeof v !== 'string' || !/^\d{1,30}$/.test(v)) fail('taskId must be a task id (digits)');
  return v as string;
}

const ORIGIN = { origin: { kind: 'http' } } as const;

export function imagineInput(body: unknown): ImagineInput {
  const b = object(body);
  return { prompt: prompt(b, true) as string, images: images(b, 0, 5), ...ORIGIN };
}

export function describeInput(body: unknown): DescribeInput {
  const [image] = images(object(body), 1, 1);
  return { image: image as string, ...ORIGIN };
}

const DIMENSIONS: readonly BlendDimensions[] = ['PORTRAIT', 'SQUARE', 'LANDSCAPE'];

export function blendInput(body: unknown): BlendInput {
  const b = object(body);
  const out: BlendInput = { images: images(b, 2, 5), ...ORIGIN };
  if (b.dimensions !== undefined && b.dimensions !== null && b.dimensions !== '') {
    if (!DIMENSIONS.includes(b.dimensions as BlendDimensions))
      fail(`dimensions must be one of ${DIMENSIONS.join(', ')}`);
    out.dimensions = b.dimensions as BlendDimensions;
  }
  return out;
}

export function actionInput(body: unknown): ActionInput {
  const b = object(body);
  const id = taskId(b);
  const customId = b.customId;
  if (typeof customId !== 'string' || !customId || customId.length > 512) fail('customId is required');
  const p = prompt(b, false);
  return { taskId: id, customId: customId as string, ...(p ? { prompt: p } : {}), ...ORIGIN };
}

export function taskIdInput(body: unknown): string {
  return taskId(object(body));
}

export interface GalleryQuery {
  status?: TaskStatus;
  action?: string;
  text?: string;
  limit: number;
}

/** `?status=&action=&q=&limit=` of the gallery. */
export function galleryQuery(q: URLSearchParams): GalleryQuery {
  const out: GalleryQuery = { limit: 60 };
  const status = q.get('status');
  if (status) {
    if (!(TASK_STATUSES as readonly string[]).includes(status))
      fail(`status must be one of ${TASK_STATUSES.join(', ')}`);
    out.status = status as TaskStatus;
  }
  const action = q.get('action');
  if (action) {
    if (!(ACTIONS as readonly string[]).includes(action)) fail(`action must be one of ${ACTIONS.join(', ')}`);
    out.action = action;
  }
  const text = q.get('q')?.trim();
  if (text) out.text = text.slice(0, 200).toLowerCase();
  const limit = q.get('limit');
  if (limit) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 200) fail('limit must be an integer from 1 to 200');
    out.limit = n;
  }
  return out;
}
