/**
 * The answer envelope of the `/mj` API (SPEC §12.1): `{code, description, result, properties}`
 * with HTTP 200 on every submit answer (new-api bills on HTTP 200 and reads `code`), and how the
 * engine's refusals become those codes.
 */
import { EngineError } from '../engine/errors.ts';

/** The codes of §12.1. */
export const CODE = {
  SUBMITTED: 1,
  MODAL: 21,
  QUEUED: 22,
  QUEUE_FULL: 23,
  BANNED: 24,
  NOT_FOUND: 3,
  INVALID: 4,
  FAILED: 9,
} as const;

export interface Envelope {
  code: number;
  description: string;
  result: string | string[] | null;
  properties: Record<string, unknown>;
}

/** An answer of a compat route: HTTP status and JSON body. */
export interface CompatAnswer {
  status: number;
  body: unknown;
  /** The body already as JSON, text or UTF-8 bytes (then `body` is not used). */
  json?: string | Buffer;
  headers?: Record<string, string>;
}

export function envelope(
  code: number,
  description: string,
  result: Envelope['result'] = null,
  properties: Record<string, unknown> = {},
  status = 200,
): CompatAnswer {
  return { status, body: { code, description, result, properties } satisfies Envelope };
}

/** A refusal a compat handler throws; the router answers it as an envelope. */
export class CompatError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly properties: Record<string, unknown> = {},
    /** HTTP status: 200 for submit answers, 404 for an unknown task on a read. */
    readonly status = 200,
  ) {
    super(message);
    this.name = 'CompatError';
  }
}

/** The envelope of an engine refusal (`prompt` is the submitted prompt, for code 24). */
export function engineRefusal(err: EngineError, prompt?: string): CompatError {
  switch (err.code) {
    case 'BANNED_WORD':
      return new CompatError(CODE.BANNED, err.message, {
        bannedWord: err.details['ban-words'],
        promptEn: prompt ?? '',
      });
    case 'QUEUE_FULL':
    case 'USER_LIMIT':
      return new CompatError(CODE.QUEUE_FULL, err.message);
    case 'NOT_FOUND':
    case 'NO_ACCOUNT':
      return new CompatError(CODE.NOT_FOUND, err.message);
    case 'INVALID_INPUT':
    case 'CONFLICT':
      return new CompatError(CODE.INVALID, err.message);
    default:
      return new CompatError(CODE.FAILED, err.message);
  }
}

/** Runs an engine call; its refusals become {@link CompatError}s. */
export async function viaEngine<T>(call: () => Promise<T>, prompt?: string): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof EngineError) throw engineRefusal(err, prompt);
    throw err;
  }
}
