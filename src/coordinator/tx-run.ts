import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { Context, Span } from '@opentelemetry/api';
import { decide, pendingPhaseTwo } from '../core/decide.ts';
import type { Effect } from '../core/effect.ts';
import { InvalidTransitionError, StoreRefusedDataError } from 'twopc/internal/contract/errors';
import type { TxRecord } from '../core/tx-record.ts';
import { abortKindOf } from '../core/tx-event.ts';
import type { AbortKind, TxEvent } from '../core/tx-event.ts';
import { AbortReason, TxState, isDecided, isTerminal } from 'twopc/internal/contract/tx-state';
import type { Logger } from '../telemetry/logger.ts';
import { RunWaiters } from './run-waiters.ts';
import type { RunDeps } from './run-deps.ts';
import { durableReadRetrying, persistPlan } from './persist.ts';
import { persistDecisionTraced } from './persist-traced.ts';
import type { Persisted } from './persist.ts';
import { deliver, prepare } from './tx-effects.ts';
import { commitOnePhase } from './one-phase-commit.ts';
import type { RunHandle } from './tx-effects.ts';
import type { EarlyPrepares, SentPrepare } from './early-prepares.ts';
import { planWrite } from './write-plan.ts';
import type { WritePlan } from './write-plan.ts';

/**
 * A record the log holds, or one whose write the plan says may be lost: the
 * only kind a run reads. A record becomes Logged only where its write has
 * landed (or it was read from the log); what is being written is a plain
 * TxRecord, local to the event applying it.
 */
type Logged = TxRecord & { readonly __logged: true };

/** Marks a record as one the log holds (see Logged). */
const asLogged = (tx: TxRecord): Logged => tx as Logged;

/** How an abort after the log refused a decision's data begins its reason. */
const REFUSED_DATA = 'LOG_REFUSED_DATA';

/**
 * Drives one transaction in this process: applies events to the pure core,
 * writes what the core decided to the log, and only then sends the messages.
 *
 * The rule of runs (DESIGN §3 rule 13): **what a run knows is what the log
 * holds.** A transaction's events are applied one at a time, in arrival
 * order: the next event is decided only once the previous one's write has
 * landed or failed. `#logged` is the only record anyone reads (answers,
 * phase-2 messages, metrics, span events, the next decision); it is the
 * last record the log holds, or one whose write the plan says may be lost
 * (a vote before the decision, an acknowledgement: losing it only repeats
 * messages). The record being written is a local of the event being
 * applied and is never stored on the run.
 */
export class TxRun implements RunHandle {
  /** The last durable record (see the class comment): the only one read. */
  #logged: Logged;
  /** The tail of this transaction's event queue. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Another decider's decision was adopted: it counts the outcome, not this run. */
  #adopted = false;
  /** Participants whose Prepare from this run was refused at connect (never reached them). */
  readonly #unreached = new Set<string>();
  /** The log refused a decision of this run for its data (see #abortRefused). */
  #refusedData = false;
  /** Why this run decided an abort (a metric label), once it has. */
  #abortKind: AbortKind = 'CLIENT_ABORT';
  readonly deps: RunDeps;
  /** Trace context of the transaction: child spans hang off it. */
  readonly ctx: Context;
  #log: Logger | null = null;
  readonly #waiters: RunWaiters;
  #early: EarlyPrepares | null;

  /**
   * @param ownSpan the transaction's span when this run owns it (ended when the run finishes)
   * @param early Prepares sent while the commit claim was written
   */
  constructor(
    deps: RunDeps,
    tx: TxRecord,
    ctx: Context,
    ownSpan: Span | null,
    early: EarlyPrepares | null = null,
  ) {
    this.deps = deps;
    this.#logged = asLogged(tx); // read from the log by whoever made the run
    this.ctx = ctx;
    this.#waiters = new RunWaiters(ownSpan, deps.metrics);
    this.#early = early;
    this.#settle();
  }

  markUnreached(name: string): void {
    this.#unreached.add(name);
  }

  neverReached(name: string): boolean {
    return this.#unreached.has(name);
  }

  takeEarlyPrepare(name: string, endpoint: string): SentPrepare | null {
    return this.#early?.take(name, endpoint) ?? null;
  }

