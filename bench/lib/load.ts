import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

/** A request other than a plain GET. */
export interface LoadRequest {
  method?: string;
  body?: string;
  headers?: Record<string, string>;
}

/** Runs the load generator in a second Node process against `url`. */
export function load(
  url: string,
  seconds = 3,
  connections = 32,
  request: LoadRequest = {},
): Promise<LoadResult> {
  const script = fileURLToPath(new URL('./load-child.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, url, String(seconds), String(connections), JSON.stringify(request)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited ${code}`));
      else resolve(JSON.parse(out) as LoadResult);
    });
  });
}
