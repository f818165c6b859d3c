/**
 * Real programs as child processes, for the cluster tests: a throw-away `redis-server`, the
 * standalone sandbox (`src/sandbox/main.ts`) and service instances (`src/main.ts`), each on a free
 * loopback port. Every helper returns a handle whose `stop()` ends only that process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

const ROOT = join(import.meta.dirname, '..', '..');

export interface Proc {
  child: ChildProcess;
  /** The last of what the process wrote to stderr (and, for instances, its log lines on stdout), for failure messages. */
  stderr(): string;
  /** Sends `signal` (default SIGTERM) and waits for the exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function track(child: ChildProcess, logs = false): Proc {
  let err = '';
  const keep = (b: Buffer) => {
    err = (err + b.toString('utf8')).slice(-20_000);
  };
  child.stderr?.on('data', keep);
  // An instance logs to stdout (warnings and errors at the tests' level).
  if (logs) child.stdout?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return {
    child,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface RedisProc extends Proc {
  url: string;
}

/** A `redis-server` with no persistence on a free port, ready when this resolves. */
export async function startRedis(): Promise<RedisProc> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Not installed: a clear failure of this start, not an unhandled 'error' event.
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  const proc = track(child);
  for (let i = 0; i < 200 && !(await portOpen(port)); i++) {
    const failed = await Promise.race([spawnFailed, new Promise<null>((r) => setTimeout(() => r(null), 25))]);
    if (failed)
      throw new Error(`redis-server could not be started: ${failed.message} (apt-get install redis-server)`);
  }
  return { ...proc, url: `redis://127.0.0.1:${port}/0` };
}

export interface SandboxLine {
  proxy: { server: string; gateway: string; cdn: string; upload: string; inpaint: string };
  accounts: { token: string; guild_id: string; channel_id: string }[];
}

export interface SandboxProc extends Proc {
  line: SandboxLine;
  stats(): Promise<{
    interactions: number;
    duplicateNonces: number;
    jobs: number;
    peakRunning: Record<string, number>;
    byAccount: Record<string, { interactions: number; duplicateNonces: number }>;
  }>;
}

/** `npm run sandbox -- --accounts N --port 0 --speed S` as a child; resolves on its JSON line. */
export async function startSandboxProcess(accounts: number, speed: number): Promise<SandboxProc> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/sandbox/main.ts',
      '--accounts',
      String(accounts),
      '--port',
      '0',
      '--speed',
      String(speed),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const proc = track(child);
  const line = await new Promise<SandboxLine>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`sandbox did not start: ${proc.stderr()}`)), 30_000);
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(out.slice(0, nl)) as SandboxLine);
      }
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}: ${proc.stderr()}`)));
  });
  return {
    ...proc,
    line,
    async stats() {
      const res = await fetch(`${line.proxy.server}/sandbox/stats`);
      return (await res.json()) as Awaited<ReturnType<SandboxProc['stats']>>;
    },
  };
}

export interface InstanceProc extends Proc {
  url: string;
  /** The `/health` body. */
  health(): Promise<Record<string, unknown>>;
}

/** The service (`src/main.ts`) as a child process with this configuration (listen is filled in). */
export async function startInstance(
  config: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<InstanceProc> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mjb-instance-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ...config, listen: `http://127.0.0.1:${port}` }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MJB_CONFIG: file, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', ...env },
  });
  const proc = track(child, true);
  // For a failure that needs the whole story: TEST_LOG_DIR keeps each instance's log in a file.
  const logDir = process.env.TEST_LOG_DIR;
  if (logDir) {
    const log = join(logDir, `instance-${port}.log`);
    child.stdout?.on('data', (b: Buffer) => appendFileSync(log, b));
  }
  const url = `http://127.0.0.1:${port}`;
  const health = async () => (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;
  const by = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`instance exited with ${child.exitCode}: ${proc.stderr()}`);
    try {
      await health();
      break;
    } catch {
      if (Date.now() > by) throw new Error(`instance did not answer: ${proc.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { ...proc, url, health };
}

/** POSTs JSON to a service; returns status and parsed body. */
export async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const by = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined;
    try {
      v = await check();
    } catch {
      v = undefined;
    }
    if (v !== undefined) return v;
    if (Date.now() > by) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `npm start`'s entry as a child process on a config file (warnings and errors to the test's stderr). */
export function startMain(configFile: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, MJB_CONFIG: configFile, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
