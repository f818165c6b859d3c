import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bannedWordsFrom, loadBannedWords } from '../../src/engine/banned-words.ts';
import { fetchImage, isForbiddenAddress } from '../../src/engine/guarded-fetch.ts';
import { Notifier } from '../../src/engine/notifier.ts';
import type { Task } from '../../src/engine/task.ts';
import { silentLogger } from '../../src/log.ts';
import { renderImage } from '../../src/sandbox/png.ts';

const PNG = renderImage({ seed: 'x', step: 100, width: 8, height: 8 });

describe('outgoing fetches under the SSRF policy', () => {
  let server: Server;
  let base: string;
  let hits: string[] = [];
  let aborted = 0;
  before(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/cat.png') res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
      else if (req.url === '/text')
        res.writeHead(200, { 'content-type': 'image/png' }).end('<html>not an image</html>');
      else if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'image/png' });
        req.socket.on('close', () => aborted++);
        const chunk = Buffer.alloc(64 * 1024, 1);
        let sent = 0;
        const pump = () => {
          while (sent < 50 && res.write(chunk)) sent++;
          if (sent < 50) res.once('drain', pump);
          else res.end();
        };
        pump();
      } else if (req.url === '/to-private')
        res.writeHead(302, { location: `http://127.0.0.2:${port()}/cat.png` }).end();
      else if (req.url?.startsWith('/loop'))
        res.writeHead(302, { location: `http://public.test:${port()}/loop` }).end();
      else if (req.url === '/hang') {
        // never answers
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${port()}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = () => (server.address() as { port: number }).port;
  // `public.test` stands for a public host: it resolves to loopback, and the policy treats that one
  // test address as public, so redirects from it can be checked against the real policy.
  const asPublic = {
    resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    isForbidden: (a: string) => a !== '127.0.0.1' && isForbiddenAddress(a),
  };

  test('a loopback URL is refused and never contacted', async () => {
    hits = [];
    await assert.rejects(
      fetchImage(`${base}/cat.png`, { maxBytes: 1e6, allowPrivateNetworks: false }),
      (e: Error) => {
        assert.match(e.message, /^could not fetch image http:\/\/127\.0\.0\.1:\d+\/cat\.png: /);
        return (e as { code?: string }).code === 'URL_FORBIDDEN';
      },
    );
    assert.deepEqual(hits, []);
  });

  test('with allowPrivateNetworks the same URL is fetched and its type read from its bytes', async () => {
    const img = await fetchImage(`${base}/cat.png`, { maxBytes: 1e6, allowPrivateNetworks: true });
    assert.equal(img.contentType, 'image/png');
    assert.deepEqual(img.bytes, PNG);
  });

  test('a redirect to a private address is refused, and so are more than 3 redirects', async () => {
    hits = [];
    await assert.rejects(
      fetchImage(`http://public.test:${port()}/to-private`, {
        maxBytes: 1e6,
        allowPrivateNetworks: false,
        ...asPublic,
      }),
      (e: Error) =>
        /^could not fetch image .*: the address is on a private or local network$/.test(e.message),
    );
    const followed = hits.length;
    assert.equal(followed, 1, 'only the public hop was contacted');
    await assert.rejects(
      fetchImage(`http://public.test:${port()}/loop`, {
        maxBytes: 1e6,
        allowPrivateNetworks: false,
        ...asPublic,
      }),
      /too many redirects/,
    );
  });

  test('oversize is refused while streaming, non-images and other schemes are refused', async () => {
    await assert.rejects(
      fetchImage(`${base}/huge`, { maxBytes: 100_000, allowPrivateNetworks: true }),
      /is larger than 100000 bytes/,
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(aborted, 1, 'the download was cut off');
    await assert.rejects(
      fetchImage(`${base}/text`, { maxBytes: 1e6, allowPrivateNetworks: true }),
      /is not a PNG\/JPEG\/WEBP\/GIF/,
    );
    await assert.rejects(
      fetchImage('ftp://example.com/a.png', { maxBytes: 1e6, allowPrivateNetworks: true }),
      /only http and https/,
    );
    await assert.rejects(
      fetchImage(`${base}/hang`, { maxBytes: 1e6, allowPrivateNetworks: true, timeoutMs: 200 }),
      /timed out/,
    );
  });

  test('data URIs are decoded and checked like downloads', async () => {
    const ok = await fetchImage(`data:image/png;base64,${PNG.toString('base64')}`, {
      maxBytes: 1e6,
      allowPrivateNetworks: false,
    });
    assert.deepEqual(ok.bytes, PNG);
    await assert.rejects(
      fetchImage(`data:image/png;base64,${Buffer.from('hello').toString('base64')}`, {
        maxBytes: 1e6,
        allowPrivateNetworks: false,
      }),
      /is not a PNG/,
    );
    await assert.rejects(
      fetchImage(`data:image/png;base64,${PNG.toString('base64')}`, {
        maxBytes: 10,
        allowPrivateNetworks: false,
      }),
      /is larger than 10 bytes/,
    );
  });

  test('the address policy covers loopback, private, link-local, CGNAT, metadata and mapped forms', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fc00::1',
      '::ffff:127.0.0.1',
      'fd00:ec2::254',
    ]) {
      assert.ok(isForbiddenAddress(a), a);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '172.32.0.1'])
      assert.ok(!isForbiddenAddress(a), a);
  });
});

