// The one pino root logger; components take child loggers from it.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths that may hold secrets: pino replaces their values before a line is written. */
const REDACT = [
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'headers.authorization',
  'headers["x-api-key"]',
  'req.headers["x-api-key"]',
  'req.headers.authorization',
];

export function createLogger(options: { level?: string; pretty?: boolean } = {}): Logger {
  const base: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  // Pretty output only for a person at a terminal; services and CI get JSON lines.
  if (options.pretty ?? process.stdout.isTTY) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, destination: 1 } } });
  }
  return pino(base);
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
