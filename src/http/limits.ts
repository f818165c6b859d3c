/**
 * What each route's JSON body may legitimately carry, in bytes as sent: at most five images as
 * data URIs at `settings.maxImageBytes` each, a prompt, a `data` echo and a few ids. Everything
 * past that is refused before it is parsed (SPEC §10).
 */
import { DATA_MAX_BYTES, DATA_MAX_DEPTH } from '../engine/data-limits.ts';
import type { FieldBounds } from './json-scan.ts';

/** SPEC §10: no body is ever larger, whatever the images allow. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** The bounds of one route: the whole body and each top-level field (see json-scan.ts). */
export interface BodyBounds extends FieldBounds {
  maxBytes: number;
}

/**
 * JSON may spell any character as a 6-byte `\uXXXX` escape: raw bounds for text fields allow
 * that, the exact limits are checked after parsing.
 */
const ESCAPED = 6;

/** Raw bytes of one image as a data URI: base64 (4/3), line breaks, the `data:` header. */
export function imageChars(maxImageBytes: number): number {
  return Math.ceil((Math.ceil(maxImageBytes / 3) * 4 * 105) / 100) + 256;
}

function bounds(maxImages: number, maxImageBytes: number): BodyBounds {
  const image = imageChars(maxImageBytes);
  const text: Record<string, number> = {
    prompt: 8192 * ESCAPED + 2,
    notifyUrl: 4096 * ESCAPED + 2,
    data: DATA_MAX_BYTES * ESCAPED,
    taskId: 256,
    customId: 200 * ESCAPED + 2,
    dimensions: 64,
  };
  const allText = Object.values(text).reduce((a, b) => a + b, 0);
  const images = maxImages * (image + 16) + 16;
  return {
    // The object around `data` adds one level.
    maxDepth: DATA_MAX_DEPTH + 1,
    fields: { ...text, images, mask: image },
    otherField: 64 * 1024,
    maxBytes: Math.min(MAX_BODY_BYTES, allText + images + 64 * 1024),
  };
}

/** Body bounds per route path (after the prefix), for the seed API's routes. */
export function seedBodyBounds(maxImageBytes: number): Record<string, BodyBounds> {
  return {
    '/image/imagine': bounds(5, maxImageBytes),
    '/image/blend': bounds(5, maxImageBytes),
    '/image/describe': bounds(1, maxImageBytes),
    // An action's one image is its mask.
    '/image/action': bounds(1, maxImageBytes),
    '/image/shorten': bounds(0, maxImageBytes),
    '/task/fetch': bounds(0, maxImageBytes),
    '/task/cancel': bounds(0, maxImageBytes),
  };
}

/**
 * The bounds of the `/mj` API's bodies (SPEC §12.2), one set for all its routes: its field names,
 * at most five images in all (`base64Array`, `base64`, `image`/`endImage`, `maskBase64`), up to
 * 1000 ids in a list, `state` as a short string.
 */
export function compatBodyBounds(maxImageBytes: number): BodyBounds {
  const image = imageChars(maxImageBytes);
  const text: Record<string, number> = {
    prompt: 8192 * ESCAPED + 2,
    notifyHook: 4096 * ESCAPED + 2,
    state: 4096 * ESCAPED + 2,
    link: 4096 * ESCAPED + 2,
    taskId: 256,
    customId: 200 * ESCAPED + 2,
    content: 256 * ESCAPED + 2,
    ids: 1000 * 64,
  };
  const images = 5 * (image + 16) + 16;
  const allText = Object.values(text).reduce((a, b) => a + b, 0);
  return {
    // `accountFilter: {"modes": [...]}` is the deepest thing clients send.
    maxDepth: 4,
    fields: { ...text, base64Array: images, base64: image, image, endImage: image, maskBase64: image },
    otherField: 64 * 1024,
    maxBytes: Math.min(MAX_BODY_BYTES, allText + images + 64 * 1024),
  };
}
