import { stateFromWire, wireStateName } from './wire/wire-state.ts';
import * as grpc from '@grpc/grpc-js';
import type { ViewState } from './contract/tx-state.ts';
import { Outcome } from './contract/tx-state.ts';
import type { CoordinatorClient } from './wire/generated/twopc/v1/Coordinator.ts';
import type { Transaction__Output } from './wire/generated/twopc/v1/Transaction.ts';
import type { TransactionState } from './wire/generated/twopc/v1/TransactionState.ts';
import { fromTimestamp, loadTwopcProto } from './wire/proto.ts';
import { openConnection } from './connection.ts';
import { newClientTxnId } from './contract/client-txn-id.ts';
import { BeginsAhead, beginRequest, mayHaveLanded } from './begins-ahead.ts';
import type { BeginAnswer, BeginOptions } from './begins-ahead.ts';
import type { Connection, ConnectionOptions, CoordinatorAddress, Invoke } from './connection.ts';

/** Begins of one client-made id before the transaction fails (see beginAhead). */
const AHEAD_ATTEMPTS = 3;

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
  readonly #ahead = new BeginsAhead();

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

  /**
   * Starts a transaction; resolves once the coordinator has written it. The
   * id is made here and proposed to the coordinator (so a retried Begin is
   * answered as the first); the answered id is the transaction's.
   */
  async begin(options: BeginOptions = {}): Promise<BeginAnswer> {
    const proposed = newClientTxnId();
    const res = await this.#call<{
      txnId: string;
      leaseExpiresAt: { seconds: string; nanos: number } | null;
    }>((md, o, cb) => this.#stub.begin(beginRequest(options, proposed), md, o, cb));
    // An older coordinator, or one whose ids name a shard of its log,
    // answers an id of its own: beginAhead() then waits for Begin.
    this.#ahead.learn(res.txnId === proposed);
    return { txnId: res.txnId, leaseExpiresAt: fromTimestamp(res.leaseExpiresAt) };
  }

  /**
   * Starts a transaction and gives its id before the coordinator has written
   * it, so the caller's first calls to its services overlap Begin's write.
   * Every later call of this client naming the id (enlist, heartbeat,
   * commit, abort, get) waits for Begin, or fails with Begin's error; the
   * coordinator too answers nothing about the id before its row is written.
   * Used only once the coordinator has shown that it takes client-made ids
   * (a first begin() or beginAhead() answered with the proposed id);
   * until then, and after a coordinator that does not, this waits for
   * Begin like begin(). `begun` settles with Begin's answer.
   */
  async beginAhead(
    options: BeginOptions = {},
  ): Promise<{ txnId: string; begun: Promise<BeginAnswer> }> {
    if (!this.#ahead.trusted) {
      const answer = await this.begin(options);
      return { txnId: answer.txnId, begun: Promise.resolve(answer) };
    }
    const txnId = newClientTxnId();
    return { txnId, begun: this.#ahead.add(txnId, this.#beginAs(txnId, options)) };
  }

  /**
   * Begin of a client-made id. A coordinator that answers another id (an
   * older release in a fleet mid-upgrade) did not begin this one: its
   * transaction is aborted at once, and Begin goes again (another
   * coordinator may take the id), up to AHEAD_ATTEMPTS times.
   * @throws Error when no coordinator took the id; the transaction was not begun
   */
  async #beginAs(txnId: string, options: BeginOptions): Promise<BeginAnswer> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.#call<{
        txnId: string;
        leaseExpiresAt: { seconds: string; nanos: number } | null;
      }>((md, o, cb) => this.#stub.begin(beginRequest(options, txnId), md, o, cb));
      this.#ahead.learn(res.txnId === txnId);
      if (res.txnId === txnId) {
        return { txnId, leaseExpiresAt: fromTimestamp(res.leaseExpiresAt) };
      }
      const other = res.txnId;
      this.#call((md, o, cb) =>
        this.#stub.abort({ txnId: other, reason: 'begun in place of a client-made id' }, md, o, cb),
      ).catch(() => undefined); // else its lease ends it
      if (attempt >= AHEAD_ATTEMPTS) {
        throw new Error(
          `the coordinator answered Begin with id ${other}, not the proposed ${txnId}: it does not take client-made ids (an older release, or a sharded log); transaction ${txnId} was not begun`,
        );
      }
    }
  }

  /** Enlists a participant (idempotent per name). */
  async enlist(
    txnId: string,
    participant: ParticipantAddress,
  ): Promise<{ newlyEnlisted: boolean }> {
    await this.#ahead.begun(txnId);
    return this.#call((md, o, cb) => this.#stub.enlist({ txnId, participant }, md, o, cb));
  }

  /** Extends the lease (0: by the lease given at Begin). */
  async heartbeat(
    txnId: string,
    extendMs = 0,
  ): Promise<{ state: ViewState; leaseExpiresAt: Date | null }> {
    await this.#ahead.begun(txnId);
    const res = await this.#call<{
      state: string;
      leaseExpiresAt: { seconds: string; nanos: number } | null;
    }>((md, o, cb) => this.#stub.heartbeat({ txnId, extendMs }, md, o, cb));
    return { state: toState(res.state), leaseExpiresAt: fromTimestamp(res.leaseExpiresAt) };
  }

  /**
   * Commits: resolves with COMMITTED or ABORTED once the decision is durable.
   * Of a transaction begun by beginAhead() whose Begin is still under way,
   * Commit goes out at once and the coordinator runs it once Begin's row
   * is written; its answer is the log's. Should Begin fail, so does this
   * (with Begin's error), unless the log holds a decision of the id.
   */
  async commit(
    txnId: string,
    options: { waitForAcks?: boolean; timeoutMs?: number } = {},
  ): Promise<CommitAnswer> {
    const req = { txnId, waitForAcks: options.waitForAcks ?? false };
    const pending = this.#ahead.isPending(txnId);
    const begun = this.#ahead.begun(txnId);
    const sent = this.#call<{ outcome: string; reason: string; state: string }>(
      (md, o, cb) => this.#stub.commit(req, md, o, cb),
      options.timeoutMs,
    );
    const [b, c] = await Promise.allSettled([begun, sent]);
    if (c.status === 'rejected' && b.status === 'fulfilled' && pending) {
      // Begin has landed, and the Commit sent behind it failed: it reached a
      // coordinator that did not wait for the row (an older release, which
      // answers NOT_FOUND, or waits on the row as another's until the
      // deadline). Asked again now that the row is there, and no Begin is
      // sent ahead for a while.
      this.#ahead.learn(false);
      return this.commit(txnId, options);
    }
    if (c.status === 'rejected') {
      throw b.status === 'rejected' ? b.reason : c.reason;
    }
    if (b.status === 'rejected' && !mayHaveLanded(b.reason)) {
      throw b.reason;
    }
    const res = c.value;
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
    await this.#ahead.begun(txnId);
    const res = await this.#call<{ outcome: string; reason: string; state: string }>((md, o, cb) =>
      this.#stub.abort({ txnId, reason }, md, o, cb),
    );
    return { outcome: toOutcome(res.outcome), reason: res.reason, state: toState(res.state) };
  }

  /** One transaction as the coordinator's log shows it. */
  async get(txnId: string): Promise<TransactionView> {
    await this.#ahead.begun(txnId);
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
