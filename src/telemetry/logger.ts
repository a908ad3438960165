import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';

/** Structured JSON logger (pino). */
export type Logger = PinoLogger;

/**
 * What JSON leaves raw and a terminal or a viewer acts on: DEL, the C1
 * controls (U+009B is an 8-bit CSI), the bidirectional controls and the
 * Unicode line separators. JSON already writes C0 controls (ESC, BEL, CR)
 * as `\u001b`-style escapes.
 */
const RAW_ACTIVE = /[\u007f-\u009f\p{Bidi_Control}\u2028\u2029]/gu;

/**
 * A JSON log line with every such character written as its `\uXXXX`
 * escape: the bytes show nothing a terminal acts on, and the line parses
 * back to the exact text (they can only stand inside JSON strings).
 */
export function inertJsonLine(line: string): string {
  return line.replace(
    RAW_ACTIVE,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

/** pino options every logger of the process shares. */
export const LOG_HOOKS = { streamWrite: inertJsonLine } as const;

/**
 * Creates the process logger writing JSON lines to stderr (or `destination`).
 * Participants' and clients' words in it stay exact yet inert (inertJsonLine).
 */
export function createLogger(
  level: string,
  destination: DestinationStream = pino.destination(2),
): Logger {
  return pino({ level, base: { service: 'twopc' }, hooks: LOG_HOOKS }, destination);
}

/** A logger that drops everything (tests and library defaults). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
