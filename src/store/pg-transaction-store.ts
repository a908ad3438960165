import { randomUUID } from 'node:crypto';
import {
  InvalidArgumentError,
  InvalidTransitionError,
  ParticipantConflictError,
  TxExistsError,
  TxNotFoundError,
} from 'twopc/internal/contract/errors';
import { LIMITS } from 'twopc/internal/contract/limits';
import type { TxId, TxRecord } from '../core/tx-record.ts';
import { newParticipant } from '../core/tx-record.ts';
import { TxState } from 'twopc/internal/contract/tx-state';
import type { Outcome } from 'twopc/internal/contract/tx-state';
import type { Clock } from 'twopc/internal/time/clock';
import { SystemClock } from 'twopc/internal/time/system-clock';
import { AckQueue } from './ack-queue.ts';
import { StoreAdmission } from './admission.ts';
import type { AdmissionLimits } from './admission.ts';
import { Batcher } from './batcher.ts';
import { classifyStoreError, isRefusedData } from './pg-errors.ts';
import {
  writeBegins,
  writeCompletions,
  writeDecisions,
  writeEnlists,
  writePreparings,
} from './pg-batch-writes.ts';
import type { CompletionItem, EnlistKey, PrepareKey, PreparingRow } from './pg-batch-writes.ts';
import * as housekeeping from './pg-housekeeping.ts';
import type { StorePools } from './pg-pools.ts';
import { listStatement } from './pg-list.ts';
import { runQuery, runStatement } from './pg-run.ts';
import { toTxView } from './pg-rows.ts';
import { LogLayout, forcedLayout, layoutAmong } from './log-layout.ts';
import type { TxRow } from './pg-rows.ts';
import type {
  BeginInput,
  DecisionWrite,
  ListFilter,
  OperatorActionKind,
  Resolution,
  PreparingTx,
  TxAccess,
  TransactionStore,
  TxView,
} from './transaction-store.ts';

/** The PostgreSQL log. */
export class PgTransactionStore implements TransactionStore {
  readonly #pools: StorePools;
  // Group commit: concurrent calls share one statement (and, for commit
  // decisions, one fsync). Each flushes at once when idle, so a lone
  // transaction waits for nothing.
  readonly #decisions = new Batcher<TxRecord, DecisionWrite>(
    (txs) => writeDecisions(this.#pools.forced, txs),
    256,
    isRefusedData,
  );
  readonly #enlists = new Batcher<EnlistKey, Date | null>(
    (items) => writeEnlists(this.#pools.lazy, items),
    256,
    isRefusedData,
  );
  readonly #preparings = new Batcher<PrepareKey, PreparingRow | null>(
    (items) => writePreparings(this.#pools.lazy, items),
    256,
    isRefusedData,
  );
  readonly #durablePreparings = new Batcher<PrepareKey, PreparingRow | null>(
    (items) => writePreparings(this.#pools.forced, items),
    256,
    isRefusedData,
  );
  readonly #begins = new Batcher<BeginInput, Date | null>(
    (items) => writeBegins(this.#pools.lazy, items, this.#layout),
    256,
    isRefusedData,
  );
  readonly #completions = new Batcher<CompletionItem, boolean>(
    (items) => writeCompletions(this.#pools.lazy, items),
    256,
    isRefusedData,
  );
  readonly #forcedCompletions = new Batcher<CompletionItem, boolean>(
    (items) => writeCompletions(this.#pools.forced, items),
    256,
    isRefusedData,
  );

  readonly #acks: AckQueue;
  readonly #admission: StoreAdmission;
  /**
   * The layout new transactions are created in; rows of either are read
   * and updated. Rows until refreshCreatedLayout has seen which releases
   * share the log, unless forced.
   */
  #layout: LogLayout;
  /** The layout Begin creates whatever shares the log (internal), or null. */
  readonly #forcedLayout: LogLayout | null;
  /** Whether refreshCreatedLayout has run (its first answer is always told). */
  #layoutKnown = false;

  /**
   * @param layout the layout Begin creates whatever else shares the log
   *   (internal: see log-layout.ts); null to follow the live coordinators
   */
  constructor(
    pools: StorePools,
    clock: Clock = new SystemClock(),
    limits: AdmissionLimits = { maxPending: 10_000, stallMs: 5_000 },
    layout: LogLayout | null = forcedLayout(process.env),
  ) {
    this.#pools = pools;
    this.#forcedLayout = layout;
    this.#layout = layout ?? LogLayout.ROWS;
    this.#acks = new AckQueue(pools.lazy, clock);
    this.#admission = new StoreAdmission(clock, limits);
  }

  /** One log: every id is its own (version 4, as shard 0's). */
  newTxnId(): TxId {
    return randomUUID() as TxId;
  }

