/**
 * Answers for requests node:http's parser refuses (bad method, bad version, oversized headers,
 * conflicting lengths, broken chunks …): the documented JSON envelope written straight on the
 * socket while a response can still be sent, else the connection is closed. Never a crash.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';

interface ParserError extends Error {
  code?: string;
}

const CONTENT_LENGTH =
  'the Content-Length header is not valid (one number, given once, never with Transfer-Encoding)';

/** Status and sentence per llhttp error code; anything else is a plain 400. */
const ANSWERS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'request headers are larger than the server accepts'],
  HPE_INVALID_METHOD: [400, 'the request method is not valid (methods are upper case, e.g. GET)'],
  HPE_INVALID_VERSION: [400, 'the HTTP version is not valid (HTTP/1.0 or HTTP/1.1)'],
  HPE_INVALID_URL: [400, 'the request target is not valid'],
  HPE_INVALID_HEADER_TOKEN: [400, 'a request header name or value holds a character HTTP forbids'],
  HPE_INVALID_CONSTANT: [400, 'the request line is not valid HTTP'],
  HPE_UNEXPECTED_CONTENT_LENGTH: [400, CONTENT_LENGTH],
  HPE_INVALID_CONTENT_LENGTH: [400, CONTENT_LENGTH],
  HPE_INVALID_TRANSFER_ENCODING: [400, 'the Transfer-Encoding header is not valid'],
  HPE_INVALID_CHUNK_SIZE: [400, 'a chunk size of the chunked body is not valid'],
  HPE_STRICT: [400, 'the request is not valid HTTP'],
  HPE_LF_EXPECTED: [400, 'the request is not valid HTTP (a line does not end in CRLF)'],
  HPE_CR_EXPECTED: [400, 'the request is not valid HTTP (a line does not end in CRLF)'],
  HPE_INVALID_EOF_STATE: [400, 'the request ended before its body was complete'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'the request was not received in time'],
  HPE_HEADER_TIMEOUT: [408, 'the request headers were not received in time'],
};

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/** The raw HTTP/1.1 response for a parser error: JSON envelope, connection closed. */
export function clientErrorResponse(code: string | undefined): string {
  const [status, msg] = ANSWERS[code ?? ''] ?? [400, 'the request is not valid HTTP'];
  const body = JSON.stringify({ code: status, msg, data: null });
  return (
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Bad Request'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** The `clientError` listener of the API server. */
export function onClientError(log: Logger): (err: ParserError, socket: Duplex) => void {
  return (err, socket) => {
    const code = err.code;
    // A reset or a socket already half gone: nobody to answer.
    if (code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    log.debug({ code }, 'malformed request refused');
    // Headers of a response may already be on the wire (an error in a later pipelined request
    // can only close the connection then).
    const written = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (written?.headersSent) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(code));
  };
}
