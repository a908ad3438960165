import { randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { inDoubtRefusal, isInDoubt, outcomeOf } from '../core/decide.ts';
import {
  InvalidArgumentError,
  InvalidTransitionError,
  ShuttingDownError,
  TxNotFoundError,
} from 'twopc/internal/contract/errors';
import type { TxEvent } from '../core/tx-event.ts';
import type { TxId, TxRecord } from '../core/tx-record.ts';
import {
  AbortReason,
  Outcome,
  TxState,
  ViewState,
  isDecided,
  isTerminal,
} from 'twopc/internal/contract/tx-state';
import type { ListFilter, TxView } from '../store/transaction-store.ts';
import { sleep } from 'twopc/internal/time/clock';
import { failpoint } from '../fault/failpoints.ts';
import {
  ATTR,
  SPAN,
  endWithError,
  linkTo,
  serializeContext,
  storedContext,
  tracer,
} from 'twopc/internal/telemetry/tracing';
import { HeldSpans } from './held-spans.ts';
import { EarlyPrepares, KnownParticipants, prepares } from './early-prepares.ts';
import { followAbandoned } from './abandoned-prepares.ts';
import { KeyedMutex } from 'twopc/internal/shared/keyed-mutex';
import { awaitDecision, awaitRun, pollLog } from './commit-wait.ts';
import { raceSignal } from './race-signal.ts';
import type { BeginInput, LeaseConfig, OutcomeResult } from './coordinator-types.ts';

export type { BeginInput, LeaseConfig, OutcomeResult } from './coordinator-types.ts';
import type { RunDeps } from './run-deps.ts';
import { YoungIds, landedRetry, repeatedBegin } from './young-ids.ts';
import { isClientTxnId } from 'twopc/internal/contract/client-txn-id';
import { TxRun } from './tx-run.ts';

/**
 * The coordinator's use cases. Each transaction it commits is driven by a
 * TxRun in this process; everything it knows that matters lives in the log.
 */
export class Coordinator {
  /** This incarnation: owner of the transactions it drives. */
  readonly id = randomUUID();
  readonly #deps: RunDeps;
  readonly #lease: LeaseConfig;
  readonly #runs = new Map<TxId, TxRun>();
  readonly #mutex = new KeyedMutex<TxId>();
  readonly #spans = new HeldSpans();
  readonly #known = new KnownParticipants();
  readonly #young: YoungIds;
  readonly #shutdown: AbortController;
  #closing = false;

  constructor(deps: Omit<RunDeps, 'signal'>, lease: LeaseConfig) {
    this.#shutdown = new AbortController();
    this.#deps = { ...deps, signal: this.#shutdown.signal };
    this.#young = new YoungIds(deps.store, deps.clock);
    this.#lease = lease;
  }

  /** Transactions driven by this process right now. */
  get inFlight(): number {
    return this.#runs.size;
  }

  #open(): void {
    if (this.#closing) {
      throw new ShuttingDownError();
    }
  }

  /** Starts a transaction. @throws InvalidArgumentError */
  async begin(
    input: BeginInput,
    parent: Context = ROOT_CONTEXT,
  ): Promise<{ txnId: TxId; leaseExpiresAt: Date }> {
    this.#open();
    const leaseMs = this.#leaseMs(input.timeoutMs, 'timeout_ms');
    const given = this.#deps.config.clientTxnIds === true ? (input.txnId ?? null) : null;
    const txnId = given ?? this.#deps.store.newTxnId();
    // The transaction's span lives from Begin to the final outcome; its
    // context is stored so that later work (another process, recovery)
    // joins or links to the same trace.
    const span = tracer().startSpan(
      SPAN.TRANSACTION,
      { attributes: { [ATTR.TXN_ID]: txnId } },
      parent,
    );
    const traceContext = serializeContext(trace.setSpan(parent, span));
    try {
      const write = this.#deps.store.begin({
        txnId,
        leaseMs,
        labels: input.labels,
        participants: input.participants,
        ownerId: this.id,
        traceContext,
        tenant: input.tenant,
        principal: input.principal,
      });
      const { leaseExpiresAt } = await (given === null
        ? write
        : this.#young
            .track(txnId, write)
            .catch((err: unknown) =>
              repeatedBegin(this.#deps.store, err, txnId, { ...input, leaseMs }),
            ));
      if (span.isRecording()) {
        this.#spans.hold(txnId, span); // without an SDK it is a no-op span: nothing to keep
      }
      if (this.#deps.config.earlyPrepare) {
        this.#known.begun(txnId, input.participants);
      }
      this.#deps.metrics.begun();
      await failpoint('after_begin_logged');
      return { txnId, leaseExpiresAt };
    } catch (err) {
      endWithError(span, err);
      throw err;
    }
  }

  /**
   * A run's trace context: the transaction span begun here if this process
   * holds it (the run then owns and ends it), else the stored context as a
   * remote parent, so the work still joins the original trace.
   */
  #newRun(tx: TxRecord, stored: string | null, early: EarlyPrepares | null = null): TxRun {
    const span = this.#spans.take(tx.txnId);
    const ctx = span === null ? storedContext(stored) : trace.setSpan(ROOT_CONTEXT, span);
    return this.#register(new TxRun(this.#deps, tx, ctx, span, early));
  }

  #leaseMs(requested: number, field: string): number {
    if (requested > this.#lease.maxMs) {
      throw new InvalidArgumentError(
        field,
        `${requested} ms is over the maximum lease of ${this.#lease.maxMs} ms`,
      );
    }
    return requested === 0 ? this.#lease.defaultMs : requested;
  }

  /** Adds a participant. @throws TxNotFoundError, InvalidTransitionError, ParticipantConflictError */
  async enlist(
    txnId: TxId,
    name: string,
    endpoint: string,
  ): Promise<{ newlyEnlisted: boolean; leaseExpiresAt: Date }> {
    this.#open();
    const begun = this.#young.pendingBegin(txnId);
    if (begun !== undefined) {
      await begun; // only for client-made ids: other calls keep their timing
    }
    const enlisted = await landedRetry(txnId, () => this.#deps.store.enlist(txnId, name, endpoint));
    if (enlisted.newlyEnlisted) {
      this.#known.enlisted(txnId, name, endpoint); // not a repeat of one named at Begin
    }
    // A participant enlisting (its own call, or a client's just after
    // calling it) is likely alive: one believed DOWN is checked now, not
    // at its next scheduled check, so its Prepare is not failed unsent.
    if (this.#deps.health.isDown(endpoint)) {
      void this.#deps.health.probeNow(endpoint);
    }
    return enlisted;
  }

  /** Extends a lease. @throws TxNotFoundError, InvalidTransitionError */
  async heartbeat(
    txnId: TxId,
    extendMs: number,
  ): Promise<{ state: TxState; leaseExpiresAt: Date }> {
    this.#open();
    const ms = extendMs === 0 ? null : this.#leaseMs(extendMs, 'extend_ms');
    const begun = this.#young.pendingBegin(txnId);
    if (begun !== undefined) {
      await begun; // only for client-made ids: other calls keep their timing
    }
    return landedRetry(txnId, () => this.#deps.store.heartbeat(txnId, ms));
  }

  /**
   * Runs 2PC, or joins the run already under way; answers once the outcome
   * is durable (and, with waitForAcks, delivered) or `until` fires.
   * @throws TxNotFoundError, DeadlineExceededError, StoreUnavailableError
   */
  async commit(txnId: TxId, waitForAcks: boolean, until: AbortSignal): Promise<OutcomeResult> {
    this.#open();
    const begun = this.#young.pendingBegin(txnId);
    if (begun !== undefined) {
      await begun; // only for client-made ids: other calls keep their timing
    }
    const found = await this.#mutex.run(txnId, () => this.#runForCommit(txnId));
    const decided = (v: TxView): boolean => outcomeOf(v) !== Outcome.PENDING;
    let tx: TxRecord;
    if (found instanceof TxRun) {
      tx = await awaitDecision(found, until);
    } else {
      // A repeated Commit usually finds the decision in the row just read.
      tx = await this.#reportable(
        decided(found) ? found : await pollLog(this.#deps, txnId, until, decided),
      );
    }
    if (waitForAcks && !isTerminal(tx.state)) {
      tx = await this.#awaitFinish(txnId, until).catch(() => tx);
    }
    return { outcome: outcomeOf(tx), reason: tx.reason, state: tx.state };
  }

  /** The run to wait on, or (not ACTIVE) the row as logged. */
  async #runForCommit(txnId: TxId, claims = 1): Promise<TxRun | TxView> {
    const existing = this.#runs.get(txnId);
    if (existing !== undefined) {
      return existing;
    }
    // The claim and the Prepares to the participants named at Begin here
    // leave together. One enlisted since gets its Prepare only once a forced
    // write after its (unforced) Enlist has landed (see KnownParticipants):
    // the claim itself, forced, when one enlisted here.
    const known = this.#known.take(txnId);
    const onePhase = this.#deps.config.onePhase;
    const durableClaim =
      known !== null &&
      known.enlisted.length > 0 &&
      prepares(known.named.length + known.enlisted.length, onePhase);
    const claim = this.#deps.store.startPreparing(txnId, this.id, onePhase, durableClaim);
    let early: EarlyPrepares | null = null;
    if (known !== null && known.named.length >= 2) {
      claim.catch(() => undefined); // awaited below
      const span = this.#spans.peek(txnId);
      const ctx = span === null ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, span);
      early = await EarlyPrepares.send(this.#deps, txnId, ctx, known.named);
    }
    const tx = await claim.catch((err: unknown) => {
      this.#follow(txnId, early?.abandon() ?? []);
      throw err;
    });
    if (tx === null) {
      this.#follow(txnId, early?.abandon() ?? []);
      // Not ACTIVE: decided already, or another coordinator is preparing it.
      const view = await this.#deps.store.get(txnId);
      if (view === null) {
        throw new TxNotFoundError(txnId);
      }
      if (view.state === TxState.ACTIVE && isClientTxnId(txnId) && claims < 3) {
        // A client-made id whose row landed after the claim's snapshot (its
        // Begin was still being written): claimed again.
        return this.#runForCommit(txnId, claims + 1);
      }
      return view;
    }
    if (
      tx.enlistedAfterBegin &&
      !durableClaim &&
      tx.storeIntact &&
      prepares(tx.participants.length, onePhase)
    ) {
      // Enlisted elsewhere, or not known here: a forced write after the
      // claim makes every Enlist it saw durable before any Prepare leaves.
      await this.#deps.store.makeDurable(txnId).catch((err: unknown) => {
        this.#follow(txnId, early?.abandon() ?? []);
        throw err;
      });
    }
    const run = this.#newRun(tx, tx.traceContext, early);
    // Begun before the store last restarted: a write its client was told of
    // may be lost, so it aborts without a single Prepare.
    const event: TxEvent = tx.storeIntact
      ? { type: 'commit:requested', onePhaseAllowed: this.#deps.config.onePhase }
      : {
          type: 'abort:requested',
          reason: AbortReason.LOG_STORE_RESTARTED,
          kind: 'LOG_STORE_RESTARTED',
        };
    run
      .apply(event)
      .catch((err: unknown) => {
        this.#deps.log.error({ err, txn_id: txnId }, 'starting the commit failed');
      })
      .finally(() => this.#follow(txnId, run.releaseEarlyPrepares()));
    return run;
  }

  /** Early Prepares no run took are finished once the log says how (see followAbandoned). */
  #follow(txnId: TxId, sent: readonly { name: string; endpoint: string }[]): void {
    followAbandoned(this.#deps, txnId, sent).catch((err: unknown) =>
      this.#deps.log.error({ err, txn_id: txnId }, 'finishing abandoned Prepares failed'),
    );
  }

  async #awaitFinish(txnId: TxId, until: AbortSignal): Promise<TxRecord> {
    const run = this.#runs.get(txnId);
    if (run !== undefined) {
      return raceSignal(run.finished, until, 'not every participant has acknowledged yet');
    }
    return pollLog(this.#deps, txnId, until, (v) => isTerminal(v.state));
  }

  /**
   * Aborts a transaction that has no commit decision.
   * @throws TxNotFoundError, InvalidTransitionError (after a commit decision, or in doubt)
   */
  async abort(txnId: TxId, reason: string, until: AbortSignal): Promise<OutcomeResult> {
    this.#open();
    const begun = this.#young.pendingBegin(txnId);
    if (begun !== undefined) {
      await begun; // only for client-made ids: other calls keep their timing
    }
    const run = await this.#mutex.run(txnId, () => this.#runForAbort(txnId));
    if (run === null) {
      const view = await this.get(txnId);
      if (isInDoubt(view)) {
        throw new InvalidTransitionError(txnId, ViewState.IN_DOUBT, inDoubtRefusal(view));
      }
      return { outcome: outcomeOf(view), reason: view.reason, state: view.state };
    }
    const applied = run
      .apply({ type: 'abort:requested', reason: reason === '' ? AbortReason.CLIENT_ABORT : reason })
      .catch((err: unknown) => {
        if (err instanceof InvalidTransitionError) {
          throw new InvalidTransitionError(txnId, err.state, 'a commit decision cannot be aborted');
        }
        throw err;
      });
    // The abort waits its turn behind the transaction's earlier events; a
    // store error holding them up answers UNAVAILABLE, as a Commit's does.
    const after = await awaitRun(run, applied, until);
    if (isInDoubt(after)) {
      throw new InvalidTransitionError(txnId, ViewState.IN_DOUBT, inDoubtRefusal(after));
    }
    const tx = await awaitDecision(run, until);
    if (outcomeOf(tx) === Outcome.COMMITTED) {
      throw new InvalidTransitionError(
        txnId,
        tx.state,
        'the participant had already committed in one phase',
      );
    }
    return { outcome: outcomeOf(tx), reason: tx.reason, state: tx.state };
  }

  async #runForAbort(txnId: TxId): Promise<TxRun | null> {
    this.#known.take(txnId);
    const existing = this.#runs.get(txnId);
    if (existing !== undefined) {
      return existing;
    }
    const view = await this.get(txnId);
    if (view.state === TxState.COMMITTING || view.state === TxState.COMMITTED) {
      throw new InvalidTransitionError(txnId, view.state, 'a commit decision cannot be aborted');
    }
    return isDecided(view.state) ? null : this.#newRun(view, view.traceContext);
  }

  /** One transaction, as it may be told to anyone. @throws TxNotFoundError */
  async get(txnId: TxId): Promise<TxView> {
    const begun = this.#young.pendingBegin(txnId);
    if (begun !== undefined) {
      await begun; // only for client-made ids: other calls keep their timing
    }
    const view = await this.#deps.store.get(txnId);
    if (view === null) {
      throw new TxNotFoundError(txnId);
    }
    return this.#reportable(view);
  }

  /**
   * A decision read from the log is made durable before it is told: a
   * participant in doubt acts on it at once. A decision becomes visible
   * only once durable, except when the wait for a synchronous standby was
   * cancelled (a terminated backend): then it is committed locally only, and
   * this forced write waits for the standby. A finished transaction needs
   * it too: a one-phase outcome, or an abort that had nobody to tell, is
   * the first record of its outcome.
   */
  async #reportable(view: TxView): Promise<TxView> {
    if (isDecided(view.state)) {
      await this.#deps.store.makeDurable(view.txnId);
    }
    return view;
  }

  /**
   * Waits briefly until the log holds a client-made id whose Begin may still
   * be under way (see YoungIds); false for any other id, or when the time
   * is up. The caller then reads the log again: nothing is answered from here.
   */
  awaitRow(txnId: TxId, signal?: AbortSignal): Promise<boolean> {
    return this.#young.awaitRow(txnId, signal);
  }

  /** Transactions, newest first. */
  async list(filter: Omit<ListFilter, 'stuckAfterMs'> & { stuckOnly: boolean }): Promise<TxView[]> {
    return this.#deps.store.list({
      ...filter,
      stuckAfterMs: filter.stuckOnly ? this.#lease.stuckAfterMs : null,
    });
  }

  /** The stuck threshold (ms). */
  get stuckAfterMs(): number {
    return this.#lease.stuckAfterMs;
  }

  /** @internal The run of this process driving a transaction, if any. */
  runOf(txnId: TxId): TxRun | undefined {
    return this.#runs.get(txnId);
  }

  /** @internal Drives a logged transaction here (operator actions). */
  driveHere(view: TxView): TxRun {
    return this.#runs.get(view.txnId) ?? this.#newRun(view, view.traceContext);
  }

  /** @internal Serializes work on one transaction within this process. */
  exclusive<T>(txnId: TxId, fn: () => Promise<T>): Promise<T> {
    return this.#mutex.run(txnId, fn);
  }

  /** @internal The store, for operator actions. */
  get store(): RunDeps['store'] {
    return this.#deps.store;
  }

  /** Fails when the coordinator is shutting down. @throws ShuttingDownError */
  assertOpen(): void {
    this.#open();
  }

  /**
   * Takes over a transaction claimed by the lease sweeper or the recovery
   * scan. Returns whether a run was started for it.
   */
  adopt(view: TxView): boolean {
    if (this.#closing || this.#runs.has(view.txnId) || isTerminal(view.state)) {
      return false;
    }
    if (view.state === TxState.ACTIVE) {
      return false; // adopted by ownership alone: its lease keeps running in the log
    }
    const run = this.#spans.has(view.txnId)
      ? this.#newRun(view, view.traceContext)
      : this.#recoveryRun(view);
    run
      .resume()
      .catch((err: unknown) =>
        this.#deps.log.error({ err, txn_id: view.txnId }, 'resuming a transaction failed'),
      );
    return true;
  }

  /** Work taken over from a dead coordinator: a new trace, linked to the original one. */
  #recoveryRun(view: TxView): TxRun {
    const attributes = { [ATTR.TXN_ID]: view.txnId, [ATTR.STATE]: view.state };
    const span = tracer().startSpan(
      SPAN.RECOVERY,
      { attributes, links: linkTo(view.traceContext) },
      ROOT_CONTEXT,
    );
    return this.#register(new TxRun(this.#deps, view, trace.setSpan(ROOT_CONTEXT, span), span));
  }

  #register(run: TxRun): TxRun {
    const txnId = run.tx.txnId;
    this.#runs.set(txnId, run);
    const forget = (): void => {
      if (this.#runs.get(txnId) === run) {
        this.#runs.delete(txnId);
      }
    };
    run.finished.then(forget, forget);
    return run;
  }

  /**
   * Stops taking work, lets runs reach their decision for up to `drainMs`,
   * then stops every delivery loop. Unfinished phase 2 stays in the log for
   * recovery.
   */
  async shutdown(drainMs: number): Promise<void> {
    this.#closing = true;
    const decided = Promise.allSettled([...this.#runs.values()].map((r) => r.decided));
    await Promise.race([decided, sleep(this.#deps.clock, drainMs)]);
    this.#shutdown.abort();
    this.#spans.endAll('coordinator shut down');
    for (const run of this.#runs.values()) {
      run.stop(new ShuttingDownError());
    }
    this.#runs.clear();
  }
}
