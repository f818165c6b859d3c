import { createServer } from 'node:net';

/**
 * Ports below the kernel's ephemeral range (32768–60999 on Linux): the outgoing connections of a
 * busy machine take their local ports from that range, so a port picked there can be taken in the
 * second between this check and the child process listening on it (EADDRINUSE).
 */
const LOW = 20_000;
const HIGH = 32_000;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A TCP port free on loopback right now (for services that must know their URL before start). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port found between ${LOW} and ${HIGH}`);
}
