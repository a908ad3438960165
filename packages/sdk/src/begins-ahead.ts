import * as grpc from '@grpc/grpc-js';
import { isClientTxnId } from './contract/client-txn-id.ts';
import type { Clock } from './time/clock.ts';
import { sleep } from './time/clock.ts';
import type { BeginRequest } from './wire/generated/twopc/v1/BeginRequest.ts';

/** A participant as named in Begin or Enlist. */
interface Address {
  readonly name: string;
  readonly endpoint: string;
}

/** What Begin takes. */
export interface BeginOptions {
  /** The lease (ms); 0 or absent: the coordinator's default. */
  readonly timeoutMs?: number;
  readonly labels?: Record<string, string>;
  /** Participants enlisted at once. */
  readonly participants?: Address[];
}

/** What Begin answers: the id and the lease's end. */
export interface BeginAnswer {
  readonly txnId: string;
  readonly leaseExpiresAt: Date | null;
}

/** A Begin request proposing `txnId` (a coordinator of an older release ignores it). */
export function beginRequest(options: BeginOptions, txnId: string): BeginRequest {
  return {
    timeoutMs: options.timeoutMs ?? 0,
    labels: options.labels ?? {},
    participants: options.participants ?? [],
    txnId,
  };
}

/** Codes after which a call may still have reached the log (its answer lost). */
const AMBIGUOUS = new Set<number>([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.CANCELLED,
  grpc.status.INTERNAL,
  grpc.status.UNKNOWN,
]);

/** Whether a failed Begin may have written its row all the same. */
export function mayHaveLanded(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && AMBIGUOUS.has(code);
}

/**
 * How long a client waits for Begin again once a coordinator showed that it
 * does not take client-made ids (or answered a Commit sent behind a Begin
 * without waiting for the row): a fleet in a rolling upgrade.
 */
const DISTRUST_MS = 5 * 60_000;

/** Failed Begins remembered, so that later calls naming the id fail alike. */
const FAILED_MAX = 10_000;

/**
 * A client's Begins sent ahead (TwopcClient.beginAhead): which are under
 * way, which failed, and whether the coordinator takes client-made ids.
 */
export class BeginsAhead {
  readonly #pending = new Map<string, Promise<BeginAnswer>>();
  #trusted = false;
  /** Until when (Date.now()) Begins are not sent ahead, since a coordinator showed it does not take client ids. */
  #distrustUntil = -Infinity;

  /**
   * Whether Begins go ahead: a Begin answered with the proposed id showed
   * that the coordinator takes client-made ids, and for DISTRUST_MS no
   * coordinator (behind the same address: a fleet mid-upgrade) showed
   * otherwise.
   */
  get trusted(): boolean {
    return this.#trusted && Date.now() >= this.#distrustUntil;
  }

  /** Records what a Begin's answer (or a Commit sent ahead of it) showed. */
  learn(honoured: boolean): void {
    this.#trusted = honoured;
    if (!honoured) {
      this.#distrustUntil = Date.now() + DISTRUST_MS;
    }
  }

  /**
   * Tracks a Begin under way. A Begin that lands is forgotten; one that
   * fails is remembered (bounded) so that later calls fail with its error.
   */
  add(txnId: string, begun: Promise<BeginAnswer>): Promise<BeginAnswer> {
    this.#pending.set(txnId, begun);
    begun.then(
      () => this.#pending.delete(txnId),
      () => {
        if (this.#pending.size > FAILED_MAX) {
          const oldest = this.#pending.keys().next();
          if (oldest.done !== true) {
            this.#pending.delete(oldest.value);
          }
        }
      },
    );
    return begun;
  }

  /** Whether a Begin of `txnId` sent ahead is under way or failed. */
  isPending(txnId: string): boolean {
    return this.#pending.has(txnId);
  }

  /** Resolves once the Begin of `txnId` sent ahead (if any) landed. @throws Begin's error */
  async begun(txnId: string): Promise<void> {
    await this.#pending.get(txnId);
  }
}

/**
 * How long a call naming a client-made id is tried again after NOT_FOUND: a
 * coordinator of an older release answers it at once, though the Begin
 * (taken by another coordinator) may still be being written.
 */
const YOUNG_RETRY_MS = 2_000;

/** Whether a call failed because the coordinator did not know the transaction. */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === grpc.status.NOT_FOUND;
}

/**
 * Runs a call naming `txnId`; a NOT_FOUND for a client-made id is tried
 * again for up to YOUNG_RETRY_MS, in case its Begin had not landed yet.
 */
export async function retryYoung<T>(
  clock: Clock,
  txnId: string,
  call: () => Promise<T>,
): Promise<T> {
  const until = clock.now() + YOUNG_RETRY_MS;
  let pauseMs = 5;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!isNotFound(err) || !isClientTxnId(txnId) || clock.now() + pauseMs > until) {
        throw err;
      }
    }
    await sleep(clock, pauseMs);
    pauseMs = Math.min(pauseMs * 2, 200);
  }
}
