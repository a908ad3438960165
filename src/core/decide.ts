import type { Effect } from './effect.ts';
import type { ParticipantRecord, TxRecord } from './tx-record.ts';
import type { TxEvent } from './tx-event.ts';
import { AbortReason, Outcome, TxState, ViewState, Vote } from 'twopc/internal/contract/tx-state';

/** The result of applying an event: the next record and the messages to send. */
export type Decision =
  | { readonly ok: true; readonly next: TxRecord; readonly effects: readonly Effect[] }
  | { readonly ok: false; readonly reason: string };

const unchanged = (tx: TxRecord): Decision => ({ ok: true, next: tx, effects: [] });
const invalid = (tx: TxRecord, event: TxEvent): Decision => ({
  ok: false,
  reason: `${event.type} is not allowed in state ${tx.state}`,
});

/**
 * The 2PC state machine: pure, synchronous and deterministic.
 *
 * Decision states (COMMITTING, ABORTING, and COMMITTED/ABORTED reached
 * straight from PREPARING) must be persisted by the caller before any effect
 * runs: that is the write-ahead rule.
 */
export function decide(tx: TxRecord, event: TxEvent): Decision {
  switch (tx.state) {
    case TxState.ACTIVE:
      return fromActive(tx, event);
    case TxState.PREPARING:
      return fromPreparing(tx, event);
    case TxState.COMMITTING:
    case TxState.ABORTING:
      return fromDelivering(tx, event);
    case TxState.COMMITTED:
    case TxState.ABORTED:
      return fromFinished(tx, event);
  }
}

function fromActive(tx: TxRecord, event: TxEvent): Decision {
  switch (event.type) {
    case 'commit:requested':
      return startCommit(tx, event.onePhaseAllowed);
    case 'abort:requested':
      return startAbort(tx, event.reason);
    case 'lease:expired':
      return startAbort(tx, AbortReason.LEASE_EXPIRED);
    case 'tx:recovered':
      // ACTIVE keeps all its state in the log: the new owner adopts it and
      // lets its lease run, so a client that is still working loses nothing.
      return unchanged(tx);
    default:
      return invalid(tx, event);
  }
}

function startCommit(tx: TxRecord, onePhaseAllowed: boolean): Decision {
  const [only, ...rest] = tx.participants;
  if (only === undefined) {
    return { ok: true, next: { ...tx, state: TxState.COMMITTED }, effects: [] };
  }
  if (onePhaseAllowed && rest.length === 0) {
    const next = { ...tx, state: TxState.PREPARING, onePhase: true };
    return { ok: true, next, effects: [{ type: 'send:commit', name: only.name, onePhase: true }] };
  }
  const effects = tx.participants.map((p): Effect => ({ type: 'send:prepare', name: p.name }));
  return { ok: true, next: { ...tx, state: TxState.PREPARING }, effects };
}

function fromPreparing(tx: TxRecord, event: TxEvent): Decision {
  switch (event.type) {
    case 'commit:requested':
      return unchanged(tx);
    case 'abort:requested':
      return startAbort(tx, event.reason);
    case 'tx:recovered':
      return startAbort(tx, AbortReason.COORDINATOR_RECOVERY);
    case 'vote:received':
      return applyVote(tx, event.name, event.vote, event.reason);
    case 'prepare:failed':
      return applyVote(tx, event.name, null, event.reason);
    case 'onephase:answered':
      return applyOnePhaseAnswer(tx, event.outcome, event.reason);
    case 'onephase:unsent':
      return abortUnsentOnePhase(tx, event.reason);
    default:
      return invalid(tx, event);
  }
}

/** A null vote is a failed prepare: it counts as ABORT, with its own wording. */
function applyVote(tx: TxRecord, name: string, vote: Vote | null, why: string | null): Decision {
  const current = tx.participants.find((p) => p.name === name);
  if (current === undefined || tx.onePhase) {
    return { ok: false, reason: `no prepare was sent to participant '${name}'` };
  }
  if (current.vote !== null) {
    return unchanged(tx);
  }
  // A failed prepare keeps vote null: the participant may still have
  // prepared late, so it must be told to abort.
  const recorded = withParticipant(tx, name, { vote, voteReason: why });
  if (vote === null || vote === Vote.ABORT) {
    const reason =
      vote === null
        ? `participant '${name}' failed to prepare: ${why ?? 'no answer'}`
        : `participant '${name}' voted ABORT${why ? `: ${why}` : ''}`;
    return startAbort(recorded, reason);
  }
  if (recorded.participants.some((p) => p.vote === null)) {
    return unchanged(recorded);
  }
  return decideCommit(recorded);
}

