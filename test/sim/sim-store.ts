import { randomUUID } from 'node:crypto';
import {
  StoreRefusedDataError,
  InvalidArgumentError,
  InvalidTransitionError,
  ParticipantConflictError,
  TxNotFoundError,
} from 'twopc/internal/contract/errors';
import { LIMITS } from 'twopc/internal/contract/limits';
import type { TxId, TxRecord } from '../../src/core/tx-record.ts';
import { newParticipant } from '../../src/core/tx-record.ts';
import { viewStateOf } from '../../src/core/decide.ts';
import { TxState, Vote, isTerminal } from 'twopc/internal/contract/tx-state';
import type { Outcome } from 'twopc/internal/contract/tx-state';
import { toTxView } from '../../src/store/pg-rows.ts';
import type { TxRow } from '../../src/store/pg-rows.ts';
import { DecisionWrite } from '../../src/store/transaction-store.ts';
import type {
  BeginInput,
  ListFilter,
  PreparingTx,
  Resolution,
  TransactionStore,
  TxAccess,
  TxView,
} from '../../src/store/transaction-store.ts';
import type { LogTables, SimLog, SimParticipantRow, SimProcessRef, SimRow } from './sim-log.ts';
import type { SimScheduler } from './sim-scheduler.ts';

const EPOCH = Date.UTC(2026, 0, 1);
const iso = (ms: number | null): string | null =>
  ms === null ? null : new Date(EPOCH + ms).toISOString();
const UNDECIDED: readonly TxState[] = [TxState.ACTIVE, TxState.PREPARING];
const UNFINISHED: readonly TxState[] = [
  TxState.ACTIVE,
  TxState.PREPARING,
  TxState.COMMITTING,
  TxState.ABORTING,
];

/** Decided and unfinished: phase 2 under way. */
const DELIVERING: readonly TxState[] = [TxState.COMMITTING, TxState.ABORTING];

/** PostgreSQL `text` refuses U+0000 (SQLSTATE 22021), as the real log does. */
function storable(...texts: (string | null)[]): void {
  if (texts.some((t) => t !== null && t.includes('\u0000'))) {
    throw new StoreRefusedDataError('22021', 'invalid byte sequence for encoding "UTF8": 0x00');
  }
}

/** A participant row as an INSERT makes it. */
function participantRow(
  name: string,
  endpoint: string,
  now: number,
  atBegin: boolean,
): SimParticipantRow {
  return {
    ...newParticipant(name, endpoint),
    ackedAt: null,
    enlistedAt: now,
    atBegin,
    attempts: 0,
    lastError: null,
    nextAttemptAt: null,
    votedAt: null,
  };
}

/** A row as the store's SELECT returns it (same derivations as PostgreSQL's). */
export function viewOf(row: SimRow, now: number): TxView {
  const raw: TxRow = {
    txn_id: row.txnId,
    state: row.state,
    reason: row.reason,
    labels: row.labels,
    lease_ms: row.leaseMs,
    lease_expires_at: new Date(EPOCH + row.leaseExpiresAt),
    one_phase: row.onePhase,
    owner_id: row.ownerId,
    trace_context: row.traceContext,
    tenant: row.tenant,
    principal: row.principal,
    created_at: new Date(EPOCH + row.createdAt),
    decided_at: row.decidedAt === null ? null : new Date(EPOCH + row.decidedAt),
    finished_at: row.finishedAt === null ? null : new Date(EPOCH + row.finishedAt),
    db_now: new Date(EPOCH + now),
    participants: row.participants.map((p) => ({
      name: p.name,
      endpoint: p.endpoint,
      enlisted_at: iso(p.enlistedAt) ?? '',
      vote: p.vote,
      vote_reason: p.voteReason,
      acked_at: iso(p.ackedAt),
      attempts: p.attempts,
      last_error: p.lastError,
      next_attempt_at: iso(p.nextAttemptAt),
      heuristic: p.heuristic,
      voted_at: iso(p.votedAt),
    })),
    operator_actions: [],
  };
  return toTxView(raw);
}

