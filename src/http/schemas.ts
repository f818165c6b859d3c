/**
 * Request bodies of the API, validated with zod and answered with messages of our own that name
 * the field (`prompt is required`, `images[1] is not a valid http(s) URL or data URI`).
 */
import { z } from 'zod';
import type {
  ActionInput,
  BlendInput,
  BotName,
  DescribeInput,
  ImagineInput,
  ShortenInput,
} from '../engine/api.ts';
import { dataProblem } from '../engine/data-limits.ts';

/** A body that does not have the documented shape; the message names the field. */
export class ValidationError extends Error {
  readonly code = 'VALIDATION';
}

const fail = (msg: string): never => {
  throw new ValidationError(msg);
};

function object(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) fail('body must be a JSON object');
  return body as Record<string, unknown>;
}

const httpUrl = z
  .string()
  .max(4096)
  .regex(/^https?:\/\/[^\s/?#]+[^\s]*$/i);
const imageRef = z.union([httpUrl, z.string().regex(/^data:image\/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+$/)]);

function prompt(b: Record<string, unknown>, required: boolean): string | undefined {
  const p = b.prompt;
  if (p === undefined || p === null) return required ? fail('prompt is required') : undefined;
  if (typeof p !== 'string') fail('prompt must be a string');
  const clean = (p as string).replace(/\s+/g, ' ').trim();
  if (!clean) return required ? fail('prompt is required') : undefined;
  if (clean.length > 8192) fail('prompt is longer than 8192 characters');
  return clean;
}

function images(b: Record<string, unknown>, min: number, max: number, exact?: string): string[] {
  const v = b.images;
  if (v === undefined || v === null) return min > 0 ? fail('images is required') : [];
  if (!Array.isArray(v)) return fail('images must be an array');
  if (v.length < min || v.length > max) {
    fail(
      exact ??
        (min === 0 ? `images must have at most ${max} items` : `images must have ${min} to ${max} items`),
    );
  }
  v.forEach((x, i) => {
    if (!imageRef.safeParse(x).success) fail(`images[${i}] is not a valid http(s) URL or data URI`);
  });
  return v as string[];
}

function common(b: Record<string, unknown>): { notifyUrl?: string; data?: unknown } {
  const out: { notifyUrl?: string; data?: unknown } = {};
  if (b.notifyUrl !== undefined && b.notifyUrl !== null && b.notifyUrl !== '') {
    if (!httpUrl.safeParse(b.notifyUrl).success) fail('notifyUrl is not a valid http(s) URL');
    out.notifyUrl = b.notifyUrl as string;
  }
  if (b.data !== undefined) {
    const problem = dataProblem(b.data);
    if (problem) fail(problem);
    out.data = b.data;
  }
  return out;
}

function id(b: Record<string, unknown>, key: string): string {
  const v = b[key];
  if (v === undefined || v === null || v === '') fail(`${key} is required`);
  if (typeof v !== 'string' || !/^\d{1,30}$/.test(v)) fail(`${key} must be a task id (digits)`);
  return v as string;
}

function bot(b: Record<string, unknown>): { bot?: BotName } {
  if (b.bot === undefined || b.bot === null) return {};
  if (b.bot !== 'midjourney' && b.bot !== 'niji') fail('bot must be "midjourney" or "niji"');
  return { bot: b.bot as BotName };
}

export function imagineBody(body: unknown): ImagineInput {
  const b = object(body);
  return { prompt: prompt(b, true) as string, images: images(b, 0, 5), ...bot(b), ...common(b) };
}

export function shortenBody(body: unknown): ShortenInput {
  const b = object(body);
  return { prompt: prompt(b, true) as string, ...bot(b), ...common(b) };
}

export function actionBody(body: unknown): ActionInput {
  const b = object(body);
  const taskId = id(b, 'taskId');
  const customId = b.customId;
  if (customId === undefined || customId === null || customId === '') fail('customId is required');
  if (typeof customId !== 'string' || customId.length > 200)
    fail('customId must be a string of at most 200 characters');
  const p = prompt(b, false);
  let mask: string | undefined;
  if (b.mask !== undefined && b.mask !== null) {
    if (typeof b.mask !== 'string' || !/^(data:image\/png;base64,)?[A-Za-z0-9+/=\s]+$/.test(b.mask))
      fail('mask must be a base64 PNG');
    mask = b.mask as string;
  }
  return {
    taskId,
    customId: customId as string,
    ...(p ? { prompt: p } : {}),
    ...(mask ? { mask } : {}),
    ...common(b),
  };
}

export function describeBody(body: unknown): DescribeInput {
  const b = object(body);
  const [image] = images(b, 1, 1, 'images must have exactly 1 item');
  return { image: image as string, ...common(b) };
}

const DIMENSIONS = ['PORTRAIT', 'SQUARE', 'LANDSCAPE'] as const;

export function blendBody(body: unknown): BlendInput {
  const b = object(body);
  const list = images(b, 2, 5);
  let dimensions: BlendInput['dimensions'];
  if (b.dimensions !== undefined && b.dimensions !== null) {
    if (typeof b.dimensions !== 'string' || !(DIMENSIONS as readonly string[]).includes(b.dimensions)) {
      fail('dimensions must be one of PORTRAIT, SQUARE, LANDSCAPE');
    }
    dimensions = b.dimensions as BlendInput['dimensions'];
  }
  return { images: list, ...(dimensions ? { dimensions } : {}), ...common(b) };
}

export function taskIdBody(body: unknown): { taskId: string } {
  return { taskId: id(object(body), 'taskId') };
}
