import type { Pool, QueryResultRow } from 'pg';
import {
  InvalidArgumentError,
  InvalidTransitionError,
  ParticipantConflictError,
  TxNotFoundError,
} from '../core/errors.ts';
import { LIMITS } from '../core/limits.ts';
import type { TxId, TxRecord } from '../core/tx-record.ts';
import { newParticipant } from '../core/tx-record.ts';
import { TxState } from '../core/tx-state.ts';
import type { Outcome } from '../core/tx-state.ts';
import type { Cancel, Clock } from '../time/clock.ts';
import { SystemClock } from '../time/system-clock.ts';
import { Batcher } from './batcher.ts';
import { classifyStoreError, isRetryable } from './pg-errors.ts';
import { SQL } from './pg-queries.ts';
import type { QueryName } from './pg-queries.ts';
import { participantArrays, toTxView } from './pg-rows.ts';
import type { TxRow } from './pg-rows.ts';
import type { BeginInput, DecisionInput, ListFilter, TransactionStore, TxView } from './transaction-store.ts';

/** How long an individual acknowledgement waits for its transaction's completion write. */
const ACK_FLUSH_MS = 1_000;

interface PrepareKey {
  readonly txnId: TxId;
  readonly ownerId: string;
  readonly onePhaseAllowed: boolean;
}

interface PreparingRow {
  readonly one_phase: boolean;
  readonly trace_context: string | null;
  readonly participant_count: number;
  readonly participants: { name: string; endpoint: string }[];
}

/** The two connection pools of the store. */
export interface StorePools {
  /** synchronous_commit = on: the commit decision. */
  readonly forced: Pool;
  /** synchronous_commit = off: every write that presumed abort makes safe to lose. */
  readonly lazy: Pool;
}

/** The PostgreSQL log. */
export class PgTransactionStore implements TransactionStore {
  readonly #pools: StorePools;
  // Group commit: concurrent decisions share one statement (and, for
  // commits, one fsync); so do completions.
  readonly #forcedDecisions = new Batcher<TxRecord, boolean>((txs) => this.#writeDecisions(this.#pools.forced, txs));
  readonly #lazyDecisions = new Batcher<TxRecord, boolean>((txs) => this.#writeDecisions(this.#pools.lazy, txs));
  readonly #enlists = new Batcher<{ txnId: TxId; name: string; endpoint: string }, Date | null>((items) => this.#writeEnlists(items));
  readonly #preparings = new Batcher<PrepareKey, PreparingRow | null>((items) => this.#writePreparings(items));
  readonly #begins = new Batcher<BeginInput, Date>((items) => this.#writeBegins(items));
  readonly #completions = new Batcher<{ tx: TxRecord; from: TxState }, boolean>((items) => this.#writeCompletions(items));

  readonly #clock: Clock;
  readonly #pendingAcks = new Map<string, { txnId: TxId; name: string; heuristic: Outcome | null }>();
  #ackFlush: Cancel | null = null;

  constructor(pools: StorePools, clock: Clock = new SystemClock()) {
    this.#pools = pools;
    this.#clock = clock;
  }