/**
 * The TransactionStore port over the simulated log, for one process: the
 * same conditional writes as the PostgreSQL store's statements (see
 * pg-queries.ts), each one round trip, forced where the real one is.
 */
export class SimStore implements TransactionStore {
  readonly #log: SimLog;
  readonly #sched: SimScheduler;
  readonly #proc: SimProcessRef;

  constructor(log: SimLog, sched: SimScheduler, proc: SimProcessRef) {
    this.#log = log;
    this.#sched = sched;
    this.#proc = proc;
  }

  #run<T>(
    statement: (now: number) => T,
    forced = false,
    what: 'decision' | null = null,
  ): Promise<T> {
    return this.#log.roundTrip(this.#proc, () => statement(this.#sched.now()), forced, what);
  }

  #rows(): Map<string, SimRow> {
    return this.#log.live.rows;
  }

  #view(row: SimRow): TxView {
    return viewOf(row, this.#sched.now());
  }

  newTxnId(): TxId {
    return randomUUID() as TxId;
  }

  begin(input: BeginInput): Promise<{ leaseExpiresAt: Date }> {
    return this.#run((now) => {
      storable(...Object.values(input.labels), ...Object.keys(input.labels));
      const token = this.#log.token();
      const row: SimRow = {
        txnId: input.txnId,
        state: TxState.ACTIVE,
        reason: null,
        labels: { ...input.labels },
        leaseMs: input.leaseMs,
        leaseExpiresAt: now + input.leaseMs,
        onePhase: false,
        ownerId: input.ownerId,
        traceContext: input.traceContext,
        tenant: input.tenant,
        principal: input.principal,
        createdAt: now,
        decidedAt: null,
        finishedAt: null,
        updatedAt: now,
        token,
        participantCount: input.participants.length,
        participants: input.participants.map((p) => participantRow(p.name, p.endpoint, now, true)),
      };
      this.#log.write((t) => t.rows.set(row.txnId, structuredClone(row)));
      return { leaseExpiresAt: new Date(EPOCH + row.leaseExpiresAt) };
    });
  }

  enlist(
    txnId: TxId,
    name: string,
    endpoint: string,
  ): Promise<{ newlyEnlisted: boolean; leaseExpiresAt: Date }> {
    return this.#run((now) => {
      const row = this.#rows().get(txnId);
      if (row === undefined) {
        throw new TxNotFoundError(txnId);
      }
      const existing = row.participants.find((p) => p.name === name);
      const lease = new Date(EPOCH + row.leaseExpiresAt);
      // A repeat of a name the log holds changes nothing (the real statement
      // neither counts it nor touches the row).
      if (existing !== undefined) {
        if (existing.endpoint !== endpoint) {
          throw new ParticipantConflictError(txnId, name, existing.endpoint);
        }
        return { newlyEnlisted: false, leaseExpiresAt: lease };
      }
      if (row.state !== TxState.ACTIVE) {
        throw new InvalidTransitionError(
          txnId,
          row.state,
          'participants can enlist only while ACTIVE',
        );
      }
      if (row.participantCount >= LIMITS.PARTICIPANTS_MAX) {
        throw new InvalidArgumentError('participant', 'over the limit');
      }
      this.#log.write((t) => {
        const r = t.rows.get(txnId);
        if (r !== undefined && r.state === TxState.ACTIVE) {
          r.participantCount++;
          r.updatedAt = now;
          r.participants.push(participantRow(name, endpoint, now, false));
        }
      });
      return { newlyEnlisted: true, leaseExpiresAt: lease };
    });
  }

  heartbeat(
    txnId: TxId,
    extendMs: number | null,
  ): Promise<{ state: TxState; leaseExpiresAt: Date }> {
    return this.#run((now) => {
      const row = this.#rows().get(txnId);
      if (row === undefined) {
        throw new TxNotFoundError(txnId);
      }
      if (row.state !== TxState.ACTIVE) {
        throw new InvalidTransitionError(
          txnId,
          row.state,
          'only an ACTIVE transaction has a lease to extend',
        );
      }
      const until = Math.max(row.leaseExpiresAt, now + (extendMs ?? row.leaseMs));
      this.#log.write((t) => {
        const r = t.rows.get(txnId);
        if (r !== undefined && r.state === TxState.ACTIVE) {
          r.leaseExpiresAt = Math.max(r.leaseExpiresAt, until);
          r.updatedAt = now;
        }
      });
      return { state: row.state, leaseExpiresAt: new Date(EPOCH + until) };
    });
  }

  startPreparing(
    txnId: TxId,
    ownerId: string,
    onePhaseAllowed: boolean,
    durable = false,
  ): Promise<PreparingTx | null> {
    return this.#run((now) => {
      const row = this.#rows().get(txnId);
      if (row === undefined || row.state !== TxState.ACTIVE) {
        return null;
      }
      const onePhase = row.participantCount === 1 && onePhaseAllowed;
      this.#log.write((t) => {
        const r = t.rows.get(txnId);
        if (r !== undefined && r.state === TxState.ACTIVE) {
          Object.assign(r, { state: TxState.PREPARING, onePhase, ownerId, updatedAt: now });
        }
      });
      return {
        txnId,
        state: TxState.ACTIVE,
        reason: null,
        onePhase: false,
        participants: row.participants.map((p) => newParticipant(p.name, p.endpoint)),
        traceContext: row.traceContext,
        storeIntact: row.token !== null && row.token === this.#log.currentToken,
        enlistedAfterBegin: row.participants.some((p) => !p.atBegin),
      };
    }, durable);
  }

  recordDecision(tx: TxRecord): Promise<DecisionWrite> {
    return this.#run(
      (now) => {
        storable(tx.reason, ...tx.participants.map((p) => p.voteReason));
        const row = this.#rows().get(tx.txnId);
        if (row === undefined || !UNDECIDED.includes(row.state) || (row.onePhase && !tx.onePhase)) {
          this.#log.count(
            row === undefined
              ? 'decision over a row the log lost'
              : 'decision adopted from another decider',
          );
          return DecisionWrite.LOST;
        }
        const commit = tx.state === TxState.COMMITTING || tx.state === TxState.COMMITTED;
        if (commit && (row.token === null || row.token !== this.#log.currentToken)) {
          return DecisionWrite.REFUSED;
        }
        const implied = (p: TxRecord['participants'][number]): boolean =>
          commit && !tx.onePhase && p.vote === Vote.PREPARED && p.voteReason === null && !p.acked;
        const written = tx.participants.filter((p) => !implied(p));
        this.#log.write((t) => {
          const r = t.rows.get(tx.txnId);
          if (r === undefined || !UNDECIDED.includes(r.state)) {
            return;
          }
          r.state = tx.state;
          r.reason = tx.reason;
          r.onePhase = tx.onePhase;
          r.decidedAt = now;
          r.updatedAt = now;
          r.finishedAt = isTerminal(tx.state) ? now : null;
          for (const p of written) {
            const rp = r.participants.find((x) => x.name === p.name);
            if (rp !== undefined) {
              rp.vote = p.vote;
              rp.voteReason = p.voteReason;
              rp.ackedAt = p.acked ? now : null;
              rp.votedAt = p.vote === null ? null : now;
            }
          }
        });
        if (tx.onePhase && tx.state === TxState.ABORTING) {
          this.#log.count('one-phase in doubt (ABORTING)');
        }
        return DecisionWrite.LANDED;
      },
      true,
      'decision',
    );
  }

  confirmOnePhase(txnId: TxId): Promise<boolean> {
    return this.#run((now) => {
      const row = this.#rows().get(txnId);
      const ok =
        row !== undefined &&
        row.state === TxState.PREPARING &&
        row.onePhase &&
        row.token !== null &&
        row.token === this.#log.currentToken;
      if (ok) {
        this.#touch(txnId, now, true);
      }
      return ok;
    }, true);
  }

  #touch(txnId: TxId, now: number, updated: boolean): void {
    this.#log.write((t) => {
      const r = t.rows.get(txnId);
      if (r !== undefined && updated) {
        r.updatedAt = now;
      }
    });
  }

  makeDurable(txnId: TxId): Promise<TxState | null> {
    return this.#run(() => this.#rows().get(txnId)?.state ?? null, true);
  }

  ownStale(ownerId: string, idleMs: number, limit: number): Promise<TxView[]> {
    return this.#run((now) =>
      [...this.#rows().values()]
        .filter(
          (r) =>
            r.finishedAt === null &&
            r.ownerId === ownerId &&
            r.state !== TxState.ACTIVE &&
            UNFINISHED.includes(r.state) &&
            r.updatedAt < now - idleMs,
        )
        .sort((a, b) => a.updatedAt - b.updatedAt)
        .slice(0, limit)
        .map((r) => this.#view(r)),
    );
  }

  incarnation(): Promise<string> {
    return this.#run(() => this.#log.token());
  }

  async recordAck(txnId: TxId, name: string, heuristic: Outcome | null): Promise<void> {
    // Queued and written later in the real store: safe to lose.
    this.#run((now) =>
      this.#log.write((t) => {
        const p = t.rows.get(txnId)?.participants.find((x) => x.name === name);
        if (p !== undefined && p.ackedAt === null) {
          p.ackedAt = now;
          p.heuristic = heuristic;
          p.nextAttemptAt = null;
        }
      }),
    ).catch(() => undefined);
  }

  recordDeliveryFailure(
    txnId: TxId,
    name: string,
    attempts: number,
    error: string,
    retryInMs: number,
  ): Promise<void> {
    return this.#run((now) =>
      this.#log.write((t) => {
        storable(error);
        const p = t.rows.get(txnId)?.participants.find((x) => x.name === name);
        if (p !== undefined && p.ackedAt === null) {
          Object.assign(p, { attempts, lastError: error, nextAttemptAt: now + retryInMs });
        }
      }),
    );
  }

  recordCompletion(tx: TxRecord, from: TxState, forced: boolean): Promise<boolean> {
    return this.#run((now) => {
      storable(tx.reason);
      const row = this.#rows().get(tx.txnId);
      if (row === undefined || row.state !== from) {
        return false;
      }
      this.#log.write((t) => {
        const r = t.rows.get(tx.txnId);
        if (r === undefined || r.state !== from) {
          return;
        }
        Object.assign(r, { state: tx.state, reason: tx.reason, finishedAt: now, updatedAt: now });
        for (const p of tx.participants) {
          const rp = r.participants.find((x) => x.name === p.name);
          if (rp !== undefined && p.acked && p.heuristic !== null) {
            rp.ackedAt ??= now;
            rp.heuristic = p.heuristic;
          }
        }
      });
      return true;
    }, forced);
  }

  get(txnId: TxId): Promise<TxView | null> {
    return this.#run(() => {
      const row = this.#rows().get(txnId);
      return row === undefined ? null : this.#view(row);
    });
  }

  list(filter: ListFilter): Promise<TxView[]> {
    return this.#run(() =>
      [...this.#rows().values()]
        .filter((r) => filter.states.length === 0 || filter.states.includes(viewStateOf(r)))
        .reverse()
        .slice(0, filter.limit)
        .map((r) => this.#view(r)),
    );
  }

  expireLeases(ownerId: string, limit: number): Promise<TxView[]> {
    return this.#run((now) => {
      const due = [...this.#rows().values()]
        .filter(
          (r) => r.finishedAt === null && r.state === TxState.ACTIVE && r.leaseExpiresAt < now,
        )
        .slice(0, limit);
      for (const r of due) {
        this.#log.write((t) => expire(t, r.txnId, ownerId, now));
      }
      return due.map((r) => this.#view(r));
    }, true);
  }

  claimOrphans(ownerId: string, limit: number): Promise<TxView[]> {
    return this.#run((now) => {
      const coordinators = this.#log.live.coordinators;
      const orphans = [...this.#rows().values()]
        .filter((r) => {
          const owner = r.ownerId === null ? undefined : coordinators.get(r.ownerId);
          return (
            r.finishedAt === null &&
            UNFINISHED.includes(r.state) &&
            (owner === undefined || owner.leaseExpiresAt < now)
          );
        })
        .slice(0, limit);
      for (const r of orphans) {
        this.#log.write((t) => {
          const x = t.rows.get(r.txnId);
          if (x !== undefined) {
            x.ownerId = ownerId;
            x.updatedAt = now;
          }
        });
      }
      return orphans.map((r) => this.#view(r));
    });
  }

  registerCoordinator(id: string, name: string, leaseMs: number): Promise<void> {
    return this.#run((now) => {
      this.#log.write((t) => {
        for (const [other, c] of t.coordinators) {
          if (c.name === name && other !== id) {
            t.coordinators.delete(other);
          }
        }
        t.coordinators.set(id, { name, leaseExpiresAt: now + leaseMs });
      });
    }, true);
  }

  renewCoordinator(id: string, leaseMs: number): Promise<boolean> {
    return this.#run((now) => {
      if (!this.#log.live.coordinators.has(id)) {
        return false;
      }
      this.#log.write((t) => {
        const c = t.coordinators.get(id);
        if (c !== undefined) {
          c.leaseExpiresAt = now + leaseMs;
        }
      });
      return true;
    }, true);
  }

  deregisterCoordinator(id: string): Promise<void> {
    return this.#run(() => this.#log.write((t) => void t.coordinators.delete(id)));
  }

  async deleteFinished(): Promise<number> {
    return 0; // retention is not simulated: every transaction is checked at the end
  }

  /** The real store's conditional writes resolveOwed and resolveInDoubt (audit rows not kept here). */
  claimResolution(r: Resolution): Promise<boolean> {
    const claimable = (row: SimRow | undefined): boolean => {
      const p = row?.participants.find((x) => x.name === r.participant);
      if (row === undefined || p === undefined) {
        return false;
      }
      const inDoubt = row.onePhase && row.state === TxState.ABORTING;
      return r.final !== null
        ? inDoubt
        : !inDoubt && p.ackedAt === null && DELIVERING.includes(row.state);
    };
    return this.#run((now) => {
      if (!claimable(this.#rows().get(r.txnId))) {
        return false;
      }
      this.#log.write((t) => {
        const row = t.rows.get(r.txnId);
        if (row === undefined || !claimable(row)) {
          return;
        }
        if (r.final !== null) {
          Object.assign(row, { ...r.final, finishedAt: now, updatedAt: now });
        } else {
          const p = row.participants.find((x) => x.name === r.participant);
          Object.assign(p ?? {}, { ackedAt: now, nextAttemptAt: null });
        }
      });
      return true;
    }, true);
  }

  recordOperatorAction(): Promise<void> {
    return this.#run(() => undefined, true);
  }

  access(txnId: TxId, participant: string | null): Promise<TxAccess | null> {
    return this.#run(() => {
      const row = this.#rows().get(txnId);
      return row === undefined
        ? null
        : { tenant: row.tenant, enlisted: row.participants.some((p) => p.name === participant) };
    });
  }

  openCount(): Promise<number> {
    return this.#run(() => [...this.#rows().values()].filter((r) => r.finishedAt === null).length);
  }

  backlog(): Promise<{ stuck: number; inDoubt: number }> {
    return this.#run(() => ({
      stuck: 0,
      inDoubt: [...this.#rows().values()].filter(
        (r) => r.finishedAt === null && viewStateOf(r) === 'IN_DOUBT',
      ).length,
    }));
  }

  admissionStats(): { pending: number; refused: number } {
    return { pending: 0, refused: 0 };
  }

  poolStats(): { pool: string; total: number; idle: number; waiting: number }[] {
    return [];
  }

  ping(): Promise<void> {
    return this.#run(() => undefined);
  }

  async close(): Promise<void> {}
}

function expire(t: LogTables, txnId: string, ownerId: string, now: number): void {
  const r = t.rows.get(txnId);
  if (r === undefined || r.state !== TxState.ACTIVE || r.finishedAt !== null) {
    return;
  }
  const none = r.participantCount === 0;
  Object.assign(r, {
    state: none ? TxState.ABORTED : TxState.ABORTING,
    reason: 'LEASE_EXPIRED',
    ownerId,
    decidedAt: now,
    updatedAt: now,
    finishedAt: none ? now : null,
  });
}
