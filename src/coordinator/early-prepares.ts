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
 * The participants named at Begin of transactions begun through this
 * process, so that their Commit can send Prepare while the commit claim
 * (ACTIVE → PREPARING) is being written, instead of after it.
 *
 * Why that is safe: a claim that fails leaves branches prepared that no run
 * here will finish. Each is finished by whoever decided the transaction
 * (an abort tells every participant that did not vote; a participant that
 * heard the Abort first refuses the late Prepare), or, when the log lost
 * the transaction altogether, by the participant itself, which asks
 * GetTransaction about a branch prepared for long without an outcome and
 * hears NOT_FOUND: aborted (presumed abort).
 *
 * Only participants named at Begin: they are in the transaction's row, so
 * whoever finds the row finds them. An Enlist is written unforced; a
 * participant enlisted (here or elsewhere) gets its Prepare only once a
 * forced write after its Enlist has landed (see Coordinator#runForCommit):
 * a log crash that lost the Enlist but kept the row would otherwise leave
 * a prepared branch no abort ever reaches (DESIGN §3 rules 2 and 4).
 */
export class KnownParticipants {
  readonly #known = new Map<TxId, KnownTx>();

  /** Remembers a transaction's participants as named at Begin. */
  begun(txnId: TxId, participants: readonly { name: string; endpoint: string }[]): void {
    this.#known.set(txnId, { named: [...participants], enlisted: [] });
    if (this.#known.size > MAX_KNOWN) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) {
        this.#known.delete(oldest);
      }
    }
  }

  /**
   * Notes that a participant enlisted here in a transaction begun here: it
   * is not one to prepare early (its Enlist is unforced), and the claim is
   * forced instead.
   */
  enlisted(txnId: TxId, name: string, endpoint: string): void {
    const tx = this.#known.get(txnId);
    if (tx !== undefined && !tx.enlisted.some((p) => p.name === name)) {
      tx.enlisted.push({ name, endpoint });
    }
  }

  /** What is known of a transaction (and forgets it). */
  take(txnId: TxId): KnownTx | null {
    const tx = this.#known.get(txnId) ?? null;
    this.#known.delete(txnId);
    return tx;
  }
}

/**
 * Whether a transaction of `count` participants sends Prepare: a lone one
 * is committed in one phase where that is allowed (its claim is confirmed
 * by a forced write before the Commit leaves).
 */
export function prepares(count: number, onePhaseAllowed: boolean): boolean {
  return count >= 2 || (count === 1 && !onePhaseAllowed);
}

/** A transaction begun here: its participants named at Begin, and those enlisted here since. */
export interface KnownTx {
  readonly named: readonly { name: string; endpoint: string }[];
  readonly enlisted: { name: string; endpoint: string }[];
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
