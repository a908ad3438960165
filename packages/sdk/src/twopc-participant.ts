import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { KeyedMutex } from './shared/keyed-mutex.ts';
import { coerceError } from './contract/errors.ts';
import { parseTxId } from './contract/limits.ts';
import type { Outcome__Output } from './wire/generated/twopc/v1/Outcome.ts';
import type { ParticipantHandlers as WireHandlers } from './wire/generated/twopc/v1/Participant.ts';
import type { Vote__Output } from './wire/generated/twopc/v1/Vote.ts';
import { loadTwopcProto } from './wire/proto.ts';
import { BranchState, InMemoryBranchStore } from './branch-store.ts';
import type { BranchStore } from './branch-store.ts';
import { serveParticipantCall } from './participant-call.ts';
import { serveExchange } from './participant-exchange.ts';
import { ParticipantDrain } from './participant-drain.ts';
import type { Held } from './participant-drain.ts';
import type { PhaseHandlers } from './participant-exchange.ts';
import { SystemClock } from './time/system-clock.ts';
import { retryYoung } from './begins-ahead.ts';
import { TXN_ID_METADATA, TwopcClient } from './twopc-client.ts';
import type { TwopcClientOptions } from './twopc-client.ts';
import type { CoordinatorAddress } from './connection.ts';

/** A participant's vote from its prepare handler. */
export type VoteResult =
  { readonly vote: 'PREPARED' | 'READ_ONLY' } | { readonly vote: 'ABORT'; readonly reason: string };

/** What the application implements; the helper does the bookkeeping. */
export interface ParticipantHandlers {
  /** Make the branch's work durable and vote. Throwing counts as an ABORT vote. */
  prepare(txnId: string): Promise<VoteResult>;
  /**
   * Commit prepared work. Called once per branch while the helper remembers
   * it, and again for a branch it does not (after a restart), so it must be
   * idempotent. Throw an error with `outcome: 'ABORTED'` if the branch was
   * rolled back outside twopc (a heuristic outcome, reported to the coordinator).
   */
  commit(txnId: string): Promise<void>;
  /**
   * Roll back the branch's work, prepared or not; idempotent, like commit.
   * Throw an error with `outcome: 'COMMITTED'` if it was committed outside twopc.
   */
  abort(txnId: string, reason: string): Promise<void>;
}

export interface TwopcParticipantOptions {
  /** The name this service enlists under. */
  readonly name: string;
  /** The address the coordinator reaches this service at (host:port). */
  readonly endpoint: string;
  /** The coordinator's address (or several, balanced), or a client made for it. */
  readonly coordinator: CoordinatorAddress | TwopcClient;
  /**
   * How the helper reaches the coordinator when given its address: TLS
   * files and a bearer token (its identity needs the participant role,
   * bound to `name`).
   */
  readonly coordinatorOptions?: TwopcClientOptions;
  readonly handlers: ParticipantHandlers;
  readonly branches?: BranchStore;
  /**
   * A branch of this process left this long without an outcome is checked
   * with the coordinator by recoverInDoubt(). Prepared: committed or rolled
   * back as the log says (a coordinator that forgot to tell it, for any
   * reason). Joined but never prepared: rolled back when its transaction
   * ended without it (an Enlist lost with the log's crash), so no lock is
   * held forever. Branches left by an earlier process are checked at once.
   * Default 30 s.
   */
  readonly checkAfterMs?: number;
  /**
   * How often the helper runs recoverInDoubt() by itself once added to a
   * server (ms; 0: only when the application calls it). Default 5 s.
   */
  readonly checkEveryMs?: number;
  /**
   * Offer twopc.v1.BatchedParticipant: the coordinator then sends the phase
   * messages of many transactions in batches on one stream, instead of a
   * call per message. Default true.
   */
  readonly batched?: boolean;
}

/** The heuristic outcome an error from a handler reports, if any. */
function heuristic(err: unknown): string | undefined {
  const outcome = (err as { outcome?: unknown } | null)?.outcome;
  return typeof outcome === 'string' ? outcome : undefined;
}

const VOTE: Record<VoteResult['vote'], Vote__Output> = {
  PREPARED: 'VOTE_PREPARED',
  READ_ONLY: 'VOTE_READ_ONLY',
  ABORT: 'VOTE_ABORT',
};

/**
 * Serves twopc.v1.Participant and grpc.health.v1 for an application.
 * Self-enlists when a business call carries `twopc-txn-id`, dedupes repeated
 * phase-2 calls, acknowledges an Abort that precedes Prepare and then
 * refuses the late Prepare (suspension), and resolves in-doubt branches
 * after a restart by asking the coordinator.
 */