  /**
   * Ends the early Prepares no effect of this run took; returns where they
   * went (a participant the log does not list: see followAbandoned).
   */
  releaseEarlyPrepares(): { name: string; endpoint: string }[] {
    const went = this.#early?.abandon() ?? [];
    this.#early = null;
    return went;
  }

  /** A logger carrying txn_id and trace_id, made on first use (most runs never log). */
  get log(): Logger {
    if (this.#log === null) {
      // Without a tracing SDK the context is the invalid, all-zero one: no id then.
      const context = trace.getSpanContext(this.ctx);
      const traceId =
        context !== undefined && isSpanContextValid(context) ? context.traceId : undefined;
      this.#log = this.deps.log.child({
        txn_id: this.#logged.txnId,
        ...(traceId ? { trace_id: traceId } : {}),
      });
    }
    return this.#log;
  }

  /** The last record the log holds (never one whose write is still in flight). */
  get tx(): TxRecord {
    return this.#logged;
  }

  /** Resolves once the outcome is durable (commit forced) or known. */
  get decided(): Promise<TxRecord> {
    return this.#waiters.decided;
  }

  /** Resolves once every participant acknowledged and the final state is logged. */
  get finished(): Promise<TxRecord> {
    return this.#waiters.finished;
  }

  get done(): boolean {
    return this.#waiters.done;
  }

  get wakeSignal(): AbortSignal {
    return this.#waiters.wakeSignal;
  }

  /** Cuts every backoff wait short: phase 2 is re-sent now. */
  wake(): void {
    this.#waiters.wake();
  }

  /** Resolves with the next store error that holds up the run. */
  nextStall(): Promise<Error> {
    return this.#waiters.nextStall();
  }

  /**
   * Applies an event once every earlier event of this transaction has been
   * applied and its write has landed or failed; a resulting decision is
   * logged before any message leaves or anyone is answered.
   * @throws InvalidTransitionError when the core rejects the event
   */
  apply(event: TxEvent): Promise<TxRecord> {
    return this.#exclusive(() => this.#applyNow(event));
  }

  /** Runs `work` alone: after every earlier event's write, before any later event. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #applyNow(event: TxEvent): Promise<TxRecord> {
    const before = this.#logged;
    const decision = decide(before, event);
    if (!decision.ok) {
      throw new InvalidTransitionError(before.txnId, before.state, decision.reason);
    }
    if (decision.next === before) {
      return before;
    }
    const writing = decision.next;
    const plan = planWrite(before, writing);
    const persisted = await this.#persist(plan, writing).catch((err: unknown) => {
      if (
        err instanceof StoreRefusedDataError &&
        plan.kind === 'decision' &&
        !isDecided(before.state)
      ) {
        return err;
      }
      throw err;
    });
    if (persisted instanceof StoreRefusedDataError) {
      return this.#abortRefused(before, persisted);
    }
    switch (persisted.kind) {
      case 'adopted':
        if (!isDecided(persisted.tx.state)) {
          // Taken by another run's claim since this run read it (a one-phase
          // commit under way): decide the event again from what the log holds.
          this.#logged = asLogged(persisted.tx);
          return this.#applyNow(event);
        }
        this.#adopt(persisted.tx);
        return persisted.tx;
      case 'refused':
        // The store restarted since Begin: what the client was told may be
        // lost (an Enlist, an Abort), so this transaction can only abort.
        this.log.warn(
          { event: event.type },
          'the log store restarted since this transaction began; aborting it',
        );
        return this.#applyNow({
          type: 'abort:requested',
          reason: AbortReason.LOG_STORE_RESTARTED,
          kind: 'LOG_STORE_RESTARTED',
        });
      case 'written':
        break;
    }
    this.#logged = asLogged(writing); // its write landed
    if (
      !isDecided(before.state) &&
      (writing.state === TxState.ABORTING || writing.state === TxState.ABORTED)
    ) {
      this.#abortKind = abortKindOf(event); // what decided it, for the metrics
    }
    this.#settle();
    decision.effects.forEach((e) => this.#launch(e));
    return writing;
  }

  /**
   * The log refused the decision for its data (text that escaped the edge's
   * checks): nothing was written or told, and the same write would be
   * refused forever, so the transaction aborts, saying why, without the
   * participants' own words (the likely culprits).
   */
  async #abortRefused(before: TxRecord, err: StoreRefusedDataError): Promise<TxRecord> {
    this.log.error({ err: err.message }, 'the log refused the decision for its data; aborting');
    if (this.#refusedData) {
      throw err; // the abort itself was refused: left to the operator, loudly
    }
    this.#refusedData = true;
    // Vote reasons before a decision are never written: dropping them loses nothing logged.
    this.#logged = asLogged({
      ...before,
      participants: before.participants.map((p) => ({ ...p, voteReason: null })),
    });
    return this.#applyNow({
      type: 'abort:requested',
      reason: `${REFUSED_DATA}: ${err.message}`.slice(0, 500),
      kind: 'LOG_REFUSED_DATA',
    });
  }

  /**
   * Another decider logged first. Its decision is this run's from now on;
   * phase 2 is still driven from here (it is idempotent), because a Prepare
   * may have left from here (early) that the log never heard the vote of.
   */
  #adopt(logged: TxRecord): void {
    this.#logged = asLogged(logged); // read back from the log
    this.#adopted = true;
    this.#settle();
    if (!isTerminal(logged.state)) {
      pendingPhaseTwo(logged).forEach((e) => this.#launch(e));
    }
  }

  #persist(plan: WritePlan, next: TxRecord): Promise<Persisted> {
    const onStall = (err: Error): void => this.#stalled(err);
    return plan.kind === 'decision'
      ? persistDecisionTraced(this.deps, this.ctx, plan.commit, next, onStall)
      : persistPlan(this.deps, plan, next, onStall);
  }

  /** Applies an event from a participant call; a rejected transition is expected and ignored. */
  async safeApply(event: TxEvent): Promise<void> {
    try {
      await this.apply(event);
    } catch (err) {
      if (!(err instanceof InvalidTransitionError)) {
        this.log.error({ err, event: event.type }, 'applying an event failed');
      }
    }
  }

  /** Re-sends whatever phase-2 messages are still owed (recovery is replay). */
  async resume(): Promise<void> {
    const { state } = this.#logged;
    if (state === TxState.ACTIVE || state === TxState.PREPARING) {
      await this.safeApply({ type: 'tx:recovered' });
      return;
    }
    await this.#exclusive(() => this.#resumeNow());
  }

  async #resumeNow(): Promise<void> {
    // Read from the log, where a decision may be visible before it is
    // durable: made durable before its phase 2 is re-sent (rule 2).
    const view = await durableReadRetrying(this.deps, this.#logged.txnId);
    if (view === null) {
      this.stop(new Error('the transaction is no longer in the log'));
      return;
    }
    if (view.state !== this.#logged.state) {
      this.#adopt(view);
      return;
    }
    const tx = this.#logged;
    const effects = pendingPhaseTwo(tx);
    if (effects.length > 0 || isTerminal(tx.state)) {
      effects.forEach((e) => this.#launch(e));
      return;
    }
    // Every acknowledgement is in but the final state was not logged.
    const final = tx.state === TxState.COMMITTING ? TxState.COMMITTED : TxState.ABORTED;
    const done = { ...tx, state: final };
    const persisted = await persistPlan(
      this.deps,
      { kind: 'completion', from: tx.state, forced: done.onePhase },
      done,
      () => undefined,
    );
    if (persisted.kind === 'adopted') {
      this.#adopt(persisted.tx);
      return;
    }
    this.#logged = asLogged(done); // its completion landed
    this.#settle();
  }

  #stalled(err: Error): void {
    this.#waiters.stalled(err);
  }

  /** Resolves what the logged record allows. */
  #settle(): void {
    this.#waiters.settle(this.#logged, !this.#adopted, this.#abortKind);
  }

  /** Ends the run without an outcome (shutdown): recovery finishes it later. */
  stop(err: Error): void {
    this.#waiters.stop(err);
  }

  #launch(effect: Effect): void {
    const work =
      effect.type === 'send:prepare'
        ? prepare(this, effect.name)
        : effect.type === 'send:commit' && effect.onePhase
          ? commitOnePhase(this, effect.name)
          : deliver(this, effect);
    work.catch((err: unknown) => this.log.error({ err }, 'participant call failed'));
  }
}
