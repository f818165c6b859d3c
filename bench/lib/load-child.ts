/**
 * Load generator run as a second process: `connections` keep-alive clients hammer one URL for
 * `seconds`, then it prints `{requests, rps, p50, p99}` as JSON on stdout.
 */
import { Pool } from 'undici';

const [url, seconds, connections] = [
  process.argv[2] ?? '',
  Number(process.argv[3] ?? 3),
  Number(process.argv[4] ?? 32),
];
const request = JSON.parse(process.argv[5] ?? '{}') as {
  method?: string;
  body?: string;
  headers?: Record<string, string>;
};
const u = new URL(url);
const pool = new Pool(u.origin, { connections, pipelining: 1 });
const latencies: number[] = [];
let errors = 0;
const until = performance.now() + seconds * 1000;

async function worker(): Promise<void> {
  while (performance.now() < until) {
    const t0 = performance.now();
    try {
      const res = await pool.request({
        path: u.pathname + u.search,
        method: (request.method ?? 'GET') as 'GET',
        ...(request.body !== undefined ? { body: request.body } : {}),
        ...(request.headers ? { headers: request.headers } : {}),
      });
      await res.body.dump();
      if (res.statusCode !== 200) errors++;
    } catch {
      errors++;
    }
    latencies.push(performance.now() - t0);
  }
}

await Promise.all(Array.from({ length: connections }, worker));
await pool.close();
latencies.sort((a, b) => a - b);
const at = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
process.stdout.write(
  JSON.stringify({
    requests: latencies.length,
    errors,
    rps: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
  }),
);