export class TwopcParticipant {
  readonly name: string;
  readonly endpoint: string;
  readonly client: TwopcClient;
  readonly health = new HealthImplementation({ '': 'SERVING', 'twopc.v1.Participant': 'SERVING' });
  readonly #handlers: ParticipantHandlers;
  readonly #branches: BranchStore;
  readonly #mutex = new KeyedMutex<string>();
  readonly #ownsClient: boolean;
  /** Branches joined and not yet prepared or finished, with when they were joined. */
  readonly #joined = new Map<string, number>();
  /** Branches prepared here and not yet told, with when they were prepared. */
  readonly #preparedAt = new Map<string, number>();
  readonly #checkAfterMs: number;
  readonly #checkEveryMs: number;
  readonly #batched: boolean;
  readonly #clock = new SystemClock();
  /** Awaited by whoever stops the participant: its timer holds the process. */
  readonly #drain = new ParticipantDrain(new SystemClock({ holdProcess: true }));
  #stopChecks: (() => void) | null = null;

  constructor(options: TwopcParticipantOptions) {
    this.name = options.name;
    this.endpoint = options.endpoint;
    this.#ownsClient = !(options.coordinator instanceof TwopcClient);
    this.client =
      options.coordinator instanceof TwopcClient
        ? options.coordinator
        : new TwopcClient(options.coordinator, options.coordinatorOptions);
    this.#handlers = options.handlers;
    this.#branches = options.branches ?? new InMemoryBranchStore();
    this.#checkAfterMs = options.checkAfterMs ?? 30_000;
    this.#checkEveryMs = options.checkEveryMs ?? 5_000;
    this.#batched = options.batched ?? true;
  }

  /**
   * Registers the Participant (and, unless `batched: false`, the
   * BatchedParticipant) and Health services on a server, and starts
   * the periodic check of in-doubt and abandoned branches (`checkEveryMs`;
   * its timer never keeps the process alive; close() stops it).
   */
  addTo(server: grpc.Server): void {
    const proto = loadTwopcProto().twopc.v1;
    const phases = this.#phaseHandlers();
    const serve = <Req extends { txnId: string }, Res>(
      fn: (txnId: string, req: Req) => Promise<Res>,
    ): grpc.handleUnaryCall<Req, Res> => serveParticipantCall<Req, Res>(this.name, fn);
    const unary: WireHandlers = {
      Prepare: serve((t, r) => phases.prepare(t, r)),
      Commit: serve((t, r) => phases.commit(t, r)),
      Abort: serve((t, r) => phases.abort(t, r)),
    };
    server.addService(proto.Participant.service, unary);
    if (this.#batched) {
      server.addService(proto.BatchedParticipant.service, {
        Exchange: serveExchange(this.name, phases),
      });
    }
    this.health.addToServer(server);
    if (this.#checkEveryMs > 0 && this.#stopChecks === null) {
      this.#scheduleCheck();
    }
  }

