/**
 * The request target as a URL. node:http passes absolute-form targets
 * (`GET http://host/task/list`, what proxies send) through as they came; the host part is not
 * ours to judge, so only the path and query are kept.
 */
import { HttpError } from './errors.ts';

const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/** Parses `req.url`; anything that is not a path answers 400 instead of throwing. */
export function requestTarget(raw: string | undefined): URL {
  let target = raw ?? '/';
  if (ABSOLUTE.test(target)) target = target.replace(ABSOLUTE, '') || '/';
  if (target === '*') throw new HttpError(400, 'the request target * is only for OPTIONS on a proxy');
  if (!target.startsWith('/')) throw new HttpError(400, 'the request target must be a path');
  try {
    return new URL(target, 'http://localhost');
  } catch {
    throw new HttpError(400, 'the request target is not a valid path');
  }
}
