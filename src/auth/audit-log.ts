import { pino } from 'pino';
import type { Logger } from '../telemetry/logger.ts';
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

/**
 * The audit log: one JSON line per operator call and per refused call, with
 * the principal. It goes to its own file when configured (to be shipped on
 * its own), else into the main log marked `"audit": true`.
 */
export class AuditLog {
  readonly #log: Logger;

  constructor(file: string | null, main: Logger) {
    this.#log =
      file === null
        ? main.child({ audit: true })
        : pino(
            { base: { audit: true } },
            pino.destination({ dest: file, mkdir: true, sync: true }),
          );
  }

  record(entry: AuditEntry): void {
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
      },
      'audit',
    );
  }
}
