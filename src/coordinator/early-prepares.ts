import type { Context, Span } from '@opentelemetry/api';
import { trace } from '@opentelemetry/api';
import type { TxId } from '../core/tx-record.ts';
import { failpoint } from '../fault/failpoints.ts';
import type { ParticipantCall, PrepareResult } from '../participant/participant-client.ts';
import { ATTR, SPAN, headersFor, tracer } from 'twopc/internal/telemetry/tracing';
import type { RunDeps } from './run-deps.ts';

/** A Prepare already on its way, with what its run needs to finish it. */
export interface SentPrepare {
  readonly span: Span;
  readonly call: ParticipantCall;
  readonly started: number;
  readonly answer: Promise<PrepareResult>;
}

/** At most this many transactions' participants remembered for an early Prepare. */
const MAX_KNOWN = 100_000;

/**
 * The participants of transactions begun (and enlisted) through this
 * process, so that their Commit can send Prepare while the commit claim
 * (ACTIVE → PREPARING) is being written, instead of after it.
 *
 * Why that is safe: a claim that fails leaves branches prepared that no run
 * here will finish. Each is finished by whoever decided the transaction
 * (an abort tells every participant that did not vote; a participant that
 * heard the Abort first refuses the late Prepare), or, when the log lost
 * the transaction altogether, by the participant itself, which asks
 * GetTransaction about a branch prepared for long without an outcome and
 * hears NOT_FOUND: aborted (presumed abort). A participant enlisted through
 * another coordinator is not known here: it gets its Prepare after the
 * claim, from the list the claim returns.
 */
export class KnownParticipants {
  readonly #known = new Map<TxId, { name: string; endpoint: string }[]>();

  /** Remembers a transaction's participants as named at Begin. */
  begun(txnId: TxId, participants: readonly { name: string; endpoint: string }[]): void {
    this.#known.set(txnId, [...participants]);
    if (this.#known.size > MAX_KNOWN) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) {
        this.#known.delete(oldest);
      }
    }
  }

  /** Adds a participant enlisted here to a transaction begun here. */
  enlisted(txnId: TxId, name: string, endpoint: string): void {
    const list = this.#known.get(txnId);
    if (list !== undefined && !list.some((p) => p.name === name)) {
      list.push({ name, endpoint });
    }
  }

  /** The participants known for a transaction (and forgets them). */
  take(txnId: TxId): { name: string; endpoint: string }[] | null {
    const list = this.#known.get(txnId) ?? null;
    this.#known.delete(txnId);
    return list;
  }
}

/** Prepares sent before the claim; the run takes them, the rest are abandoned. */
export class EarlyPrepares {
  readonly #sent = new Map<string, SentPrepare>();

  /**
   * Sends Prepare to each participant (two or more: a lone one is committed
   * in one phase) under the transaction's trace context.
   */
  static async send(
    deps: RunDeps,
    txnId: TxId,
    ctx: Context,
    participants: readonly { name: string; endpoint: string }[],
  ): Promise<EarlyPrepares> {
    const early = new EarlyPrepares();
    for (const p of participants) {
      const span = tracer().startSpan(
        SPAN.PREPARE,
        {
          attributes: {
            [ATTR.TXN_ID]: txnId,
            [ATTR.PARTICIPANT]: p.name,
            [ATTR.ENDPOINT]: p.endpoint,
            [ATTR.ATTEMPT]: 1,
            'twopc.early': true,
          },
        },
        ctx,
      );
      const call: ParticipantCall = {
        endpoint: p.endpoint,
        txnId,
        name: p.name,
        timeoutMs: deps.config.prepareTimeoutMs,
        traceHeaders: headersFor(trace.setSpan(ctx, span)),
      };
      const answer = deps.participants.prepare(call);
      answer.catch(() => undefined); // read by the run that takes it, if any
      early.#sent.set(p.name, { span, call, started: deps.clock.now(), answer });
      await failpoint('after_prepare_sent');
    }
    return early;
  }

  /** The Prepare sent to this participant at this endpoint, if any (taken once). */
  take(name: string, endpoint: string): SentPrepare | null {
    const sent = this.#sent.get(name);
    this.#sent.delete(name);
    return sent !== undefined && sent.call.endpoint === endpoint ? sent : null;
  }

  /**
   * Prepares no run took (the claim failed, or the transaction aborted):
   * their spans end; returns where they went (see followAbandoned).
   */
  abandon(): { name: string; endpoint: string }[] {
    const went = [...this.#sent.values()].map((s) => ({
      name: s.call.name,
      endpoint: s.call.endpoint,
    }));
    for (const sent of this.#sent.values()) {
      sent.span.setAttribute('twopc.abandoned', true);
      sent.span.end();
    }
    this.#sent.clear();
    return went;
  }
}
