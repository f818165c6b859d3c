import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { RestClient } from '../../src/discord/rest.ts';
import { nonce } from '../../src/discord/snowflake.ts';
import { silentLogger } from '../../src/log.ts';
import { DEFAULT_COMMANDS, imaginePayload } from '../../src/midjourney/index.ts';

test('the sandbox’s memory is bounded: after 2,000 jobs (CDN budget 8 MiB) its RSS is back within 50 MB of its baseline', async (t) => {
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      join(import.meta.dirname, '..', 'helpers', 'sandbox-process.ts'),
      '1000',
      // A CDN budget of 8 MiB (the default holds 256): everything else must stay flat.
      '8',
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((r) => waiting.push(r));
  const ask = async <T>(command: string): Promise<T> => {
    const answer = next();
    child.stdin.write(`${command}\n`);
    return JSON.parse(await answer) as T;
  };
  try {
    const { proxy, accounts } = JSON.parse(await next()) as {
      proxy: { server: string };
      accounts: { token: string; channel_id: string; guild_id: string }[];
    };
    const account = accounts[0];
    assert.ok(account);
    const rest = new RestClient({
      baseUrl: proxy.server,
      token: account.token,
      userAgent: 'test',
      logger: silentLogger(),
    });
    const run = async (from: number, count: number) => {
      for (let i = from; i < from + count; i += 20) {
        await Promise.all(
          Array.from({ length: Math.min(20, from + count - i) }, (_, k) =>
            rest.request('POST', '/interactions', {
              json: imaginePayload(
                { guildId: account.guild_id, channelId: account.channel_id, sessionId: '', nonce: nonce() },
                DEFAULT_COMMANDS.imagine,
                `memory job ${i + k}`,
              ),
            }),
          ),
        );
      }
      for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
        const s = await ask<{ started: number; finished: number }>('stats');
        if (s.finished >= from + count) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('the jobs did not finish');
    };
    // Warm up (code loaded, caches of fixed size filled) before the baseline.
    await run(0, 100);
    await new Promise((r) => setTimeout(r, 500));
    const before = await ask<NodeJS.MemoryUsage>('rss');
    const base = before.rss;
    await run(100, 2000);
    // Idle a moment, as a sandbox between two bursts would.
    await new Promise((r) => setTimeout(r, 5000));
    const now = await ask<NodeJS.MemoryUsage>('rss');
    const grown = (now.rss - base) / 1048576;
    const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
    const figures = `RSS grew ${grown.toFixed(1)} MB over its baseline of ${mb(base)} (heap ${mb(before.heapUsed)} → ${mb(now.heapUsed)} of ${mb(before.heapTotal)} → ${mb(now.heapTotal)}, external ${mb(before.external)} → ${mb(now.external)})`;
    t.diagnostic(figures);
    assert.ok(grown < 50, figures);
  } finally {
    child.stdin.write('exit\n');
    await new Promise((r) => child.once('exit', r));
  }
});
