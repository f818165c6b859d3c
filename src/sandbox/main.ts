/**
 * The sandbox as its own process (SPEC §8), for integrators and the cluster tests:
 * `npm run sandbox -- --accounts N --port P [--speed S]` prints one JSON line with the `proxy`
 * and `accounts` to paste into a config, then serves the simulated Discord on loopback port P
 * and `GET /sandbox/stats` until SIGTERM/SIGINT. Logs go to stderr; stdout carries only that line.
 */
import { createLogger } from '../log.ts';
import { startSandbox } from './index.ts';
import { countInteractions, type SandboxStats } from './stats.ts';

interface Args {
  accounts: number;
  port: number;
  speed: number;
}

function usage(problem: string): never {
  process.stderr.write(`sandbox: ${problem}\nusage: npm run sandbox -- --accounts N --port P [--speed S]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const out: Args = { accounts: 1, port: 0, speed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const raw = argv[i + 1];
    if (key !== '--accounts' && key !== '--port' && key !== '--speed') usage(`unknown argument ${key}`);
    if (raw === undefined) usage(`${key} needs a value`);
    const n = Number(raw);
    i++;
    if (key === '--accounts') {
      if (!Number.isInteger(n) || n < 1 || n > 99) usage('--accounts must be a whole number from 1 to 99');
      out.accounts = n;
    } else if (key === '--port') {
      if (!Number.isInteger(n) || n < 0 || n > 65535) usage('--port must be a port number (0: any free one)');
      out.port = n;
    } else {
      if (!Number.isFinite(n) || n <= 0 || n > 10_000)
        usage('--speed must be a number above 0 (at most 10000)');
      out.speed = n;
    }
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr);
  let stats: (() => SandboxStats) | undefined;
  const sandbox = await startSandbox({
    speed: args.speed,
    accounts: args.accounts,
    port: args.port,
    logger,
    extraRoute: (req, res, url) => {
      if (url.pathname !== '/sandbox/stats' || !stats) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const body = JSON.stringify(stats());
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  });
  stats = countInteractions(sandbox.discord, () => sandbox.bot.stats());
  const line = {
    proxy: sandbox.proxy,
    accounts: sandbox.accounts.map((a) => ({
      token: a.token,
      guild_id: a.guild_id,
      channel_id: a.channel_id,
    })),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    sandbox.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox: could not start: ${(err as Error).message}\n`);
  process.exit(1);
});