  #scheduleCheck(): void {
    this.#stopChecks = this.#clock.setTimeout(() => {
      this.recoverInDoubt()
        .catch(() => undefined) // the coordinator away: asked again next time
        .finally(() => {
          if (this.#stopChecks !== null) {
            this.#scheduleCheck();
          }
        });
    }, this.#checkEveryMs);
  }

  /**
   * Joins the transaction named by a call's `twopc-txn-id` metadata: enlists
   * this service once per transaction. Returns null when the call carries no
   * transaction.
   * @throws Error when the id is malformed or the transaction already ended
   */
  async join(metadata: grpc.Metadata): Promise<string | null> {
    const raw = metadata.get(TXN_ID_METADATA)[0];
    if (raw === undefined) {
      return null;
    }
    const txnId = parseTxId(String(raw), TXN_ID_METADATA);
    return this.#mutex.run(txnId, async () => {
      const state = await this.#branches.get(txnId);
      if (state !== null && state !== BranchState.ACTIVE) {
        throw new Error(`transaction ${txnId} is already ${state} here`);
      }
      if (state === null) {
        this.#refuseWhileDraining();
        // A client may pass its own id on while Begin is being written:
        // a coordinator that does not wait for such a row is asked again.
        await retryYoung(this.#clock, txnId, () =>
          this.client.enlist(txnId, { name: this.name, endpoint: this.endpoint }),
        );
        await this.#branches.set(txnId, BranchState.ACTIVE);
        this.#joined.set(txnId, this.#clock.now());
      }
      return txnId;
    });
  }

  /**
   * Wraps a unary business handler: joins the call's transaction first and
   * passes its id (null outside a transaction). A failed join answers
   * FAILED_PRECONDITION or INVALID_ARGUMENT.
   */
  unary<Req, Res>(
    fn: (call: grpc.ServerUnaryCall<Req, Res>, txnId: string | null) => Promise<Res>,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      this.#drain
        .run(async () => {
          this.#refuseWhileDraining();
          return fn(call, await this.join(call.metadata));
        })
        .then(
          (res) => callback(null, res),
          (err: unknown) => {
            const code = (err as { code?: unknown }).code;
            const status =
              typeof code === 'number'
                ? code
                : /not a transaction id|is required/.test(coerceError(err).message)
                  ? grpc.status.INVALID_ARGUMENT
                  : grpc.status.FAILED_PRECONDITION;
            callback({ code: status, details: coerceError(err).message });
          },
        );
    };
  }

  /** @throws an error with code UNAVAILABLE while the participant drains */
  #refuseWhileDraining(): void {
    if (this.#drain.draining) {
      throw Object.assign(
        new Error(
          `participant '${this.name}' is stopping: it takes no new work; call another instance or retry after its restart`,
        ),
        { code: grpc.status.UNAVAILABLE },
      );
    }
  }

  async #prepare(txnId: string): Promise<{ vote: Vote__Output; reason: string }> {
    const state = await this.#branches.get(txnId);
    if (state === null && this.#drain.draining) {
      // Not joined here, and no new work is taken: nothing to prepare.
      await this.#branches.set(txnId, BranchState.ABORTED);
      return { vote: 'VOTE_ABORT', reason: `participant '${this.name}' is stopping` };
    }
    if (state === BranchState.ABORTED) {
      return { vote: 'VOTE_ABORT', reason: 'aborted before prepare' }; // suspension
    }
    if (state === BranchState.PREPARED || state === BranchState.COMMITTED) {
      return { vote: 'VOTE_PREPARED', reason: '' };
    }
    if (state === BranchState.READ_ONLY) {
      return { vote: 'VOTE_READ_ONLY', reason: '' };
    }
    let result: VoteResult;
    try {
      result = await this.#handlers.prepare(txnId);
    } catch (err) {
      result = { vote: 'ABORT', reason: `prepare failed: ${coerceError(err).message}` };
    }
    if (result.vote === 'ABORT') {
      await this.#handlers.abort(txnId, result.reason).catch(() => undefined);
    }
    const next = {
      PREPARED: BranchState.PREPARED,
      READ_ONLY: BranchState.READ_ONLY,
      ABORT: BranchState.ABORTED,
    }[result.vote];
    await this.#branches.set(txnId, next);
    if (next === BranchState.PREPARED) {
      this.#preparedAt.set(txnId, this.#clock.now());
    }
    return { vote: VOTE[result.vote], reason: result.vote === 'ABORT' ? result.reason : '' };
  }

  async #commit(
    txnId: string,
    onePhase: boolean,
  ): Promise<{ outcome: Outcome__Output; reason: string }> {
    this.#preparedAt.delete(txnId);
    const state = await this.#branches.get(txnId);
    if (state === BranchState.COMMITTED || state === BranchState.READ_ONLY) {
      return { outcome: 'OUTCOME_COMMITTED', reason: '' };
    }
    if (state === BranchState.ABORTED) {
      return { outcome: 'OUTCOME_ABORTED', reason: 'the branch was rolled back' };
    }
    if (state !== BranchState.PREPARED && onePhase) {
      const vote = await this.#prepare(txnId);
      if (vote.vote === 'VOTE_ABORT') {
        return { outcome: 'OUTCOME_ABORTED', reason: vote.reason };
      }
    }
    // Prepared just now for a one-phase commit: told at once.
    this.#preparedAt.delete(txnId);
    // A branch the helper does not remember (lost across a restart) is
    // still committed by the handler: it holds the truth about its work.
    try {
      await this.#handlers.commit(txnId);
    } catch (err) {
      if (heuristic(err) !== 'ABORTED') {
        throw err;
      }
      await this.#branches.set(txnId, BranchState.ABORTED);
      return { outcome: 'OUTCOME_ABORTED', reason: coerceError(err).message };
    }
    await this.#branches.set(txnId, BranchState.COMMITTED);
    return { outcome: 'OUTCOME_COMMITTED', reason: '' };
  }

  async #abort(txnId: string, reason: string): Promise<{ outcome: Outcome__Output }> {
    this.#preparedAt.delete(txnId);
    const state = await this.#branches.get(txnId);
    if (state === BranchState.COMMITTED) {
      return { outcome: 'OUTCOME_COMMITTED' };
    }
    if (state !== BranchState.ABORTED && state !== BranchState.READ_ONLY) {
      try {
        await this.#handlers.abort(txnId, reason);
      } catch (err) {
        if (heuristic(err) !== 'COMMITTED') {
          throw err;
        }
        await this.#branches.set(txnId, BranchState.COMMITTED);
        return { outcome: 'OUTCOME_COMMITTED' };
      }
    }
    // Unknown here too: an empty rollback, remembered so that a late Prepare
    // is refused (suspension).
    await this.#branches.set(txnId, BranchState.ABORTED);
    return { outcome: 'OUTCOME_ABORTED' };
  }

  #phaseHandlers(): PhaseHandlers {
    // Phase-1/2 calls of one transaction run one at a time; once any
    // arrives, the branch is the coordinator's to finish, not abandoned.
    const serial = <Res>(txnId: string, fn: () => Promise<Res>): Promise<Res> => {
      this.#joined.delete(txnId);
      return this.#drain.run(() => this.#mutex.run(txnId, fn));
    };
    return {
      prepare: (txnId) => serial(txnId, () => this.#prepare(txnId)),
      commit: (txnId, req) => serial(txnId, () => this.#commit(txnId, req.onePhase)),
      abort: (txnId, req) => serial(txnId, () => this.#abort(txnId, req.reason)),
    };
  }

  /**
   * Resolves branches left PREPARED (after a restart with a durable branch
   * store, or in doubt here for `checkAfterMs`) by asking the coordinator,
   * and rolls back tentative work that its transaction ended without.
   * Returns how many prepared branches are still pending.
   */
  async recoverInDoubt(): Promise<number> {
    await this.#releaseAbandoned();
    let pending = 0;
    const due = this.#clock.now() - this.#checkAfterMs;
    for (const txnId of await this.#branches.listPrepared()) {
      if ((this.#preparedAt.get(txnId) ?? -Infinity) > due) {
        pending++; // prepared here a moment ago: phase 2 is on its way
        continue;
      }
      if ((await this.#branches.get(txnId)) === BranchState.ABORTED) {
        // Still prepared in the database though this branch voted ABORT or
        // was told to abort: the rollback failed (the connection lost
        // during its PREPARE, the database down). Rolled back again.
        await this.#mutex.run(txnId, () => this.#handlers.abort(txnId, 'rolled back again'));
        continue;
      }
      const outcome = await this.client.get(txnId).then(
        (tx) => tx.outcome,
        (err: grpc.ServiceError) =>
          err.code === grpc.status.NOT_FOUND ? 'OUTCOME_ABORTED' : 'OUTCOME_PENDING',
      );
      if (outcome === 'OUTCOME_COMMITTED') {
        await this.#mutex.run(txnId, () => this.#commit(txnId, false));
      } else if (outcome === 'OUTCOME_ABORTED') {
        await this.#mutex.run(txnId, () => this.#abort(txnId, 'resolved after restart'));
      } else {
        pending++;
      }
    }
    return pending;
  }

  /**
   * Joined branches nobody prepared or told for `checkAfterMs`: the
   * coordinator is asked, and a branch its transaction does not (or no
   * longer can) include is rolled back. A late Prepare is then refused.
   */
  async #releaseAbandoned(): Promise<void> {
    const due = this.#clock.now() - this.#checkAfterMs;
    for (const [txnId, joinedAt] of [...this.#joined]) {
      if (joinedAt > due) {
        continue;
      }
      const why = await this.client.get(txnId).then(
        // Listed: the coordinator prepares or tells this branch itself.
        (tx) =>
          tx.participants.some((p) => p.name === this.name)
            ? null
            : `not enlisted in transaction ${tx.state} (the Enlist was lost)`,
        (err: grpc.ServiceError) =>
          err.code === grpc.status.NOT_FOUND ? 'transaction unknown to the coordinator' : null,
      );
      if (why !== null && this.#joined.get(txnId) === joinedAt) {
        this.#joined.delete(txnId);
        await this.#mutex.run(txnId, () => this.#abort(txnId, `abandoned: ${why}`));
      }
    }
  }

  /**
   * Stops the participant the way a deploy needs (on SIGTERM): from now on
   * business calls (unary()) are refused with UNAVAILABLE, join() refuses a
   * transaction not joined yet, and a Prepare (or one-phase Commit) of a
   * transaction not joined here votes ABORT; transactions joined before
   * still prepare, and prepared branches are told their outcome (keep the
   * server and its health SERVING meanwhile: the coordinator delivers phase
   * 2 only to a participant that answers). Resolves once nothing is held
   * here, or after `timeoutMs`, with what is still held: branches joined
   * and never prepared are then rolled back; prepared ones stay prepared,
   * for the coordinator or the recovery of the next process.
   */
  async drain(timeoutMs = 30_000): Promise<Held> {
    const held = await this.#drain.stop(
      () => ({ joined: this.#joined.size, prepared: this.#preparedAt.size }),
      timeoutMs,
    );
    for (const txnId of [...this.#joined.keys()]) {
      this.#joined.delete(txnId);
      await this.#mutex
        .run(txnId, () => this.#abort(txnId, `participant '${this.name}' stopped`))
        .catch(() => undefined); // its transaction aborts without it: presumed abort
    }
    return held;
  }

  close(): void {
    this.#stopChecks?.();
    this.#stopChecks = null;
    if (this.#ownsClient) {
      this.client.close();
    }
  }
}
