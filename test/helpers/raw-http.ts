/**
 * Speaks HTTP/1.1 by hand over a node:net socket, for requests no HTTP client would send:
 * the bytes go out as given and whatever comes back is read until the server closes.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  /** The whole answer as text ('' when the server closed without one). */
  text: string;
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** The connection ended with a reset rather than a close. */
  reset: boolean;
}

export function parseAnswer(text: string, reset = false): RawAnswer {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const [statusLine, ...headerLines] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return {
    text,
    status: m ? Number(m[1]) : null,
    headers,
    body: split < 0 ? '' : text.slice(split + 4),
    reset,
  };
}

/**
 * Sends `parts` (written one after another; a function part is called with the socket to write
 * more, e.g. a large body) and resolves with the answer once the server closes the connection or
 * `timeoutMs` passes (then whatever arrived).
 */
export function rawRequest(
  port: number,
  parts: Array<string | Buffer>,
  opts: { timeoutMs?: number; halfClose?: boolean } = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let reset = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseAnswer(Buffer.concat(chunks).toString('utf8'), reset));
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 5000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true;
      finish();
    });
    socket.on('close', finish);
    socket.on('connect', async () => {
      for (const p of parts) {
        if (done) return;
        if (!socket.write(p)) await new Promise((r) => socket.once('drain', r));
      }
      if (opts.halfClose) socket.end();
    });
  });
}