describe('notifyUrl deliveries', () => {
  test('in order per task, final retried until delivered, signed; a slow receiver does not hold others', async () => {
    const got: { id: string; status: string; progress: string | null; sig: string; body: string }[] = [];
    let failFinal = 2;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const t = JSON.parse(body) as Task;
        if (t.status === 'FINISHED' && failFinal-- > 0) {
          res.writeHead(500).end();
          return;
        }
        const delay = req.url === '/slow' ? 300 : 0;
        setTimeout(() => {
          got.push({
            id: t.id,
            status: t.status,
            progress: t.progress,
            sig: String(req.headers['x-mj-signature']),
            body,
          });
          res.writeHead(200).end();
        }, delay);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const n = new Notifier({
      secret: 'k',
      allowPrivateNetworks: true,
      logger: silentLogger(),
      retryBaseMs: 20,
    });
    const task = (id: string, status: Task['status'], progress: string | null) =>
      ({ id, status, progress }) as Task;
    n.notify(task('A', 'SUBMITTED', null), `${url}/slow`);
    for (const p of ['10%', '20%', '30%']) n.notify(task('A', 'RUNNING', p), `${url}/slow`);
    n.notify(task('A', 'FINISHED', '100%'), `${url}/slow`);
    n.notify(task('B', 'SUBMITTED', null), `${url}/fast`);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(
      got.some((g) => g.id === 'B'),
      'B was not held back by A',
    );
    await n.drain();
    server.close();
    const a = got.filter((g) => g.id === 'A');
    assert.deepEqual(
      a.map((g) => g.status),
      ['SUBMITTED', 'RUNNING', 'FINISHED'],
    );
    assert.equal(a[1]?.progress, '30%', 'progress not yet sent was coalesced, latest wins');
    for (const g of got)
      assert.equal(g.sig, `sha256=${createHmac('sha256', 'k').update(g.body).digest('hex')}`);
  });
});

describe('banned words', () => {
  const list = bannedWordsFrom(['nude', 'bra', 'no shirt']);
  const table: [string, string | null][] = [
    ['a NUDE statue', 'nude'],
    ['Nude.', 'nude'],
    ['a brave knight', null],
    ['a bra', 'bra'],
    ['man with no   shirt', 'no shirt'],
    ['no shirts here', null],
    ['denuded hills', null],
    ['', null],
  ];
  for (const [prompt, word] of table) {
    test(`"${prompt}" → ${word}`, () => assert.equal(list.find(prompt), word));
  }
  test('the built-in list has the seed words; a file is read with comments and CRLF', () => {
    assert.equal(loadBannedWords(null).find('wearing nothing at all'), 'wearing nothing');
    const file = join(mkdtempSync(join(tmpdir(), 'mjb-bw-')), 'words.txt');
    writeFileSync(file, '# comment\r\n  Dragon  \r\n\r\nred fox # trailing\r\n');
    const fromFile = loadBannedWords({ file });
    assert.deepEqual([...fromFile.words], ['dragon', 'red fox']);
    assert.equal(fromFile.find('a RED  FOX'), 'red fox');
  });
});
