import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { embeddedIPv4, ipv6Groups } from '../../src/engine/address-policy.ts';
import { fetchImage, isForbiddenAddress, postJson } from '../../src/engine/guarded-fetch.ts';
import { renderImage } from '../../src/sandbox/png.ts';
import { startService } from '../helpers/service.ts';

const PNG = renderImage({ seed: 'x', step: 100, width: 8, height: 8 });

/** IPv6 spellings of loopback and private IPv4 addresses, dotted and hex. */
const EMBEDDED = [
  '::127.0.0.1',
  '::7f00:1',
  '::ffff:0:127.0.0.1',
  '::ffff:0:7f00:1',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '0:0:0:0:0:ffff:7f00:1',
  '0000:0000:0000:0000:0000:FFFF:7F00:0001',
  '::ffff:10.0.0.1',
  '::ffff:a9fe:a9fe',
  '::192.168.1.1',
  '64:ff9b::127.0.0.1',
  '64:ff9b::a00:1',
  '2002:7f00:1::1',
  '2002:c0a8:101::',
];

describe('IPv4 hidden in IPv6 addresses', () => {
  test('every embedded form of loopback and private ranges is refused; public ones pass', () => {
    for (const a of EMBEDDED) assert.ok(isForbiddenAddress(a), a);
    for (const a of [
      '::ffff:8.8.8.8',
      '::ffff:808:808',
      '64:ff9b::808:808',
      '2002:808:808::1',
      '2606:4700::1111',
    ])
      assert.ok(!isForbiddenAddress(a), a);
    assert.deepEqual(ipv6Groups('::ffff:0:127.0.0.1'), [0, 0, 0, 0, 0xffff, 0, 0x7f00, 1]);
    assert.equal(embeddedIPv4(ipv6Groups('::7f00:1') ?? []), '127.0.0.1');
    for (const junk of ['1::2::3', '::ffff:300.0.0.1', '12345::', 'not-an-ip'])
      assert.ok(isForbiddenAddress(junk), junk);
  });

  let server: Server;
  let port = 0;
  let connections = 0;
  before(async () => {
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(PNG));
    server.on('connection', () => connections++);
    // Dual-stack: it would take the connection over IPv4 or IPv6 loopback alike.
    await new Promise<void>((r) => server.listen(0, '::', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('image and callback URLs with those hosts are refused without a single connection', async () => {
    const hosts = [...EMBEDDED.filter((a) => a.includes('127.0.0.1') || a.includes('7f00')), '::1'];
    for (const host of hosts) {
      const url = `http://[${host}]:${port}/cat.png`;
      await assert.rejects(
        fetchImage(url, { maxBytes: 1024 * 1024, allowPrivateNetworks: false }),
        (e: Error & { code?: string }) => e.code === 'URL_FORBIDDEN',
        url,
      );
      await assert.rejects(
        postJson(url, '{}', {}, { allowPrivateNetworks: false }),
        (e: Error & { code?: string }) => e.code === 'URL_FORBIDDEN',
        url,
      );
    }
    assert.equal(connections, 0);
    // The server is reachable: the refusal above was the policy, not a dead port.
    const fetched = await fetchImage(`http://[::ffff:127.0.0.1]:${port}/cat.png`, {
      maxBytes: 1024 * 1024,
      allowPrivateNetworks: true,
    });
    assert.equal(fetched.contentType, 'image/png');
    assert.equal(connections, 1);
  });

  test('through the API: an imagine with such an image URL fails with a readable reason, no connection', async () => {
    const svc = await startService({ speed: 300 });
    try {
      const before = connections;
      const id = await svc.submit('/image/imagine', {
        prompt: 'a fox',
        images: [`http://[::ffff:0:127.0.0.1]:${port}/cat.png`],
      });
      const task = await svc.waitTask(id);
      assert.equal(task.status, 'FAILED');
      assert.match(String(task.failReason), /private or local network/);
      assert.equal(connections, before);
    } finally {
      await svc.close();
    }
  });
});
