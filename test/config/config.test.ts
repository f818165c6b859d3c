import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config.ts';

function problemsOf(raw: Record<string, unknown>, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(raw, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected the configuration to be refused');
}

describe('configuration', () => {
  test('an empty file gives every documented default', () => {
    const cfg = parseConfig({});
    assert.equal(cfg.listen, 'http://0.0.0.0:8686');
    assert.deepEqual(cfg.accounts, []);
    assert.equal(cfg.proxy.server, 'https://discord.com');
    assert.equal(cfg.proxy.gateway, 'wss://gateway.discord.gg');
    assert.equal(cfg.store.url, 'sqlite://data/midjourney-bridge.sqlite');
    assert.equal(cfg.store.expiredDates, 30);
    assert.equal(cfg.settings.maxQueue, 100);
    assert.equal(cfg.settings.interactionIntervalMs, 1000);
    assert.equal(cfg.settings.allowPrivateNetworks, false);
    assert.equal(cfg.telegram.token, '');
    assert.equal(cfg.telegram.maxJobsPerUser, 3);
    assert.equal(cfg.sandbox.speed, 1);
  });

  test('account defaults: enabled, 3 slots, 10 minutes, a browser user agent', () => {
    const cfg = parseConfig({ accounts: [{ token: 'abc', channel_id: '1069126859100524575' }] });
    const [a] = cfg.accounts;
    assert.ok(a);
    assert.equal(a.enable, true);
    assert.equal(a.concurrency, 3);
    assert.equal(a.timeoutMinutes, 10);
    assert.match(a.useragent, /Mozilla\/5\.0/);
  });

  test('environment overrides win over the file', () => {
    const cfg = parseConfig(
      { listen: 'http://127.0.0.1:9000', settings: { secret: 'file' } },
      {
        PORT: '7001',
        MJB_SECRET: 'env-secret',
        TELEGRAM_BOT_TOKEN: '123:abc',
        MJB_STORE: 'redis://localhost:6379/0',
        LOG_LEVEL: 'debug',
        DISCORD_TOKEN: 'tok',
        DISCORD_CHANNEL_ID: '1069126859100524575',
        DISCORD_GUILD_ID: '662267976984297473',
      },
    );
    assert.equal(cfg.listen, 'http://127.0.0.1:7001');
    assert.equal(cfg.settings.secret, 'env-secret');
    assert.equal(cfg.telegram.token, '123:abc');
    assert.equal(cfg.store.url, 'redis://localhost:6379/0');
    assert.equal(cfg.logLevel, 'debug');
    assert.equal(cfg.accounts.length, 1);
    assert.equal(cfg.accounts[0]?.guild_id, '662267976984297473');
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['unknown top-level key', { listne: 'x' }, /^listne: unknown key$/],
    ['unknown nested key', { settings: { secrt: 'x' } }, /^settings\.secrt: unknown key$/],
    ['wrong type', { settings: { maxQueue: 'many' } }, /^settings\.maxQueue: /],
    ['bad URL', { proxy: { server: 'discord.com' } }, /^proxy\.server: must be an http\(s\) URL$/],
    ['bad gateway URL', { proxy: { gateway: 'https://x' } }, /^proxy\.gateway: must be a ws\(s\) URL$/],
    [
      'empty token',
      { accounts: [{ token: '', channel_id: '1069126859100524575' }] },
      /^accounts\[0\]\.token: /,
    ],
    [
      'channel not an id',
      { accounts: [{ token: 't', channel_id: 'general' }] },
      /^accounts\[0\]\.channel_id: /,
    ],
    [
      'duplicate channel',
      {
        accounts: [
          { token: 'a', channel_id: '1069126859100524575' },
          { token: 'b', channel_id: '1069126859100524575' },
        ],
      },
      /^accounts\[1\]\.channel_id: duplicates accounts\[0\]\.channel_id$/,
    ],
    ['store scheme', { store: { url: 'mysql://x' } }, /^store\.url: /],
    ['prefix with slash', { settings: { apiPrefix: 'a/b' } }, /^settings\.apiPrefix: /],
    ['negative speed', { sandbox: { speed: -1 } }, /^sandbox\.speed: /],
  ];
  for (const [name, raw, expected] of bad) {
    test(`refused: ${name}`, () => {
      const problems = problemsOf(raw);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `got ${JSON.stringify(problems)}`,
      );
    });
  }

  test('every problem is listed, not only the first', () => {
    const problems = problemsOf({ listne: 1, settings: { maxQueue: -5, debug: 'yes' } });
    assert.ok(problems.length >= 3, JSON.stringify(problems));
  });

  test('half a Discord account in the environment is refused', () => {
    const problems = problemsOf({}, { DISCORD_TOKEN: 'x' });
    assert.ok(problems.some((p) => p.startsWith('DISCORD_TOKEN and DISCORD_CHANNEL_ID')));
  });

  test('MJB_CONFIG naming a missing file is an error; a present file is read', () => {
    assert.throws(() => loadConfig({ MJB_CONFIG: '/nonexistent/x.json' }), /does not exist/);
    const dir = mkdtempSync(join(tmpdir(), 'mjb-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ settings: { maxQueue: 7 } }));
    assert.equal(loadConfig({ MJB_CONFIG: file }).settings.maxQueue, 7);
    writeFileSync(file, '{not json');
    assert.throws(() => loadConfig({ MJB_CONFIG: file }), /not valid JSON/);
  });

  test('the service stops with exit code 2 and one readable line per problem, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mjb-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ listne: 1, settings: { maxQueue: 'x' } }));
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, MJB_CONFIG: file },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(res.status, 2);
    assert.match(res.stderr, /listne: unknown key/);
    assert.match(res.stderr, /settings\.maxQueue: /);
    assert.doesNotMatch(res.stderr, /at .*\.ts:\d+/);
  });
});
