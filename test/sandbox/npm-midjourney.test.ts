import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Midjourney } from 'midjourney';
import { silentLogger } from '../../src/log.ts';
import { startSandbox } from '../../src/sandbox/index.ts';

/**
 * The simulator checked against an independent client: the npm package `midjourney` (erictik's
 * TypeScript client, uncompressed gateway, its own parsing) completes an imagine and an upscale.
 */
test('the npm `midjourney` client completes an imagine and an upscale against the sandbox', async () => {
  const sandbox = await startSandbox({ speed: 100, logger: silentLogger() });
  const account = sandbox.accounts[0];
  assert.ok(account);
  const client = new Midjourney({
    ServerId: account.guild_id,
    ChannelId: account.channel_id,
    SalaiToken: account.token,
    DiscordBaseUrl: sandbox.proxy.server,
    WsBaseUrl: `${sandbox.proxy.gateway}/?encoding=json&v=9`,
    Ws: true,
    Debug: false,
  });
  after(async () => {
    client.Close();
    await sandbox.close();
  });
  // Connect(), not init(): init() also sends /settings, which the sandbox does not simulate, and the
  // client's getCommand() takes the first command of the index whatever its name (a client bug that
  // the index's full listing, like Discord's, exposes). Connect() loads every command by name.
  await client.Connect();
  const grid = await client.Imagine('a lighthouse on a cliff');
  assert.ok(grid, 'imagine returned a message');
  assert.ok(grid.uri.endsWith('.png') || grid.uri.includes('.png?'), grid.uri);
  assert.match(grid.hash ?? '', /^[0-9a-f-]{36}$/);
  assert.ok(grid.content.includes('a lighthouse on a cliff'));
  const labels = (grid.options ?? []).map((o: { label: string }) => o.label);
  assert.ok(labels.includes('U1') && labels.includes('V4'), JSON.stringify(labels));
  const up = await client.Upscale({
    index: 1,
    msgId: grid.id as string,
    hash: grid.hash as string,
    flags: grid.flags,
    content: grid.content,
  });
  assert.ok(up, 'upscale returned a message');
  assert.ok(up.content.includes('Image #1'), up.content);
  assert.notEqual(up.hash, grid.hash);
});
