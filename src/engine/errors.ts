/**
 * Errors the engine hands to its fronts: a stable `code`, the HTTP status a front should answer
 * with, and a one-sentence message a user can read.
 */
export type EngineErrorCode =
  | 'INVALID_INPUT'
  | 'BANNED_WORD'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'QUEUE_FULL'
  | 'NO_ACCOUNT'
  | 'STORE_FAILED'
  | 'USER_LIMIT'
  | 'UPSTREAM_FAILED';

/** The HTTP status of each code. */
export const ERROR_STATUS: Readonly<Record<EngineErrorCode, number>> = {
  INVALID_INPUT: 400,
  BANNED_WORD: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  QUEUE_FULL: 429,
  USER_LIMIT: 429,
  NO_ACCOUNT: 503,
  STORE_FAILED: 503,
  UPSTREAM_FAILED: 502,
};

export class EngineError extends Error {
  readonly status: number;
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** Extra keys a front may add to its answer, e.g. `{"ban-words": "nude"}`. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'EngineError';
    this.status = ERROR_STATUS[code];
  }
}