  /**
   * Runs a named statement. A deadlock or serialization failure (two batches
   * meeting on a row) is retried a few times: every statement here is safe
   * to repeat, being conditional.
   */
  async #run<R extends QueryResultRow>(pool: Pool, name: QueryName, values: unknown[]): Promise<R[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await pool.query<R>({ name: `twopc_${name}`, text: SQL[name], values });
        return result.rows;
      } catch (err) {
        if (attempt >= 3 || !isRetryable(err)) {
          throw classifyStoreError(err);
        }
      }
    }
  }

  async begin(input: BeginInput): Promise<{ leaseExpiresAt: Date }> {
    return { leaseExpiresAt: await this.#begins.submit(input) };
  }

  async #writeBegins(batch: BeginInput[]): Promise<Date[]> {
    const ps = batch.flatMap((b) => b.participants.map((p) => ({ txnId: b.txnId, ...p })));
    const rows = await this.#run<{ txn_id: string; lease_expires_at: Date }>(this.#pools.lazy, 'begin', [
      batch.map((b) => b.txnId), batch.map((b) => JSON.stringify(b.labels)), batch.map((b) => b.leaseMs),
      batch.map((b) => b.participants.length), batch.map((b) => b.ownerId), batch.map((b) => b.traceContext),
      ps.map((p) => p.txnId), ps.map((p) => p.name), ps.map((p) => p.endpoint),
    ]);
    const at = new Map(rows.map((r) => [r.txn_id, r.lease_expires_at]));
    return batch.map((b) => {
      const leaseExpiresAt = at.get(b.txnId);
      if (leaseExpiresAt === undefined) {
        throw new Error(`begin of ${b.txnId} returned no row`);
      }
      return leaseExpiresAt;
    });
  }

  async enlist(txnId: TxId, name: string, endpoint: string): Promise<{ newlyEnlisted: boolean; leaseExpiresAt: Date }> {
    const leaseExpiresAt = await this.#enlists.submit({ txnId, name, endpoint });
    if (leaseExpiresAt !== null) {
      return { newlyEnlisted: true, leaseExpiresAt };
    }
    // Not inserted: a repeat, a conflict, a finished or unknown transaction.
    return this.#explainEnlist(txnId, name, endpoint);
  }

  async #writeEnlists(batch: { txnId: TxId; name: string; endpoint: string }[]): Promise<(Date | null)[]> {
    const rows = await this.#run<{ txn_id: string; name: string; lease_expires_at: Date }>(this.#pools.lazy, 'enlist', [
      batch.map((b) => b.txnId), batch.map((b) => b.name), batch.map((b) => b.endpoint), LIMITS.PARTICIPANTS_MAX,
    ]);
    const inserted = new Map(rows.map((r) => [`${r.txn_id}/${r.name}`, r.lease_expires_at]));
    // Of two identical requests in one batch only the first counts as new.
    return batch.map((b) => {
      const key = `${b.txnId}/${b.name}`;
      const at = inserted.get(key) ?? null;
      inserted.delete(key);
      return at;
    });
  }

  async #explainEnlist(txnId: TxId, name: string, endpoint: string): Promise<{ newlyEnlisted: boolean; leaseExpiresAt: Date }> {
    const tx = await this.#require(txnId);
    const existing = tx.participants.find((p) => p.name === name);
    if (existing !== undefined && existing.endpoint !== endpoint) {
      throw new ParticipantConflictError(txnId, name, existing.endpoint);
    }
    if (existing !== undefined) {
      return { newlyEnlisted: false, leaseExpiresAt: tx.leaseExpiresAt };
    }
    if (tx.state === TxState.ACTIVE && tx.participants.length >= LIMITS.PARTICIPANTS_MAX) {
      throw new InvalidArgumentError('participant', `transaction ${txnId} already has ${LIMITS.PARTICIPANTS_MAX} participants, the limit`);
    }
    throw new InvalidTransitionError(txnId, tx.state, 'participants can enlist only while ACTIVE');
  }

  async heartbeat(txnId: TxId, extendMs: number | null): Promise<{ state: TxState; leaseExpiresAt: Date }> {
    const rows = await this.#run<{ state: TxState; lease_expires_at: Date }>(this.#pools.lazy, 'heartbeat', [txnId, extendMs]);
    const row = rows[0];
    if (row !== undefined) {
      return { state: row.state, leaseExpiresAt: row.lease_expires_at };
    }
    const tx = await this.#require(txnId);
    throw new InvalidTransitionError(txnId, tx.state, 'only an ACTIVE transaction has a lease to extend');
  }

  async startPreparing(txnId: TxId, ownerId: string, onePhaseAllowed: boolean): Promise<(TxRecord & { traceContext: string | null }) | null> {
    const lazy = this.#pools.lazy;
    const row = await this.#preparings.submit({ txnId, ownerId, onePhaseAllowed });
    if (row === null) {
      return null;
    }
    // An Enlist that committed while we waited for the row lock is counted
    // but not listed: read again, in a statement that sees it.
    const parts = row.participants.length === row.participant_count
      ? row.participants
      : await this.#run<{ name: string; endpoint: string }>(lazy, 'participantsOf', [txnId]);
    return {
      txnId,
      state: TxState.ACTIVE,
      reason: null,
      onePhase: false,
      participants: parts.map((p) => newParticipant(p.name, p.endpoint)),
      traceContext: row.trace_context,
    };
  }

  async #writePreparings(batch: PrepareKey[]): Promise<(PreparingRow | null)[]> {
    // One owner and one setting per process: batches never mix them.
    const first = batch[0];
    if (first === undefined) {
      return [];
    }
    const rows = await this.#run<PreparingRow & { txn_id: string }>(this.#pools.lazy, 'startPreparing', [
      batch.map((b) => b.txnId), first.ownerId, first.onePhaseAllowed,
    ]);
    const byId = new Map(rows.map((r) => [r.txn_id, r]));
    return batch.map((b) => {
      const row = byId.get(b.txnId) ?? null;
      byId.delete(b.txnId); // a second Commit of one transaction in a batch finds it taken
      return row;
    });
  }

  async recordDecision(input: DecisionInput): Promise<boolean> {
    return (input.forced ? this.#forcedDecisions : this.#lazyDecisions).submit(input.tx);
  }

  async #writeDecisions(pool: Pool, batch: TxRecord[]): Promise<boolean[]> {
    // Rows are locked in txn_id order, the same in every batch.
    const txs = [...batch].sort((x, y) => (x.txnId < y.txnId ? -1 : 1));
    const ps = txs.flatMap((tx) => tx.participants.map((p) => ({ txnId: tx.txnId, p })));
    const a = participantArrays(ps.map((x) => x.p));
    const rows = await this.#run<{ txn_id: string }>(pool, 'recordDecisions', [
      txs.map((t) => t.txnId), txs.map((t) => t.state), txs.map((t) => t.reason), txs.map((t) => t.onePhase),
      ps.map((x) => x.txnId), a.names, a.votes, a.reasons, a.acked,
    ]);
    const written = new Set(rows.map((r) => r.txn_id));
    return batch.map((t) => written.has(t.txnId));
  }

  /**
   * Individual acknowledgements are written late, together, and only for
   * transactions that have not completed meanwhile (the completion write
   * marks every participant): on the normal path they cost nothing. Losing
   * one only repeats a phase-2 message after a crash.
   */
  async recordAck(txnId: TxId, name: string, heuristic: Outcome | null): Promise<void> {
    this.#pendingAcks.set(`${txnId}/${name}`, { txnId, name, heuristic });
    this.#ackFlush ??= this.#clock.setTimeout(() => {
      this.#ackFlush = null;
      this.#flushAcks().catch(() => undefined);
    }, ACK_FLUSH_MS);
  }

  async #flushAcks(): Promise<void> {
    const acks = [...this.#pendingAcks.values()];
    this.#pendingAcks.clear();
    if (acks.length > 0) {
      await this.#run(this.#pools.lazy, 'recordAcks', [acks.map((a) => a.txnId), acks.map((a) => a.name), acks.map((a) => a.heuristic)]);
    }
  }

  async recordDeliveryFailure(txnId: TxId, name: string, attempts: number, error: string, retryInMs: number): Promise<void> {
    await this.#run(this.#pools.lazy, 'recordDeliveryFailure', [txnId, name, attempts, error.slice(0, 1000), retryInMs]);
  }

  async recordCompletion(tx: TxRecord, from: TxState): Promise<boolean> {
    for (const p of tx.participants) {
      this.#pendingAcks.delete(`${tx.txnId}/${p.name}`);
    }
    return this.#completions.submit({ tx, from });
  }

  async #writeCompletions(batch: { tx: TxRecord; from: TxState }[]): Promise<boolean[]> {
    const items = [...batch].sort((x, y) => (x.tx.txnId < y.tx.txnId ? -1 : 1));
    const ps = items.flatMap(({ tx }) => tx.participants.map((p) => ({ txnId: tx.txnId, p })));
    const a = participantArrays(ps.map((x) => x.p));
    const rows = await this.#run<{ txn_id: string }>(this.#pools.lazy, 'recordCompletions', [
      items.map((i) => i.tx.txnId), items.map((i) => i.tx.state), items.map((i) => i.from), items.map((i) => i.tx.reason),
      ps.map((x) => x.txnId), a.names, a.acked, a.heuristics,
    ]);
    const written = new Set(rows.map((r) => r.txn_id));
    return batch.map((i) => written.has(i.tx.txnId));
  }

  async get(txnId: TxId): Promise<TxView | null> {
    const rows = await this.#run<TxRow>(this.#pools.lazy, 'get', [txnId]);
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
    const rows = await this.#run<TxRow>(this.#pools.lazy, 'list', [
      filter.states, filter.minAgeSeconds, filter.limit, filter.after?.createdAt ?? null, filter.after?.txnId ?? null,
      filter.stuckAfterMs, filter.heuristicOnly, JSON.stringify(filter.labels),
    ]);
    return rows.map(toTxView);
  }

  async expireLeases(ownerId: string, limit: number): Promise<TxView[]> {
    const ids = await this.#run<{ txn_id: string }>(this.#pools.lazy, 'expireLeases', [ownerId, limit]);
    return this.#getMany(ids.map((r) => r.txn_id));
  }

  async claimOrphans(ownerId: string, limit: number): Promise<TxView[]> {
    const ids = await this.#run<{ txn_id: string }>(this.#pools.lazy, 'claimOrphans', [ownerId, limit]);
    return this.#getMany(ids.map((r) => r.txn_id));
  }

  async #getMany(ids: string[]): Promise<TxView[]> {
    if (ids.length === 0) {
      return [];
    }
    return (await this.#run<TxRow>(this.#pools.lazy, 'getMany', [ids])).map(toTxView);
  }

  async registerCoordinator(id: string, name: string, leaseMs: number): Promise<void> {
    await this.#run(this.#pools.lazy, 'registerCoordinator', [id, name, leaseMs]);
  }

  async renewCoordinator(id: string, leaseMs: number): Promise<boolean> {
    try {
      const result = await this.#pools.lazy.query({ name: 'twopc_renewCoordinator', text: SQL.renewCoordinator, values: [id, leaseMs] });
      return result.rowCount === 1;
    } catch (err) {
      throw classifyStoreError(err);
    }
  }

  async deregisterCoordinator(id: string): Promise<void> {
    await this.#run(this.#pools.lazy, 'deregisterCoordinator', [id]);
  }

  async deleteFinished(retentionMs: number, limit: number): Promise<number> {
    try {
      const result = await this.#pools.lazy.query({ name: 'twopc_deleteFinished', text: SQL.deleteFinished, values: [retentionMs, limit] });
      return result.rowCount ?? 0;
    } catch (err) {
      throw classifyStoreError(err);
    }
  }

  async recordOperatorAction(txnId: TxId, action: 'RETRY' | 'ABORT' | 'RESOLVE', participant: string | null, detail: string): Promise<void> {
    await this.#run(this.#pools.lazy, 'recordOperatorAction', [txnId, action, participant, detail]);
  }

  async backlog(stuckAfterMs: number): Promise<{ stuck: number; inDoubt: number }> {
    const rows = await this.#run<{ stuck: number; in_doubt: number }>(this.#pools.lazy, 'backlog', [stuckAfterMs]);
    return { stuck: rows[0]?.stuck ?? 0, inDoubt: rows[0]?.in_doubt ?? 0 };
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
    this.#ackFlush?.();
    await this.#flushAcks().catch(() => undefined);
    await Promise.all([this.#pools.forced.end(), this.#pools.lazy.end()]);
  }
}
