import { pino } from 'pino';
import { LOG_HOOKS } from '../telemetry/logger.ts';
import type { Logger } from '../telemetry/logger.ts';
import { WarnLimiter } from '../telemetry/warn-limiter.ts';
import type { Clock } from 'twopc/internal/time/clock';
import type { Caller } from './caller.ts';

/** One audited call. */
export interface AuditEntry {
  readonly method: string;
  readonly caller: Caller | null;
  readonly peer: string;
  readonly txnId: string | null;
  readonly participant: string | null;
  /** OK, or the status the call ended with (UNAUTHENTICATED, PERMISSION_DENIED, ...). */
  readonly result: string;
  readonly detail: string | null;
}

/** How long identical successful reads are written as one line. */
const READ_WINDOW_MS = 60_000;

/**
 * The audit log: one JSON line per operator call and per refused call, with
 * the principal. It goes to its own file when configured (to be shipped on
 * its own), else into the main log marked `"audit": true`. A read repeated
 * unchanged (the console refreshing its list every few seconds: the same
 * principal, method, transaction and result) is written once a minute, with
 * `repeated`: how many identical reads the line stands for since the last.
 * Actions and refusals are written every time.
 */
export class AuditLog {
  readonly #log: Logger;
  readonly #reads: WarnLimiter;

  constructor(file: string | null, main: Logger, clock: Clock) {
    this.#reads = new WarnLimiter(clock, READ_WINDOW_MS);
    this.#log =
      file === null
        ? main.child({ audit: true })
        : pino(
            { base: { audit: true }, hooks: LOG_HOOKS },
            pino.destination({ dest: file, mkdir: true, sync: true }),
          );
  }

  /** Writes `entry`; a successful `read` identical to one written less than a minute ago is counted instead. */
  record(entry: AuditEntry, read = false): void {
    let repeated = 0;
    if (read && entry.result === 'OK') {
      const key = [entry.method, entry.caller?.principal, entry.caller?.via, entry.txnId].join(
        '\n',
      );
      const held = this.#reads.allow(key);
      if (held === null) {
        return;
      }
      repeated = held;
    }
    this.#log.info(
      {
        method: entry.method,
        principal: entry.caller?.principal ?? null,
        tenant: entry.caller?.tenant ?? null,
        via: entry.caller?.via ?? null,
        peer: entry.peer,
        txn_id: entry.txnId,
        participant: entry.participant,
        result: entry.result,
        detail: entry.detail,
        ...(repeated > 0 ? { repeated } : {}),
      },
      'audit',
    );
  }
}
