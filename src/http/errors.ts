/**
 * Errors of the HTTP front: a status, one readable sentence and extra headers, plus the rule that
 * keeps caller-supplied text from reaching a `msg` raw.
 */

/** An answer other than 2xx that the front decided on; `message` becomes the envelope's `msg`. */
export class HttpError extends Error {
  readonly code = 'HTTP_ERROR';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The client went away before its request was read: nobody is left to answer. */
export class ClientAbortedError extends Error {
  readonly code = 'CLIENT_ABORTED';
  constructor() {
    super('the client closed the connection before its request was read');
    this.name = 'ClientAbortedError';
  }
}

/**
 * Control characters (CR, LF, NUL …) written as JSON escapes, so a message that carries a piece of
 * input never splits a log line or a terminal; long text is cut.
 */
export function cleanText(text: string, max = 300): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what is escaped
  return cut.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** A piece of input shown inside a message: quoted, escaped, cut. */
export function quoted(text: string, max = 100): string {
  return `"${cleanText(text, max).replace(/"/g, '\\"')}"`;
}
