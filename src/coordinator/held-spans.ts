import type { Span } from '@opentelemetry/api';
import type { TxId } from '../core/tx-record.ts';

/** At most this many transaction spans wait in memory for their Commit. */
const MAX_HELD = 100_000;

/**
 * Transaction spans begun here whose transaction is still ACTIVE. The run
 * that commits or aborts the transaction takes its span and ends it. A
 * transaction committed by another coordinator never comes back for its
 * span: the oldest spans are ended (marked handed over) beyond the cap.
 */
export class HeldSpans {
  readonly #spans = new Map<TxId, Span>();

  hold(txnId: TxId, span: Span): void {
    this.#spans.set(txnId, span);
    for (const [id, old] of this.#spans) {
      if (this.#spans.size <= MAX_HELD) {
        break;
      }
      old.setAttribute('twopc.handed_over', true);
      old.end();
      this.#spans.delete(id);
    }
  }

  has(txnId: TxId): boolean {
    return this.#spans.has(txnId);
  }

  /** The span of a transaction, if held here (left in place). */
  peek(txnId: TxId): Span | null {
    return this.#spans.get(txnId) ?? null;
  }

  /** Removes and returns the span of a transaction, if held here. */
  take(txnId: TxId): Span | null {
    const span = this.#spans.get(txnId) ?? null;
    this.#spans.delete(txnId);
    return span;
  }

  endAll(why: string): void {
    for (const span of this.#spans.values()) {
      span.setAttribute('twopc.ended_by', why);
      span.end();
    }
    this.#spans.clear();
  }
}
