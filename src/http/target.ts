/**
 * The request target as a path and a query. node:http passes absolute-form targets
 * (`GET http://host/task/list`, what proxies send) through as they came; the host part is not
 * ours to judge, so only the path and query are kept.
 */
import { HttpError } from './errors.ts';

/** What the routes read of a request target. */
export interface Target {
  readonly pathname: string;
  readonly searchParams: URLSearchParams;
}

const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;
/**
 * A target that URL parsing would hand back as it is: segments of unreserved characters, none
 * empty and none a dot segment, and a query of characters that need no escaping. Every poll
 * (`/task/fetch?taskId=…`) is one, and skips building a URL.
 */
const PLAIN =
  /^(\/(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*\/?)?)(?:\?([A-Za-z0-9._~%&=+,-]*))?$/;

class PlainTarget implements Target {
  private params: URLSearchParams | undefined;
  constructor(
    readonly pathname: string,
    private readonly query: string,
  ) {}
  get searchParams(): URLSearchParams {
    this.params ??= new URLSearchParams(this.query);
    return this.params;
  }
}

/** Parses `req.url`; anything that is not a path answers 400 instead of throwing. */
export function requestTarget(raw: string | undefined): Target {
  let target = raw ?? '/';
  const plain = PLAIN.exec(target);
  if (plain) return new PlainTarget(plain[1] as string, plain[2] ?? '');
  if (ABSOLUTE.test(target)) target = target.replace(ABSOLUTE, '') || '/';
  if (target === '*') throw new HttpError(400, 'the request target * is only for OPTIONS on a proxy');
  if (!target.startsWith('/')) throw new HttpError(400, 'the request target must be a path');
  try {
    return new URL(target, 'http://localhost');
  } catch {
    throw new HttpError(400, 'the request target is not a valid path');
  }
}
