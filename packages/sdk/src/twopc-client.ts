import { stateFromWire, wireStateName } from './wire/wire-state.ts';
import * as grpc from '@grpc/grpc-js';
import type { ViewState } from './contract/tx-state.ts';
import { Outcome } from './contract/tx-state.ts';
import type { CoordinatorClient } from './wire/generated/twopc/v1/Coordinator.ts';
import type { Transaction__Output } from './wire/generated/twopc/v1/Transaction.ts';
import type { TransactionState } from './wire/generated/twopc/v1/TransactionState.ts';
import { fromTimestamp, loadTwopcProto } from './wire/proto.ts';
import { openConnection } from './connection.ts';
import type { Connection, ConnectionOptions, CoordinatorAddress, Invoke } from './connection.ts';

/** The gRPC metadata key that carries the transaction id to participants. */
export const TXN_ID_METADATA = 'twopc-txn-id';

/** How the client reaches the coordinator: deadlines, retries, TLS and a bearer token. */
export type TwopcClientOptions = ConnectionOptions;

/** Filters of ListTransactions. */
export interface ListOptions {
  readonly states?: ViewState[];
  readonly minAgeSeconds?: number;
  readonly pageSize?: number;
  readonly pageToken?: string;
  readonly stuckOnly?: boolean;
  readonly heuristicOnly?: boolean;
  readonly labels?: Record<string, string>;
}

/** A ListTransactions request from its options (absent filters left open). */
export function listRequest(
  options: ListOptions,
): Omit<Required<ListOptions>, 'states'> & { states: TransactionState[] } {
  return {
    states: (options.states ?? []).map(wireStateName),
    minAgeSeconds: options.minAgeSeconds ?? 0,
    pageSize: options.pageSize ?? 0,
    pageToken: options.pageToken ?? '',
    stuckOnly: options.stuckOnly ?? false,
    heuristicOnly: options.heuristicOnly ?? false,
    labels: options.labels ?? {},
  };
}

/**
 * The answer of Abort: the outcome the log holds. PENDING only for a
 * transaction in doubt (a one-phase Commit whose answer was lost).
 */
export interface OutcomeAnswer {
  readonly outcome: Outcome;
  readonly reason: string;
  readonly state: ViewState;
}

/** The answer of Commit: a coordinator answers only once the decision is durable. */
export interface CommitAnswer extends OutcomeAnswer {
  readonly outcome: 'COMMITTED' | 'ABORTED';
}

export interface ParticipantAddress {
  readonly name: string;
  readonly endpoint: string;
}

/** Metadata that carries a transaction id to a participant service. */
export function txnMetadata(txnId: string, md: grpc.Metadata = new grpc.Metadata()): grpc.Metadata {
  md.set(TXN_ID_METADATA, txnId);
  return md;
}

export function toOutcome(wire: string): Outcome {
  return wire === 'OUTCOME_COMMITTED'
    ? Outcome.COMMITTED
    : wire === 'OUTCOME_ABORTED'
      ? Outcome.ABORTED
      : Outcome.PENDING;
}

/**
 * A wire TransactionState as the SDK's ViewState (either spelling, see
 * stateFromWire).
 * @throws Error for UNSPECIFIED or a state this SDK does not know
 */
export function toState(wire: string): ViewState {
  const state = stateFromWire(wire);
  if (state === null) {
    throw new Error(`unknown transaction state ${wire}`);
  }
  return state;
}

/**
 * A transaction as the SDK reports it: the wire message, with its state as
 * a ViewState (IN_DOUBT: see ViewState).
 */
export type TransactionView = Omit<Transaction__Output, 'state'> & { readonly state: ViewState };

/** The SDK's view of a wire Transaction. */
export function toView(tx: Transaction__Output): TransactionView {
  return { ...tx, state: toState(tx.state) };
}

/**
 * A typed client of the coordinator. Calls failing with UNAVAILABLE (the
 * coordinator restarting, its store briefly away) are retried with backoff,
 * and RESOURCE_EXHAUSTED with a retry hint after the hinted delay; every
 * twopc call is safe to repeat. Retries stay within the call's deadline
 * (`callTimeoutMs`, or a call's own `timeoutMs`): once the attempts or the
 * time are spent the call rejects with the last gRPC error.
 */
