/**
 * The service as its own process for a bench row: live accounts whose outside URLs point at the
 * sandbox in the bench process, its own SQLite store in a fresh directory, reached over one undici
 * pool. The row's figures are then the service's own (its RSS, its CPU), not the bench's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { freePort } from '../../test/helpers/free-port.ts';
import { profiledArgs, reportCpu } from './profile.ts';

/** What the bench reads back from the service's JSON answers (a loose union of the routes used). */
export interface Answer {
  code: number;
  taskId?: string;
  status?: string;
  queue?: number;
  accounts?: { running: number }[];
  data?: unknown;
}

export interface SpawnedService {
  child: ChildProcess;
  /** The service's working directory (its store; images when the row stores them). */
  dir: string;
  /** GET `path`, or POST `body` as JSON. */
  call(path: string, body?: unknown): Promise<Answer>;
  /** Stops the service and removes its directory; prints its CPU time with `BENCH_CPU` (`label`). */
  close(label: string): Promise<void>;
}

export interface SpawnOptions {
  /** Config keys beside `listen`, `accounts`, `proxy`, `store` and `logLevel`. */
  config: Record<string, unknown>;
  /** Slots per account (default 3). */
  concurrency?: number;
  /** Name prefix of the temporary directory. */
  prefix: string;
}

/** Starts the service on `sandbox`'s accounts and resolves once its `/health` is ok. */
export async function spawnService(sandbox: Sandbox, opts: SpawnOptions): Promise<SpawnedService> {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  const port = await freePort();
  const configFile = join(dir, 'config.json');
  const images = opts.config.images as Record<string, unknown> | undefined;
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: `http://127.0.0.1:${port}`,
      accounts: sandbox.accounts.map((a) => ({
        token: a.token,
        channel_id: a.channel_id,
        guild_id: a.guild_id,
        concurrency: opts.concurrency ?? 3,
      })),
      proxy: sandbox.proxy,
      store: { url: `sqlite://${join(dir, 'tasks.sqlite')}` },
      logLevel: 'warn',
      ...opts.config,
      // A stored image goes under the service's directory, removed with it.
      ...(images && images.store !== 'off' ? { images: { dir: join(dir, 'images'), ...images } } : {}),
    }),
  );
  const child = spawn(process.execPath, [...profiledArgs(), '--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, MJB_CONFIG: configFile },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const agent = new Agent({ connections: 16 });
  const call = async (path: string, body?: unknown): Promise<Answer> => {
    const res = await request(base + path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      dispatcher: agent,
    });
    return (await res.body.json()) as Answer;
  };
  const close = async (label: string) => {
    reportCpu(label, child.pid);
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await call('/health')).status === 'ok') break;
      } catch {
        // not up yet
      }
      if (i > 300) throw new Error('service did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await close('');
    throw err;
  }
  return { child, dir, call, close };
}
