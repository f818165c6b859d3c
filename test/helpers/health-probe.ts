/**
 * How long `/health` takes to answer while something else loads the service: polled from this
 * process over a keep-alive connection, every few milliseconds, until the load settles.
 */
import { Agent, request } from 'node:http';

export interface HealthProbe {
  /** Milliseconds per answered /health, in order. */
  latencies: number[];
  max: number;
}

/** Polls `${base}/health` while `load()` runs (and once more after), resolving with both results. */
export async function healthDuring<T>(
  base: string,
  load: () => Promise<T>,
  everyMs = 5,
): Promise<{ probe: HealthProbe; result: T }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let done = false;
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const req = request(`${base}/health`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - t0));
      });
      req.on('error', reject);
      req.end();
    });
  const poller = (async () => {
    while (!done) {
      latencies.push(await once());
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  try {
    const result = await load();
    done = true;
    await poller;
    return { probe: { latencies, max: Math.max(0, ...latencies) }, result };
  } finally {
    done = true;
    agent.destroy();
  }
}

/** POSTs a prepared body with node:http (a Buffer costs this process no serialising). */
export function postBuffer(url: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `{"prompt":…,"data":"xxxx…"}` of about `bytes` bytes. */
export function bigDataBody(bytes: number): Buffer {
  const head = Buffer.from('{"prompt":"a fox","data":"');
  const tail = Buffer.from('"}');
  return Buffer.concat([head, Buffer.alloc(Math.max(0, bytes - head.length - tail.length), 0x78), tail]);
}
