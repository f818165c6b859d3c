import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { DiscordHttpError, UploadError } from '../../src/discord/errors.ts';
import type { GatewayClient } from '../../src/discord/gateway.ts';
import type { RestClient } from '../../src/discord/rest.ts';
import { nonce } from '../../src/discord/snowflake.ts';
import type { DiscordMessage } from '../../src/discord/types.ts';
import { postMessageWithUploads, rewriteOrigin, uploadAttachments } from '../../src/discord/upload.ts';
import type { FakeDiscord, InteractionContext } from '../../src/sandbox/discord/api.ts';
import { CHANNEL, CMD, GUILD, gatewayClient, restClient, startWorld, waitFor } from './helpers.ts';

/** A PNG header claiming 640×480 (enough for the CDN to report dimensions), then noise. */
function fakePng(seed: number): Buffer {
  const head = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(head, 0);
  head.writeUInt32BE(13, 8);
  head.write('IHDR', 12, 'ascii');
  head.writeUInt32BE(640, 16);
  head.writeUInt32BE(480, 20);
  return Buffer.concat([head, Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * seed) % 251))]);
}

describe('attachment upload flow against the simulated Discord', () => {
  let discord: FakeDiscord;
  let rest: RestClient;
  let gateway: GatewayClient;
  let events: { t: string; d: unknown }[];

  before(async () => {
    discord = await startWorld({ heartbeatIntervalMs: 1000 });
    rest = restClient(discord);
    const made = gatewayClient(discord);
    gateway = made.client;
    events = made.events;
    gateway.connect();
    await once(gateway, 'ready', { signal: AbortSignal.timeout(5000) });
  });
  after(async () => {
    await gateway.close();
    await discord.close();
  });

  test('upload → message: the CDN serves back exactly the uploaded bytes, at the URL the message names', async () => {
    const files = [
      { filename: 'cat.png', bytes: fakePng(3), contentType: 'image/png' },
      { filename: 'my dog.png', bytes: fakePng(7), contentType: 'image/png' },
    ];
    // The slots name the real storage host; the client puts the bytes on ours.
    const refs = await uploadAttachments(rest, { channelId: CHANNEL, uploadOrigin: discord.origin, files });
    assert.equal(refs.length, 2);
    assert.deepEqual(
      refs.map((r) => [r.id, r.filename]),
      [
        ['0', 'cat.png'],
        ['1', 'my dog.png'],
      ],
    );
    assert.match(refs[0]!.uploaded_filename, /^[0-9a-f-]{36}\/cat\.png$/);
    const msg = await postMessageWithUploads(rest, CHANNEL, refs, 'two pictures');
    assert.equal(msg.content, 'two pictures');
    assert.equal(msg.guild_id, GUILD);
    const atts = msg.attachments ?? [];
    assert.equal(atts.length, 2);
    for (const [i, a] of atts.entries()) {
      assert.match(
        a.url,
        new RegExp(
          `^https://cdn\\.discordapp\\.com/attachments/${CHANNEL}/\\d+/[\\w.-]+\\?ex=[0-9a-f]+&is=[0-9a-f]+&hm=[0-9a-f]{64}&$`,
        ),
      );
      assert.match(a.proxy_url ?? '', /^https:\/\/media\.discordapp\.net\/attachments\//);
      assert.deepEqual([a.width, a.height, a.size], [640, 480, files[i]!.bytes.length]);
      for (const real of [a.url, a.proxy_url ?? '']) {
        const res = await fetch(rewriteOrigin(real, discord.origin));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'image/png');
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), files[i]!.bytes);
      }
    }
    assert.equal(atts[1]!.filename, 'my_dog.png', 'Discord replaces spaces in file names');
    // The message reached the channel's members over the gateway too.
    const created = await waitFor('MESSAGE_CREATE', () =>
      events.find((e) => e.t === 'MESSAGE_CREATE' && (e.d as DiscordMessage).id === msg.id),
    );
    assert.deepEqual(
      (created.d as DiscordMessage).attachments?.map((a) => a.url),
      atts.map((a) => a.url),
    );
  });

  test('uploaded files referenced by an interaction reach the bot as bytes', async () => {
    const bytes = fakePng(11);
    const refs = await uploadAttachments(rest, {
      channelId: CHANNEL,
      uploadOrigin: `${discord.origin}/upload`, // a reverse proxy with a path prefix works too
      files: [{ filename: 'in.png', bytes, contentType: 'image/png' }],
    });
    let seen: InteractionContext | undefined;
    discord.onInteraction((ix) => {
      seen = ix;
    });
    await rest.request('POST', '/interactions', {
      json: {
        type: 2,
        application_id: CMD.applicationId,
        guild_id: GUILD,
        channel_id: CHANNEL,
        session_id: gateway.sessionId,
        nonce: nonce(),
        data: {
          id: CMD.id,
          version: CMD.version,
          name: CMD.name,
          type: 1,
          options: [{ type: 11, name: 'image', value: 0 }],
          attachments: refs,
        },
      },
    });
    assert.ok(seen);
    assert.equal(seen.files.length, 1);
    assert.equal(seen.files[0]!.filename, 'in.png');
    assert.equal(seen.files[0]!.contentType, 'image/png');
    assert.deepEqual(seen.files[0]!.bytes, bytes);
  });

  test('a refused PUT is an UploadError with the storage status', async () => {
    const err = await uploadAttachments(rest, {
      channelId: CHANNEL,
      uploadOrigin: `${discord.origin}/not-the-upload-path`,
      files: [{ filename: 'x.png', bytes: fakePng(1), contentType: 'image/png' }],
    }).catch((e: unknown) => e);
    assert.ok(err instanceof UploadError);
    assert.equal(err.status, 404);
    assert.match(err.message, /x\.png/);
  });

  test('a message naming an upload that never happened is refused by Discord', async () => {
    const err = await postMessageWithUploads(rest, CHANNEL, [
      { id: '0', filename: 'ghost.png', uploaded_filename: '00000000-0000-0000-0000-000000000000/ghost.png' },
    ]).catch((e: unknown) => e);
    assert.ok(err instanceof DiscordHttpError);
    assert.equal(err.status, 400);
    assert.deepEqual(err.errorCodes, ['UPLOADED_FILE_NOT_FOUND']);
  });

  test('rewriteOrigin keeps path and query and any prefix of the new origin', () => {
    const real = 'https://discord-attachments-uploads-prd.storage.googleapis.com/abc/cat.png?upload_id=X1';
    assert.equal(rewriteOrigin(real, 'http://127.0.0.1:9'), 'http://127.0.0.1:9/abc/cat.png?upload_id=X1');
    assert.equal(
      rewriteOrigin(real, 'https://proxy.example/gcs/'),
      'https://proxy.example/gcs/abc/cat.png?upload_id=X1',
    );
  });
});