  /** @throws TxExistsError when the log already holds the id */
  async begin(input: BeginInput): Promise<{ leaseExpiresAt: Date }> {
    const leaseExpiresAt = await this.#admission.admit(() => this.#begins.submit(input));
    if (leaseExpiresAt === null) {
      throw new TxExistsError(input.txnId);
    }
    return { leaseExpiresAt };
  }

  async enlist(
    txnId: TxId,
    name: string,
    endpoint: string,
  ): Promise<{ newlyEnlisted: boolean; leaseExpiresAt: Date }> {
    const leaseExpiresAt = await this.#admission.admit(() =>
      this.#enlists.submit({ txnId, name, endpoint }),
    );
    if (leaseExpiresAt !== null) {
      return { newlyEnlisted: true, leaseExpiresAt };
    }
    // Not inserted: a repeat, a conflict, a finished or unknown transaction.
    return this.#explainEnlist(txnId, name, endpoint);
  }

  async #explainEnlist(
    txnId: TxId,
    name: string,
    endpoint: string,
  ): Promise<{ newlyEnlisted: boolean; leaseExpiresAt: Date }> {
    const tx = await this.#require(txnId);
    const existing = tx.participants.find((p) => p.name === name);
    if (existing !== undefined && existing.endpoint !== endpoint) {
      throw new ParticipantConflictError(txnId, name, existing.endpoint);
    }
    if (existing !== undefined) {
      return { newlyEnlisted: false, leaseExpiresAt: tx.leaseExpiresAt };
    }
    if (tx.state === TxState.ACTIVE && tx.participants.length >= LIMITS.PARTICIPANTS_MAX) {
      throw new InvalidArgumentError(
        'participant',
        `transaction ${txnId} already has ${LIMITS.PARTICIPANTS_MAX} participants, the limit`,
      );
    }
    throw new InvalidTransitionError(txnId, tx.state, 'participants can enlist only while ACTIVE');
  }

  async heartbeat(
    txnId: TxId,
    extendMs: number | null,
  ): Promise<{ state: TxState; leaseExpiresAt: Date }> {
    const rows = await this.#admission.admit(() =>
      runQuery<{ state: TxState; lease_expires_at: Date }>(this.#pools.lazy, 'heartbeat', [
        txnId,
        extendMs,
      ]),
    );
    const row = rows[0];
    if (row !== undefined) {
      return { state: row.state, leaseExpiresAt: row.lease_expires_at };
    }
    const tx = await this.#require(txnId);
    throw new InvalidTransitionError(
      txnId,
      tx.state,
      'only an ACTIVE transaction has a lease to extend',
    );
  }

  async startPreparing(
    txnId: TxId,
    ownerId: string,
    onePhaseAllowed: boolean,
    durable = false,
  ): Promise<PreparingTx | null> {
    const lazy = this.#pools.lazy;
    const row = await this.#admission.admit(() =>
      (durable ? this.#durablePreparings : this.#preparings).submit({
        txnId,
        ownerId,
        onePhaseAllowed,
      }),
    );
    if (row === null) {
      return null;
    }
    // An Enlist that committed while we waited for the row lock is counted
    // but not listed: read again, in a statement that sees it.
    const listed = row.participants.length === row.participant_count;
    const parts = listed
      ? row.participants
      : await runQuery<{ name: string; endpoint: string }>(lazy, 'participantsOf', [txnId]);
    return {
      txnId,
      state: TxState.ACTIVE,
      reason: null,
      onePhase: false,
      participants: parts.map((p) => newParticipant(p.name, p.endpoint)),
      traceContext: row.trace_context,
      storeIntact: row.token_ok,
      // Named at Begin, a folded participant has no enlisted_at; the rows
      // layout cannot tell, and neither can a list read again.
      enlistedAfterBegin: !listed || row.participants.some((p) => p.enlisted_at !== undefined),
    };
  }

  async recordDecision(tx: TxRecord): Promise<DecisionWrite> {
    return this.#decisions.submit(tx);
  }

  async confirmOnePhase(txnId: TxId): Promise<boolean> {
    const rows = await runQuery(this.#pools.forced, 'confirmOnePhase', [txnId]);
    return rows.length === 1;
  }

  async makeDurable(txnId: TxId): Promise<TxState | null> {
    const rows = await runQuery<{ state: TxState }>(this.#pools.forced, 'touch', [txnId]);
    return rows[0]?.state ?? null;
  }

  async ownStale(ownerId: string, idleMs: number, limit: number): Promise<TxView[]> {
    const ids = await runQuery<{ txn_id: string }>(this.#pools.lazy, 'ownStale', [
      ownerId,
      idleMs,
      limit,
    ]);
    return this.#getMany(ids.map((r) => r.txn_id));
  }

  /** Queued: see AckQueue. */
  async recordAck(txnId: TxId, name: string, heuristic: Outcome | null): Promise<void> {
    this.#acks.add({ txnId, name, heuristic });
  }

  async recordDeliveryFailure(
    txnId: TxId,
    name: string,
    attempts: number,
    error: string,
    retryInMs: number,
  ): Promise<void> {
    await runQuery(this.#pools.lazy, 'recordDeliveryFailure', [
      txnId,
      name,
      attempts,
      error.slice(0, 1000),
      retryInMs,
    ]);
  }

  async recordCompletion(tx: TxRecord, from: TxState, forced: boolean): Promise<boolean> {
    this.#acks.drop(
      tx.txnId,
      tx.participants.map((p) => p.name),
    );
    return (forced ? this.#forcedCompletions : this.#completions).submit({ tx, from });
  }

  async get(txnId: TxId): Promise<TxView | null> {
    const rows = await runQuery<TxRow>(this.#pools.lazy, 'get', [txnId]);
    return rows[0] === undefined ? null : toTxView(rows[0]);
  }

  async #require(txnId: TxId): Promise<TxView> {
    const tx = await this.get(txnId);
    if (tx === null) {
      throw new TxNotFoundError(txnId);
    }
    return tx;
  }

  async list(filter: ListFilter): Promise<TxView[]> {
    const rows = await runStatement<TxRow>(this.#pools.lazy, listStatement(filter), true);
    return rows.map(toTxView);
  }

  /** Forced: the abort is told to participants and to a client that asks. */
  async expireLeases(ownerId: string, limit: number): Promise<TxView[]> {
    const ids = await runQuery<{ txn_id: string }>(this.#pools.forced, 'expireLeases', [
      ownerId,
      limit,
    ]);
    return this.#getMany(ids.map((r) => r.txn_id));
  }

  async claimOrphans(ownerId: string, limit: number): Promise<TxView[]> {
    const ids = await runQuery<{ txn_id: string }>(this.#pools.lazy, 'claimOrphans', [
      ownerId,
      limit,
    ]);
    return this.#getMany(ids.map((r) => r.txn_id));
  }

  async #getMany(ids: string[]): Promise<TxView[]> {
    if (ids.length === 0) {
      return [];
    }
    return (await runQuery<TxRow>(this.#pools.lazy, 'getMany', [ids])).map(toTxView);
  }

  registerCoordinator(id: string, name: string, leaseMs: number): Promise<void> {
    return housekeeping.registerCoordinator(this.#pools, id, name, leaseMs);
  }

  renewCoordinator(id: string, leaseMs: number): Promise<boolean> {
    return housekeeping.renewCoordinator(this.#pools, id, leaseMs);
  }

  async refreshCreatedLayout(): Promise<{ layout: LogLayout; versions: (string | null)[] } | null> {
    if (this.#forcedLayout !== null) {
      return null;
    }
    const versions = await housekeeping.liveVersions(this.#pools);
    const layout = layoutAmong(versions);
    if (layout === this.#layout && this.#layoutKnown) {
      return null;
    }
    this.#layout = layout;
    this.#layoutKnown = true;
    return { layout, versions: [...new Set(versions)] };
  }

  deregisterCoordinator(id: string): Promise<void> {
    return housekeeping.deregisterCoordinator(this.#pools, id);
  }

  deleteFinished(retentionMs: number, limit: number): Promise<number> {
    return housekeeping.deleteFinished(this.#pools, retentionMs, limit);
  }

  claimResolution(resolution: Resolution): Promise<boolean> {
    return housekeeping.claimResolution(this.#pools, resolution);
  }

  recordOperatorAction(
    txnId: TxId,
    action: OperatorActionKind,
    participant: string | null,
    detail: string,
    principal: string | null,
  ): Promise<void> {
    return housekeeping.recordOperatorAction(
      this.#pools,
      txnId,
      action,
      participant,
      detail,
      principal,
    );
  }

  /** Admitted as new work: with the log slow, a tenant check must not queue either. */
  access(txnId: TxId, participant: string | null): Promise<TxAccess | null> {
    return this.#admission.admit(() => housekeeping.access(this.#pools, txnId, participant));
  }

  openCount(tenant: string | null): Promise<number> {
    return housekeeping.openCount(this.#pools, tenant);
  }

  backlog(stuckAfterMs: number): Promise<{ stuck: number; inDoubt: number }> {
    return housekeeping.backlog(this.#pools, stuckAfterMs);
  }

  incarnation(): Promise<string> {
    return housekeeping.incarnation(this.#pools);
  }

  admissionStats(): { pending: number; refused: number } {
    return { pending: this.#admission.pending, refused: this.#admission.refused };
  }

  poolStats(): { pool: string; total: number; idle: number; waiting: number }[] {
    return (['forced', 'lazy'] as const).map((pool) => {
      const p = this.#pools[pool];
      return { pool, total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount };
    });
  }

  async ping(): Promise<void> {
    try {
      await this.#pools.lazy.query('SELECT 1');
    } catch (err) {
      throw classifyStoreError(err);
    }
  }

  async close(): Promise<void> {
    await this.#acks.close();
    await Promise.all([this.#pools.forced.end(), this.#pools.lazy.end()]);
  }
}
