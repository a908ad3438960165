import { decide, outcomeOf, pendingPhaseTwo } from '../core/decide.ts';
import type { Effect } from '../core/effect.ts';
import { InvalidTransitionError, coerceError } from '../core/errors.ts';
import { truncateReason } from '../core/limits.ts';
import { failpoint } from '../fault/failpoints.ts';
import type { TxRecord } from '../core/tx-record.ts';
import type { TxEvent } from '../core/tx-event.ts';
import { Outcome, TxState, isTerminal } from '../core/tx-state.ts';
import type { Watch } from '../participant/health-monitor.ts';
import type { ParticipantCall } from '../participant/participant-client.ts';
import { sleep } from '../time/clock.ts';
import { backoffMs } from './backoff.ts';
import { deferred } from './deferred.ts';
import type { Deferred } from './deferred.ts';
import type { RunDeps } from './run-deps.ts';
import { persistPlan } from './persist.ts';
import { planWrite } from './write-plan.ts';

/**
 * Drives one transaction in this process: applies events to the pure core,
 * writes what the core decided to the log, and only then sends the messages.
 */
export class TxRun {
  #tx: TxRecord;
  readonly #deps: RunDeps;
  readonly #decided = deferred<TxRecord>();
  readonly #finished = deferred<TxRecord>();
  #stall: Deferred<Error> | null = null;

  constructor(deps: RunDeps, tx: TxRecord) {
    this.#deps = deps;
    this.#tx = tx;
    this.#settle();
  }

  /** The record as this run knows it. */
  get tx(): TxRecord {
    return this.#tx;
  }

  /** Resolves once the outcome is durable (commit forced) or known. */
  get decided(): Promise<TxRecord> {
    return this.#decided.promise;
  }

  /** Resolves once every participant acknowledged and the final state is logged. */
  get finished(): Promise<TxRecord> {
    return this.#finished.promise;
  }

  /** Resolves with the next store error that holds up the decision. */
  nextStall(): Promise<Error> {
    this.#stall ??= deferred<Error>();
    return this.#stall.promise;
  }

