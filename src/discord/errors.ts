/**
 * Typed errors of the Discord REST and upload clients. Each has a stable `kind`; HTTP errors carry
 * Discord's own numeric `code`, message and nested form-error codes. No message ever holds a token.
 */

/** Discord answered with an error status (after retries, for 429 and 5xx). */
export class DiscordHttpError extends Error {
  readonly kind = 'DISCORD_HTTP';
  /** Discord's JSON error code (50035, 10008, …); 0 when the body had none. */
  readonly code: number;
  /** Every nested `_errors[].code`, e.g. `INTERACTION_APPLICATION_COMMAND_INVALID_VERSION`. */
  readonly errorCodes: string[];
  /** Discord's top-level `message`, as sent. */
  readonly discordMessage: string;
  readonly method: string | undefined;
  /** The path with ids replaced by `:id`. */
  readonly route: string | undefined;
  /** For 429: how long Discord asked us to wait. */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly status: number,
    init: {
      code?: number;
      message: string;
      errorCodes?: string[];
      /** Nested `_errors[].message` texts, appended to the message so a person sees the actual reason. */
      details?: string[];
      method?: string;
      route?: string;
      /** For 429: how long Discord asked us to wait. */
      retryAfterMs?: number;
    },
  ) {
    const details = [...new Set(init.details ?? [])];
    super(details.length > 0 ? `${init.message}: ${details.join('; ')}` : init.message);
    this.name = 'DiscordHttpError';
    this.code = init.code ?? 0;
    this.errorCodes = init.errorCodes ?? [];
    this.discordMessage = init.message;
    this.method = init.method;
    this.route = init.route;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** Same as `code`, for readers that expect the name. */
  get discordCode(): number {
    return this.code;
  }

  /** The command id/version we sent is not current: refresh the command index and retry once. */
  isOutdatedCommand(): boolean {
    return this.errorCodes.some(
      (c) =>
        c === 'INTERACTION_APPLICATION_COMMAND_INVALID_VERSION' ||
        c === 'INTERACTION_APPLICATION_COMMAND_INVALID',
    );
  }
}

/** Discord could not be reached, or did not answer in time (after the retries that were safe). */
export class DiscordNetworkError extends Error {
  readonly kind = 'DISCORD_NETWORK';
  readonly code = 'DISCORD_NETWORK';
  constructor(
    message: string,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DiscordNetworkError';
  }
}

/** The attachment upload (PUT to the storage host, or the slots it needs) failed. */
export class UploadError extends Error {
  readonly kind = 'UPLOAD_FAILED';
  readonly code = 'UPLOAD_FAILED';
  constructor(
    message: string,
    /** HTTP status of the storage host, when it answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

/** Every `_errors[]` entry of a Discord error body (`errors` is a tree mirroring the request). */
export function nestedErrors(errors: unknown): { code: string; message: string }[] {
  const out: { code: string; message: string }[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (!node || typeof node !== 'object' || depth > 32) return;
    if (Array.isArray(node)) {
      for (const n of node) walk(n, depth + 1);
      return;
    }
    for (const [k, v] of Object.entries(node)) {
      if (k === '_errors' && Array.isArray(v)) {
        for (const e of v) {
          if (!e || typeof e !== 'object') continue;
          const { code, message } = e as { code?: unknown; message?: unknown };
          if (typeof code === 'string')
            out.push({ code, message: typeof message === 'string' ? message : '' });
        }
      } else walk(v, depth + 1);
    }
  };
  walk(errors, 0);
  return out;
}

/** Every nested `_errors[].code` string. */
export function nestedErrorCodes(errors: unknown): string[] {
  return nestedErrors(errors).map((e) => e.code);
}
