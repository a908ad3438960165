import type { Pool } from 'pg';
import type { TxId } from '../core/tx-record.ts';
import type { Outcome } from 'twopc/internal/contract/tx-state';
import type { Cancel, Clock } from 'twopc/internal/time/clock';
import { runQuery } from './pg-run.ts';

/** How long an individual acknowledgement waits for its transaction's completion write. */
const ACK_FLUSH_MS = 1_000;

interface Ack {
  readonly txnId: TxId;
  readonly name: string;
  readonly heuristic: Outcome | null;
}

/**
 * Individual acknowledgements, written late and together, and only for
 * transactions that have not completed meanwhile (the completion write marks
 * every participant): on the normal path they cost nothing. One shared timer,
 * none per transaction. Losing one only repeats a phase-2 message after a
 * crash.
 */
export class AckQueue {
  readonly #pool: Pool;
  readonly #clock: Clock;
  readonly #pending = new Map<string, Ack>();
  #timer: Cancel | null = null;

  constructor(pool: Pool, clock: Clock) {
    this.#pool = pool;
    this.#clock = clock;
  }

  add(ack: Ack): void {
    this.#pending.set(`${ack.txnId}/${ack.name}`, ack);
    this.#timer ??= this.#clock.setTimeout(() => {
      this.#timer = null;
      this.flush().catch(() => undefined);
    }, ACK_FLUSH_MS);
  }

  /** The completion write carries these: nothing left to write for them. */
  drop(txnId: TxId, names: readonly string[]): void {
    for (const name of names) {
      this.#pending.delete(`${txnId}/${name}`);
    }
  }

  async flush(): Promise<void> {
    const acks = [...this.#pending.values()];
    this.#pending.clear();
    if (acks.length > 0) {
      await runQuery(this.#pool, 'recordAcks', [
        acks.map((a) => a.txnId),
        acks.map((a) => a.name),
        acks.map((a) => a.heuristic),
      ]);
    }
  }

  async close(): Promise<void> {
    this.#timer?.();
    this.#timer = null;
    await this.flush().catch(() => undefined);
  }
}
