/**
 * The names and keys of stored files: `<taskId>/<token>/<name>` (SPEC §6.7.1). Every part is
 * checked against a strict pattern before it reaches a disk path or an S3 key, so a request can
 * never name anything outside a task's own prefix.
 */

const TASK_ID = /^\d{1,30}$/;
const TOKEN = /^[A-Za-z0-9_-]{16,64}$/;
const NAME = /^(?:image|[1-4])\.(?:png|jpg|webp|gif)$|^thumb(?:-[1-4])?\.webp$|^video\.mp4$/;

const TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  mp4: 'video/mp4',
};

/** True when the three parts can name a stored file. */
export function validParts(taskId: string, token: string, name: string): boolean {
  return TASK_ID.test(taskId) && TOKEN.test(token) && NAME.test(name);
}

export function validTaskId(taskId: string): boolean {
  return TASK_ID.test(taskId);
}

/** `Content-Type` of a stored name (by its extension). */
export function contentTypeOf(name: string): string {
  return TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}

/** The key of a file relative to the store's root. */
export function keyOf(taskId: string, token: string, name: string): string {
  return `${taskId}/${token}/${name}`;
}