function decideCommit(tx: TxRecord): Decision {
  const prepared = tx.participants.filter((p) => p.vote === Vote.PREPARED);
  if (prepared.length === 0) {
    return { ok: true, next: { ...tx, state: TxState.COMMITTED }, effects: [] };
  }
  const effects = prepared.map((p): Effect => ({
    type: 'send:commit',
    name: p.name,
    onePhase: false,
  }));
  return { ok: true, next: { ...tx, state: TxState.COMMITTING }, effects };
}

function applyOnePhaseAnswer(tx: TxRecord, outcome: Outcome, why: string | null): Decision {
  if (!tx.onePhase) {
    return { ok: false, reason: 'no one-phase commit was sent' };
  }
  const acked = tx.participants.map((p) => ({ ...p, acked: true }));
  if (outcome === Outcome.COMMITTED) {
    return {
      ok: true,
      next: { ...tx, participants: acked, state: TxState.COMMITTED },
      effects: [],
    };
  }
  if (outcome === Outcome.ABORTED) {
    const name = tx.participants[0]?.name ?? '';
    const reason = `participant '${name}' refused the one-phase commit${why ? `: ${why}` : ''}`;
    const next = { ...tx, participants: acked, state: TxState.ABORTED, reason };
    return { ok: true, next, effects: [] };
  }
  return unchanged(tx);
}

/**
 * A one-phase Commit that never reached its participant: it holds nothing
 * (the Commit was its only message), so the transaction is ABORTED at once
 * and nobody is owed an Abort. Not in doubt: only a Commit that may have
 * arrived is (DESIGN §3 rule 16).
 */
function abortUnsentOnePhase(tx: TxRecord, reason: string): Decision {
  if (!tx.onePhase) {
    return { ok: false, reason: 'no one-phase commit was sent' };
  }
  const acked = tx.participants.map((p) => ({ ...p, acked: true }));
  return {
    ok: true,
    next: { ...tx, participants: acked, state: TxState.ABORTED, reason },
    effects: [],
  };
}

/** Enters ABORTING (or ABORTED when nobody needs to be told). */
function startAbort(tx: TxRecord, reason: string): Decision {
  const aborting: TxRecord = { ...tx, state: TxState.ABORTING, reason };
  const effects = aborting.participants
    .filter((p) => needsPhaseTwo(aborting, p) && !p.acked)
    .map((p): Effect => ({ type: 'send:abort', name: p.name }));
  if (effects.length === 0) {
    return { ok: true, next: { ...aborting, state: TxState.ABORTED }, effects: [] };
  }
  return { ok: true, next: aborting, effects };
}

function fromDelivering(tx: TxRecord, event: TxEvent): Decision {
  switch (event.type) {
    case 'ack:received':
      return applyAck(tx, event.name, event.outcome);
    case 'abort:undeliverable':
      return giveUp(tx, event.name);
    case 'tx:recovered':
      return { ok: true, next: tx, effects: pendingPhaseTwo(tx) };
    case 'abort:requested':
      return tx.state === TxState.ABORTING ? unchanged(tx) : invalid(tx, event);
    default:
      // Late votes, repeated commits and expired leases change nothing once
      // the decision is made: timeouts abort only before the decision.
      return unchanged(tx);
  }
}

function applyAck(tx: TxRecord, name: string, outcome: Outcome | null): Decision {
  const current = tx.participants.find((p) => p.name === name);
  if (current === undefined || !needsPhaseTwo(tx, current)) {
    return { ok: false, reason: `participant '${name}' owes no acknowledgement` };
  }
  if (current.acked) {
    return unchanged(tx);
  }
  if (tx.onePhase && tx.state === TxState.ABORTING && outcome === Outcome.COMMITTED) {
    // The one-phase participant had committed before our abort reached it:
    // its answer is the outcome (nobody was told anything else).
    const acked = withParticipant(tx, name, { acked: true });
    return { ok: true, next: { ...acked, state: TxState.COMMITTED, reason: null }, effects: [] };
  }
  const decided = tx.state === TxState.COMMITTING ? Outcome.COMMITTED : Outcome.ABORTED;
  const heuristic =
    outcome !== null && outcome !== decided && outcome !== Outcome.PENDING ? outcome : null;
  const next = withParticipant(tx, name, { acked: true, heuristic });
  const done = next.participants.every((p) => p.acked || !needsPhaseTwo(next, p));
  if (!done) {
    return unchanged(next);
  }
  const finalState = tx.state === TxState.COMMITTING ? TxState.COMMITTED : TxState.ABORTED;
  return { ok: true, next: { ...next, state: finalState }, effects: [] };
}

