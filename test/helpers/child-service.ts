/**
 * Runs the real service (`src/main.ts`) as a child process on loopback, in sandbox mode, for the
 * tests that must see a process stay up (or exit) and read what it logs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

export interface ChildService {
  base: string;
  proc: ChildProcess;
  dir: string;
  storeFile: string;
  /** Every JSON log line so far, parsed. */
  logs(): Array<Record<string, unknown>>;
  /** null while it runs, else its exit code (or signal name). */
  exitCode(): number | string | null;
  stop(): Promise<void>;
}

export interface ChildOptions {
  config?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  env?: Record<string, string>;
  storeFile?: string;
}

export async function startChild(opts: ChildOptions = {}): Promise<ChildService> {
  const dir = mkdtempSync(join(tmpdir(), 'mjb-child-'));
  const port = await freePort();
  const storeFile = opts.storeFile ?? join(dir, 'tasks.sqlite');
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: `http://127.0.0.1:${port}`,
      store: { url: `sqlite://${storeFile}` },
      sandbox: { speed: 100 },
      ...opts.config,
      settings: { interactionIntervalMs: 0, ...opts.settings },
    }),
  );
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, MJB_CONFIG: configFile, LOG_LEVEL: 'debug', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let pending = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        lines.push({ text: p });
      }
    }
  });
  let stderr = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (c: string) => {
    stderr += c;
  });
  let exit: number | string | null = null;
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      resolve();
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exit !== null) throw new Error(`the service exited (${exit}) before it was up: ${stderr}`);
    try {
      if ((await fetch(`${base}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the service did not come up: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    proc,
    dir,
    storeFile,
    logs: () => lines,
    exitCode: () => exit,
    async stop() {
      if (exit === null) {
        proc.kill('SIGTERM');
        const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}
