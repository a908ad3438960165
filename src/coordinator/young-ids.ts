import { isClientTxnId } from 'twopc/internal/contract/client-txn-id';
import { InvalidTransitionError, TxExistsError } from 'twopc/internal/contract/errors';
import { TxState } from 'twopc/internal/contract/tx-state';
import type { TxId } from '../core/tx-record.ts';
import type { TransactionLog } from '../store/transaction-store.ts';
import type { Clock } from 'twopc/internal/time/clock';
import { sleep } from 'twopc/internal/time/clock';

/**
 * How long a call naming a client-made id that the log does not hold yet
 * waits for its Begin's row before it is answered NOT_FOUND. A client that
 * makes its own id passes it on while Begin is written, so an Enlist (or a
 * Commit sent behind the Begin) may arrive first; a Begin's row lands in
 * milliseconds, and an id still unknown after this is taken as never begun.
 */
export const YOUNG_ID_WAIT_MS = 2_000;

/** The first pause between two reads of the log while waiting; doubled up to 100 ms. */
const FIRST_POLL_MS = 2;

/**
 * Begins of client-made ids under way in this process, and the wait of a
 * call that names such an id before its row is written. Nothing is
 * answered from here: the wait only says when to read the log again.
 */
export class YoungIds {
  readonly #pending = new Map<TxId, Promise<unknown>>();
  readonly #store: TransactionLog;
  readonly #clock: Clock;

  constructor(store: TransactionLog, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Remembers a Begin of a client-made id until its write settles. */
  track<T>(txnId: TxId, write: Promise<T>): Promise<T> {
    const settled = write.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.set(txnId, settled);
    void settled.then(() => {
      if (this.#pending.get(txnId) === settled) {
        this.#pending.delete(txnId);
      }
    });
    return write;
  }

  /**
   * The end of a Begin of `txnId` under way in this process (it settles
   * when its write does, whatever became of it), or undefined. A call
   * naming the id waits for it before it reads or writes the row: a
   * Commit sent right behind its Begin would otherwise miss the row.
   */
  pendingBegin(txnId: TxId): Promise<unknown> | undefined {
    return this.#pending.get(txnId);
  }

  /**
   * Waits, up to YOUNG_ID_WAIT_MS, until the log holds a client-made id
   * (its Begin landed here or on another coordinator). False at once for
   * an id the coordinator made (its row was written before anyone heard
   * of it), and when the time is up.
   */
  async awaitRow(txnId: TxId, signal?: AbortSignal): Promise<boolean> {
    if (!isClientTxnId(txnId)) {
      return false;
    }
    const until = this.#clock.now() + YOUNG_ID_WAIT_MS;
    let pauseMs = FIRST_POLL_MS;
    for (;;) {
      const here = this.#pending.get(txnId);
      if (here !== undefined) {
        // Begun through this process: wait for its write's own end.
        await Promise.race([here, sleep(this.#clock, Math.max(0, until - this.#clock.now()))]);
      }
      if ((await this.#store.get(txnId)) !== null) {
        return true;
      }
      const left = until - this.#clock.now();
      if (left <= 0 || signal?.aborted === true) {
        return false;
      }
      await sleep(this.#clock, Math.min(pauseMs, left), signal);
      pauseMs = Math.min(pauseMs * 2, 100);
    }
  }
}

/** What a repeated Begin is compared on. */
interface BeginShape {
  readonly leaseMs: number;
  readonly labels: Record<string, string>;
  readonly participants: readonly { name: string; endpoint: string }[];
  readonly tenant: string;
  readonly principal: string | null;
}

/**
 * The answer to a Begin whose client-made id the log already holds. The
 * same caller repeating the same Begin (its first answer was lost and it
 * tried again) while the transaction is still ACTIVE is answered as the
 * first time, from the row; anything else is `err` (ALREADY_EXISTS).
 * @throws err when it is not TxExistsError, or the Begin is not a repeat
 */
export async function repeatedBegin(
  store: TransactionLog,
  err: unknown,
  txnId: TxId,
  begin: BeginShape,
): Promise<{ leaseExpiresAt: Date }> {
  if (!(err instanceof TxExistsError)) {
    throw err;
  }
  const row = await store.get(txnId);
  const same =
    row !== null &&
    row.state === TxState.ACTIVE &&
    row.tenant === begin.tenant &&
    row.principal === begin.principal &&
    row.leaseMs === begin.leaseMs &&
    sameLabels(row.labels, begin.labels) &&
    begin.participants.every((p) =>
      row.participants.some((q) => q.name === p.name && q.endpoint === p.endpoint),
    );
  if (!same) {
    throw err;
  }
  return { leaseExpiresAt: row.leaseExpiresAt };
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

/**
 * Runs a write naming `txnId` once more when it found no ACTIVE row though
 * the row is ACTIVE now: a client-made id whose Begin landed after the
 * write's snapshot was taken (the write then explains itself from a fresh
 * read, which sees the row, as "not ACTIVE").
 */
export function landedRetry<T>(txnId: TxId, write: () => Promise<T>): Promise<T> {
  if (!isClientTxnId(txnId)) {
    return write(); // the coordinator's own ids: as before, not a tick later
  }
  return write().catch((err: unknown) => {
    if (err instanceof InvalidTransitionError && err.state === TxState.ACTIVE) {
      return write();
    }
    throw err;
  });
}
