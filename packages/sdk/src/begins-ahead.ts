import * as grpc from '@grpc/grpc-js';
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

/** Failed Begins remembered, so that later calls naming the id fail alike. */
const FAILED_MAX = 10_000;

/**
 * A client's Begins sent ahead (TwopcClient.beginAhead): which are under
 * way, which failed, and whether the coordinator takes client-made ids.
 */
export class BeginsAhead {
  readonly #pending = new Map<string, Promise<BeginAnswer>>();
  #trusted = false;

  /** Whether the last Begin answered showed that the coordinator takes client-made ids. */
  get trusted(): boolean {
    return this.#trusted;
  }

  /** Records what a Begin's answer showed. */
  learn(honoured: boolean): void {
    this.#trusted = honoured;
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

  /** Resolves once the Begin of `txnId` sent ahead (if any) landed. @throws Begin's error */
  async begun(txnId: string): Promise<void> {
    await this.#pending.get(txnId);
  }
}