  /**
   * Applies an event; a resulting decision is logged before any message leaves.
   * @throws InvalidTransitionError when the core rejects the event
   */
  async apply(event: TxEvent): Promise<TxRecord> {
    const before = this.#tx;
    const decision = decide(before, event);
    if (!decision.ok) {
      throw new InvalidTransitionError(before.txnId, before.state, decision.reason);
    }
    if (decision.next === before) {
      return before;
    }
    this.#tx = decision.next;
    const adopted = await persistPlan(this.#deps, planWrite(before, decision.next), decision.next, (err) => this.#stalled(err));
    if (adopted !== null) {
      this.#tx = adopted;
      this.#settle(true);
      return adopted;
    }
    this.#settle();
    decision.effects.forEach((e) => this.#launch(e));
    return this.#tx;
  }

  /** Re-sends whatever phase-2 messages are still owed (recovery is replay). */
  async resume(): Promise<void> {
    if (this.#tx.state === TxState.ACTIVE || this.#tx.state === TxState.PREPARING) {
      await this.#safeApply({ type: 'tx:recovered' });
      return;
    }
    const effects = pendingPhaseTwo(this.#tx);
    if (effects.length === 0 && !isTerminal(this.#tx.state)) {
      // Every acknowledgement is in but the final state was not logged.
      const final = this.#tx.state === TxState.COMMITTING ? TxState.COMMITTED : TxState.ABORTED;
      const done = { ...this.#tx, state: final };
      await persistPlan(this.#deps, { kind: 'completion', from: this.#tx.state }, done, () => undefined);
      this.#tx = done;
      this.#settle();
      return;
    }
    effects.forEach((e) => this.#launch(e));
  }

  #stalled(err: Error): void {
    this.#stall?.resolve(err);
    this.#stall = null;
  }

  /** Resolves the promises the state allows; `adopted`: another decider owns the rest. */
  #settle(adopted = false): void {
    if (outcomeOf(this.#tx) !== Outcome.PENDING && !this.#decided.settled) {
      this.#decided.resolve(this.#tx);
    }
    if ((isTerminal(this.#tx.state) || adopted) && !this.#finished.settled) {
      this.#finished.resolve(this.#tx);
    }
  }

  /** Ends the run without an outcome (shutdown): recovery finishes it later. */
  stop(err: Error): void {
    if (!this.#decided.settled) {
      this.#decided.reject(err);
    }
    if (!this.#finished.settled) {
      this.#finished.reject(err);
    }
  }

  async #safeApply(event: TxEvent): Promise<void> {
    try {
      await this.apply(event);
    } catch (err) {
      if (!(err instanceof InvalidTransitionError)) {
        this.#deps.log.error({ err, txn_id: this.#tx.txnId, event: event.type }, 'applying an event failed');
      }
    }
  }

  #launch(effect: Effect): void {
    const work =
      effect.type === 'send:prepare'
        ? this.#prepare(effect.name)
        : effect.type === 'send:commit' && effect.onePhase
          ? this.#commitOnePhase(effect.name)
          : this.#deliver(effect);
    work.catch((err: unknown) => this.#deps.log.error({ err, txn_id: this.#tx.txnId }, 'participant call failed'));
  }

  #call(name: string, timeoutMs: number): ParticipantCall {
    const p = this.#tx.participants.find((x) => x.name === name);
    if (p === undefined) {
      throw new Error(`unknown participant ${name}`);
    }
    return { endpoint: p.endpoint, txnId: this.#tx.txnId, name, timeoutMs };
  }

  async #prepare(name: string): Promise<void> {
    const { participants, config, health } = this.#deps;
    const call = this.#call(name, config.prepareTimeoutMs);
    const watch = health.watch(call.endpoint);
    try {
      // A participant that stops answering heartbeats fails its Prepare at
      // once; one that is alive but slow keeps its full prepare timeout.
      const down = watch.down ? Promise.resolve('it is DOWN') : watch.whenDown;
      const sent = participants.prepare(call);
      await failpoint('after_prepare_sent');
      const answer = await Promise.race([
        sent,
        down.then((why) => Promise.reject(new Error(`no heartbeat: ${why}`))),
      ]);
      const reason = answer.reason === null ? null : truncateReason(answer.reason);
      await this.#safeApply({ type: 'vote:received', name, vote: answer.vote, reason });
    } catch (err) {
      await this.#safeApply({ type: 'prepare:failed', name, reason: truncateReason(coerceError(err).message) });
    } finally {
      watch.release();
    }
  }

  async #commitOnePhase(name: string): Promise<void> {
    const { participants, config, clock, signal, health } = this.#deps;
    const call = this.#call(name, config.prepareTimeoutMs);
    const watch = health.watch(call.endpoint);
    const started = clock.now();
    try {
      for (let attempt = 1; this.#tx.state === TxState.PREPARING && !signal.aborted; attempt++) {
        try {
          const down = watch.down ? Promise.resolve('it is DOWN') : watch.whenDown;
          const ack = await Promise.race([participants.commit(call, true), down.then((why) => Promise.reject(new Error(`no heartbeat: ${why}`)))]);
          // An answer without an outcome is a plain acknowledgement: committed.
          await this.#safeApply({ type: 'onephase:answered', outcome: ack.outcome ?? Outcome.COMMITTED, reason: ack.reason });
          return;
        } catch (err) {
          if (watch.down || clock.now() - started >= config.prepareTimeoutMs) {
            // Its Abort answer tells whether the commit landed after all.
            const reason = `participant '${name}' did not answer the one-phase commit: ${coerceError(err).message}`;
            await this.#safeApply({ type: 'abort:requested', reason: truncateReason(reason) });
            return;
          }
          await sleep(clock, backoffMs(config.retry, attempt, this.#deps.random), signal);
        }
      }
    } finally {
      watch.release();
    }
  }

  async #deliver(effect: Effect & { type: 'send:commit' | 'send:abort' }): Promise<void> {
    const endpoint = this.#call(effect.name, 0).endpoint;
    const watch = this.#deps.health.watch(endpoint);
    try {
      await this.#deliverWatched(effect, watch);
    } finally {
      watch.release();
    }
  }

  /**
   * Phase 2 until acknowledged. Timeouts never abort here: a silent
   * participant is retried with backoff, and one that is DOWN is parked
   * until it answers heartbeats again.
   */
  async #deliverWatched(effect: Effect & { type: 'send:commit' | 'send:abort' }, watch: Watch): Promise<void> {
    const { participants, config, clock, signal, store, log, random } = this.#deps;
    const txnId = this.#tx.txnId;
    for (let attempt = 1; !signal.aborted; attempt++) {
      const p = this.#tx.participants.find((x) => x.name === effect.name);
      if (p === undefined || p.acked || isTerminal(this.#tx.state) || this.#finished.settled) {
        return;
      }
      try {
        const call = this.#call(effect.name, config.callTimeoutMs);
        const sent = effect.type === 'send:commit' ? participants.commit(call, false) : participants.abort(call, this.#tx.reason ?? '');
        await failpoint(effect.type === 'send:commit' ? 'after_commit_sent' : 'after_abort_sent');
        const ack = await sent;
        await this.#safeApply({ type: 'ack:received', name: effect.name, outcome: ack.outcome });
        const heuristic = this.#tx.participants.find((x) => x.name === effect.name)?.heuristic ?? null;
        if (heuristic !== null) {
          log.error({ txn_id: txnId, participant: effect.name, decided: this.#tx.state, reported: heuristic }, 'heuristic outcome: a participant ended its branch against the decision');
        }
        return;
      } catch (err) {
        const message = coerceError(err).message;
        const wait = backoffMs(config.retry, attempt, random);
        if (attempt === 1 || attempt % 10 === 0) {
          log.warn({ txn_id: txnId, participant: effect.name, attempt, retry_in_ms: wait, down: watch.down, err: message }, 'phase-2 delivery failed; retrying');
        }
        store.recordDeliveryFailure(txnId, effect.name, attempt, message, wait).catch(() => undefined);
        if (watch.down) {
          await untilAborted(watch.whenUp(), signal);
        } else {
          await sleep(clock, wait, signal);
        }
      }
    }
  }
}

/** Waits for a promise or the signal, whichever comes first. */
function untilAborted(work: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    signal.addEventListener('abort', () => resolve(), { once: true });
    void work.then(resolve);
  });
}
