/**
 * Typed errors of the Discord REST client: a stable `code`, the HTTP status, and Discord's own
 * numeric code and message. Messages never contain the token.
 */

/** Discord answered with an error status. */
export class DiscordHttpError extends Error {
  readonly code = 'DISCORD_HTTP';
  constructor(
    readonly status: number,
    /** Discord's JSON error code (0 when it gave none). */
    readonly discordCode: number,
    message: string,
    /** Every nested `_errors[].code`, e.g. `INTERACTION_APPLICATION_COMMAND_INVALID_VERSION`. */
    readonly errorCodes: string[] = [],
  ) {
    super(message);
    this.name = 'DiscordHttpError';
  }

  /** The command id/version we sent is outdated: refresh the command index and retry once. */
  isOutdatedCommand(): boolean {
    return this.errorCodes.some(
      (c) =>
        c === 'INTERACTION_APPLICATION_COMMAND_INVALID_VERSION' ||
        c === 'INTERACTION_APPLICATION_COMMAND_INVALID',
    );
  }
}

/** Discord could not be reached, or did not answer in time, after the retries. */
export class DiscordNetworkError extends Error {
  readonly code = 'DISCORD_NETWORK';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DiscordNetworkError';
  }
}

/** The attachment upload (PUT to the storage host) failed. */
export class UploadError extends Error {
  readonly code = 'UPLOAD_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'UploadError';
  }
}

/** Collects every `_errors[].code` string of a Discord error body. */
export function nestedErrorCodes(errors: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    for (const [k, v] of Object.entries(node)) {
      if (k === '_errors' && Array.isArray(v)) {
        for (const e of v)
          if (e && typeof (e as { code?: unknown }).code === 'string') out.push((e as { code: string }).code);
      } else walk(v);
    }
  };
  walk(errors);
  return out;
}