/**
 * Stops delivering Abort to a participant that never voted PREPARED (it
 * may have prepared after all, but then it asks GetTransaction and learns
 * ABORTED: presumed abort). One that voted PREPARED, a one-phase
 * participant (its answer is the outcome) and a commit are never given up.
 */
function giveUp(tx: TxRecord, name: string): Decision {
  const p = tx.participants.find((x) => x.name === name);
  if (tx.state !== TxState.ABORTING || tx.onePhase) {
    return { ok: false, reason: 'only an abort is given up on, and never a one-phase one' };
  }
  if (p === undefined || p.vote !== null) {
    return { ok: false, reason: `participant '${name}' voted, so it must hear the outcome` };
  }
  return applyAck(tx, name, null);
}

function fromFinished(tx: TxRecord, event: TxEvent): Decision {
  if (event.type === 'abort:requested' && tx.state === TxState.COMMITTED) {
    return invalid(tx, event);
  }
  if (event.type === 'vote:received' || event.type === 'prepare:failed') {
    return unchanged(tx);
  }
  if (event.type === 'onephase:answered' || event.type === 'onephase:unsent') {
    return invalid(tx, event);
  }
  return unchanged(tx);
}

/**
 * Whether a participant takes part in phase 2 of the transaction's decision:
 * PREPARED voters for a commit; for an abort everyone who did not vote ABORT
 * or READ_ONLY (a participant whose vote never arrived may hold prepared work).
 */
export function needsPhaseTwo(tx: TxRecord, p: ParticipantRecord): boolean {
  if (tx.onePhase) {
    return tx.state === TxState.ABORTING || tx.state === TxState.ABORTED;
  }
  if (tx.state === TxState.COMMITTING || tx.state === TxState.COMMITTED) {
    return p.vote === Vote.PREPARED;
  }
  return p.vote !== Vote.ABORT && p.vote !== Vote.READ_ONLY;
}

/** The phase-2 messages still owed: what recovery re-sends. */
export function pendingPhaseTwo(tx: TxRecord): Effect[] {
  return tx.participants
    .filter((p) => !p.acked && needsPhaseTwo(tx, p))
    .map((p): Effect =>
      tx.state === TxState.COMMITTING
        ? { type: 'send:commit', name: p.name, onePhase: false }
        : { type: 'send:abort', name: p.name },
    );
}

/**
 * In doubt (DESIGN §3 rule 15): a one-phase Commit left and its answer did
 * not come back. Only the participant knows whether it committed; the
 * coordinator keeps asking it (an Abort's answer says), and an operator
 * who learns its state can resolve the transaction with it.
 */
export function isInDoubt(tx: Pick<TxRecord, 'state' | 'onePhase'>): boolean {
  return tx.onePhase && tx.state === TxState.ABORTING;
}

/** The state a transaction is shown in (API, CLI, console): IN_DOUBT when in doubt, else its state. */
export function viewStateOf(tx: Pick<TxRecord, 'state' | 'onePhase'>): ViewState {
  return isInDoubt(tx) ? ViewState.IN_DOUBT : tx.state;
}

/** Why an abort of a transaction in doubt is refused, and the way out. */
export function inDoubtRefusal(tx: Pick<TxRecord, 'txnId' | 'participants'>): string {
  const name = tx.participants[0]?.name ?? '';
  return `in doubt: the one-phase Commit to '${name}' may have landed, and only '${name}' knows; once its own state is known, resolve it: twopc tx resolve ${tx.txnId} --participant ${name} --as committed|aborted`;
}

/** The outcome a client is told for a record. */
export function outcomeOf(tx: Pick<TxRecord, 'state' | 'onePhase'>): Outcome {
  switch (tx.state) {
    case TxState.ACTIVE:
    case TxState.PREPARING:
      return Outcome.PENDING;
    case TxState.COMMITTING:
    case TxState.COMMITTED:
      return Outcome.COMMITTED;
    case TxState.ABORTING:
      // A one-phase participant may still report that it committed.
      return tx.onePhase ? Outcome.PENDING : Outcome.ABORTED;
    case TxState.ABORTED:
      return Outcome.ABORTED;
  }
}

function withParticipant(tx: TxRecord, name: string, patch: Partial<ParticipantRecord>): TxRecord {
  const participants = tx.participants.map((p) => (p.name === name ? { ...p, ...patch } : p));
  return { ...tx, participants };
}
