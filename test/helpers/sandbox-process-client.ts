/**
 * Runs the sandbox in a process of its own (`sandbox-process.ts`) and talks to it over stdio:
 * for measurements that must not count the simulator's own work.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { SandboxAccount } from '../../src/sandbox/index.ts';

export interface SandboxProcess {
  proxy: { server: string; cdn: string; gateway: string; upload: string; inpaint: string };
  accounts: SandboxAccount[];
  pid: number;
  ask<T>(command: 'rss' | 'stats' | 'arrivals' | 'clock'): Promise<T>;
  arrivals(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function startSandboxProcess(speed: number): Promise<SandboxProcess> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'sandbox-process.ts'), String(speed)],
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
  const first = JSON.parse(await next()) as Pick<SandboxProcess, 'proxy' | 'accounts'>;
  return {
    ...first,
    pid: child.pid ?? 0,
    ask,
    arrivals: () => ask<Record<string, number>>('arrivals'),
    async close() {
      child.stdin.write('exit\n');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
