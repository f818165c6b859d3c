/**
 * The process entry: reads the configuration (exit code 2 on any problem), starts the app, and
 * shuts down gracefully on SIGTERM/SIGINT.
 */

import { startApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `midjourney-bridge: invalid configuration\n${err.problems.map((p) => `  ${p}\n`).join('')}`,
      );
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const app = await startApp(config, { logger });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  // Found only while starting (an image store that cannot be written): still a configuration problem.
  if (err instanceof ConfigError) {
    process.stderr.write(
      `midjourney-bridge: invalid configuration\n${err.problems.map((p) => `  ${p}\n`).join('')}`,
    );
    process.exit(2);
  }
  process.stderr.write(`midjourney-bridge: could not start: ${(err as Error).message}\n`);
  process.exit(1);
});
