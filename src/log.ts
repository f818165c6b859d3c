/**
 * The process logger: pino JSON lines, with every field that may hold a secret redacted.
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

const REDACT = [
  'token',
  '*.token',
  '*.*.token',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers["mj-api-secret"]',
  'password',
];

/** Creates the root logger; `level` comes from config/`LOG_LEVEL`. */
export function createLogger(level = 'info', destination?: NodeJS.WritableStream): Logger {
  const opts = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { svc: 'midjourney-bridge' } };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that writes nothing, for tests and benches. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Removes every occurrence of the given secrets from a string (for error messages we did not write). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join('[redacted]');
  return out;
}