export class TwopcClient {
  readonly #conn: Connection<CoordinatorClient>;

  /** @throws Error when the TLS files cannot be used, or a token is given without TLS */
  constructor(address: CoordinatorAddress, options: TwopcClientOptions = {}) {
    this.#conn = openConnection(loadTwopcProto().twopc.v1.Coordinator, address, options);
  }

  get #stub(): CoordinatorClient {
    return this.#conn.stub;
  }

  #call<Res>(invoke: Invoke<Res>, timeoutMs?: number): Promise<Res> {
    return this.#conn.call(invoke, timeoutMs);
  }

  /** Starts a transaction. */
  async begin(
    options: {
      timeoutMs?: number;
      labels?: Record<string, string>;
      participants?: ParticipantAddress[];
    } = {},
  ): Promise<{ txnId: string; leaseExpiresAt: Date | null }> {
    const req = {
      timeoutMs: options.timeoutMs ?? 0,
      labels: options.labels ?? {},
      participants: options.participants ?? [],
    };
    const res = await this.#call<{
      txnId: string;
      leaseExpiresAt: { seconds: string; nanos: number } | null;
    }>((md, o, cb) => this.#stub.begin(req, md, o, cb));
    return { txnId: res.txnId, leaseExpiresAt: fromTimestamp(res.leaseExpiresAt) };
  }

  /** Enlists a participant (idempotent per name). */
  async enlist(
    txnId: string,
    participant: ParticipantAddress,
  ): Promise<{ newlyEnlisted: boolean }> {
    return this.#call((md, o, cb) => this.#stub.enlist({ txnId, participant }, md, o, cb));
  }

  /** Extends the lease (0: by the lease given at Begin). */
  async heartbeat(
    txnId: string,
    extendMs = 0,
  ): Promise<{ state: ViewState; leaseExpiresAt: Date | null }> {
    const res = await this.#call<{
      state: string;
      leaseExpiresAt: { seconds: string; nanos: number } | null;
    }>((md, o, cb) => this.#stub.heartbeat({ txnId, extendMs }, md, o, cb));
    return { state: toState(res.state), leaseExpiresAt: fromTimestamp(res.leaseExpiresAt) };
  }

  /** Commits: resolves with COMMITTED or ABORTED once the decision is durable. */
  async commit(
    txnId: string,
    options: { waitForAcks?: boolean; timeoutMs?: number } = {},
  ): Promise<CommitAnswer> {
    const req = { txnId, waitForAcks: options.waitForAcks ?? false };
    const res = await this.#call<{ outcome: string; reason: string; state: string }>(
      (md, o, cb) => this.#stub.commit(req, md, o, cb),
      options.timeoutMs,
    );
    const outcome = toOutcome(res.outcome);
    if (outcome === Outcome.PENDING) {
      throw new Error(
        `the coordinator answered Commit of ${txnId} without a decision (${res.state}); ask GetTransaction`,
      );
    }
    return { outcome, reason: res.reason, state: toState(res.state) };
  }

  /** Aborts a transaction without a commit decision. */
  async abort(txnId: string, reason = ''): Promise<OutcomeAnswer> {
    const res = await this.#call<{ outcome: string; reason: string; state: string }>((md, o, cb) =>
      this.#stub.abort({ txnId, reason }, md, o, cb),
    );
    return { outcome: toOutcome(res.outcome), reason: res.reason, state: toState(res.state) };
  }

  /** One transaction as the coordinator's log shows it. */
  async get(txnId: string): Promise<TransactionView> {
    return toView(
      await this.#call<Transaction__Output>((md, o, cb) =>
        this.#stub.getTransaction({ txnId }, md, o, cb),
      ),
    );
  }

  /** The caller's tenant's transactions, newest first. */
  async list(
    options: ListOptions = {},
  ): Promise<{ transactions: TransactionView[]; nextPageToken: string }> {
    const req = listRequest(options);
    const res = await this.#call<{ transactions: Transaction__Output[]; nextPageToken: string }>(
      (md, o, cb) => this.#stub.listTransactions(req, md, o, cb),
    );
    return { transactions: res.transactions.map(toView), nextPageToken: res.nextPageToken };
  }

  close(): void {
    this.#conn.close();
  }
}
