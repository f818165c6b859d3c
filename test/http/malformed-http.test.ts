import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ChildService, startChild } from '../helpers/child-service.ts';
import { rawRequest } from '../helpers/raw-http.ts';

const HOST = 'Host: 127.0.0.1\r\n';
const CL = 'the Content-Length header is not valid (one number, given once, never with Transfer-Encoding)';

/** [case, request bytes, status, msg] */
const CASES: [string, string, number, string][] = [
  [
    'method in lower case',
    `get /health HTTP/1.1\r\n${HOST}\r\n`,
    400,
    'the request method is not valid (methods are upper case, e.g. GET)',
  ],
  [
    'unknown HTTP version',
    `GET /health HTTP/9.9\r\n${HOST}\r\n`,
    400,
    'the HTTP version is not valid (HTTP/1.0 or HTTP/1.1)',
  ],
  ['space in the target', `GET /he alth HTTP/1.1\r\n${HOST}\r\n`, 400, 'the request line is not valid HTTP'],
  [
    'a 20 KB header',
    `GET /health HTTP/1.1\r\n${HOST}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    431,
    'request headers are larger than the server accepts',
  ],
  [
    'NUL in a header',
    `GET /health HTTP/1.1\r\n${HOST}X-A: a\0b\r\n\r\n`,
    400,
    'a request header name or value holds a character HTTP forbids',
  ],
  [
    'two Content-Lengths',
    `POST /task/cancel HTTP/1.1\r\n${HOST}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
    400,
    CL,
  ],
  [
    'Transfer-Encoding and Content-Length',
    `POST /task/cancel HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`,
    400,
    CL,
  ],
  [
    'a bad chunk size',
    `POST /task/cancel HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    400,
    'a chunk size of the chunked body is not valid',
  ],
  [
    'an unknown Transfer-Encoding',
    `POST /task/cancel HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip\r\n\r\n`,
    400,
    'the Transfer-Encoding header is not valid',
  ],
];

describe('malformed HTTP gets the JSON envelope (or a clean close), and the process stays up', () => {
  let svc: ChildService;
  let port: number;
  before(async () => {
    svc = await startChild({ settings: { maxImageBytes: 100_000 } });
    port = Number(new URL(svc.base).port);
  });
  after(async () => {
    await svc.stop();
  });

  for (const [name, request, status, msg] of CASES) {
    test(`${name} → ${status} in the envelope`, async () => {
      const answer = await rawRequest(port, [request]);
      assert.equal(answer.status, status, answer.text.slice(0, 200));
      assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(answer.headers.connection, 'close');
      assert.deepEqual(JSON.parse(answer.body), { code: status, msg, data: null });
      assert.equal(svc.exitCode(), null);
    });
  }

  test('a body cut short (client half-closes) → 400 envelope; a client that vanishes → clean close', async () => {
    const head = `POST /task/cancel HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n`;
    const cut = await rawRequest(port, [`${head}{"taskId":`], { halfClose: true });
    assert.equal(cut.status, 400);
    assert.deepEqual(JSON.parse(cut.body), {
      code: 400,
      msg: 'the request ended before its body was complete',
      data: null,
    });
    // Gone mid-body with no way to answer: nothing to send, nothing logged as an error.
    const gone = await rawRequest(port, [`${head}{"taskId":`], { timeoutMs: 200 });
    assert.equal(gone.status, null);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(svc.exitCode(), null);
    assert.equal((await fetch(`${svc.base}/health`)).status, 200);
    const errors = svc.logs().filter((l) => typeof l.level === 'number' && l.level >= 50);
    assert.deepEqual(errors, [], 'a client abort is not an error');
  });

  test('a chunked body past the route limit gets the JSON 413, not a reset; so does a declared one', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const parts: Array<string | Buffer> = [
      `POST /image/imagine HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
    ];
    // imagine with maxImageBytes 100 kB carries about 1.3 MB at most: send 4 MB.
    for (let i = 0; i < 64; i++) parts.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    parts.push('0\r\n\r\n');
    const chunked = await rawRequest(port, parts);
    assert.equal(chunked.reset, false);
    assert.equal(chunked.status, 413, chunked.text.slice(0, 200));
    const body = JSON.parse(chunked.body) as { code: number; msg: string };
    assert.equal(body.code, 413);
    assert.match(
      body.msg,
      /^request body is larger than [\d.]+ (KiB|MiB), the most \/image\/imagine accepts$/,
    );
    const declared = await fetch(`${svc.base}/task/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"taskId":"${'1'.repeat(2_000_000)}"}`,
    });
    assert.equal(declared.status, 413);
    assert.equal(((await declared.json()) as { code: number }).code, 413);
    assert.equal((await fetch(`${svc.base}/health`)).status, 200);
  });
});
