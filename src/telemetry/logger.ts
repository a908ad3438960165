import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';

/** Structured JSON logger (pino). */
export type Logger = PinoLogger;

/** Creates the process logger writing JSON lines to stderr. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'twopc' } }, pino.destination(2));
}

/** A logger that drops everything (tests and library defaults). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
