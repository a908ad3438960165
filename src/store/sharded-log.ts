import { StoreBusyError, StoreUnavailableError } from 'twopc/internal/contract/errors';
import type { TxId, TxRecord } from '../core/tx-record.ts';
import type { Outcome, TxState } from 'twopc/internal/contract/tx-state';
import { newShardedTxnId, shardOf } from './shard-id.ts';
import type { ShardWeight } from './shard-id.ts';
import type {
  BeginInput,
  DecisionWrite,
  ListFilter,
  OperatorActionKind,
  Resolution,
  PreparingTx,
  TransactionLog,
  TransactionStore,
  TxAccess,
  TxView,
} from './transaction-store.ts';

/** One shard as the router sees it. */
interface Slot {
  /** Null until the shard's log is migrated and open (it may be down at start-up). */
  store: TransactionStore | null;
  /** Its share of new transactions (0: drained, takes none). */
  weight: number;
  /** False while its background work finds it unreachable: new transactions go elsewhere. */
  up: boolean;
  /**
   * A Begin on it failed or was refused (a stall shows there first): new
   * transactions go elsewhere until its background work next sees it answer.
   */
  avoided: boolean;
}

/**
 * The log over shards (DESIGN §9): every call about a transaction goes to
 * the shard its id names, with no lookup; a new transaction goes to a shard
 * chosen by weighted rendezvous hashing among the shards that answer; calls
 * about all transactions ask every shard and merge. One shard (id 0) is the
 * log as it always was.
 *
 * A transaction whose shard is not open here is never answered NOT_FOUND:
 * a participant takes that as "aborted", and the shard may hold its
 * decision. It is UNAVAILABLE, naming the shard, until the shard answers.
 */
export class ShardedLog implements TransactionLog {
  readonly #slots = new Map<number, Slot>();
  readonly #unknownShard: (shard: number, txnId: TxId) => void;
  #unknownShardCalls = 0;

  /**
   * @param unknownShard told of every call naming a shard this coordinator
   *   is not configured with (a shards file that differs between
   *   coordinators, or ids made up by a client): it is answered UNAVAILABLE,
   *   which would otherwise leave no trace
   */
  constructor(unknownShard: (shard: number, txnId: TxId) => void = () => undefined) {
    this.#unknownShard = unknownShard;
  }

  /** Calls that named a shard this coordinator is not configured with, so far. */
  get unknownShardCalls(): number {
    return this.#unknownShardCalls;
  }

  /** Declares a shard (its store still to come) or changes its weight. */
  declare(id: number, weight: number): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) {
      this.#slots.set(id, { store: null, weight, up: false, avoided: false });
    } else {
      slot.weight = weight;
    }
  }

  /** A declared shard's log is open. */
  attach(id: number, store: TransactionStore): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) {
      throw new Error(`log shard ${id} was not declared`);
    }
    slot.store = store;
    slot.up = true;
    slot.avoided = false;
  }

  /** Marks a shard reachable or not (its background work saw it answer, or fail). */
  reachable(id: number, up: boolean): void {
    const slot = this.#slots.get(id);
    if (slot !== undefined) {
      slot.up = up;
      slot.avoided &&= !up;
    }
  }

  /** Sends new transactions elsewhere until the shard's background work sees it answer. */
  avoid(id: number): void {
    const slot = this.#slots.get(id);
    if (slot !== undefined) {
      slot.avoided = true;
    }
  }

  /** Forgets a shard (removed from the shard set). */
  remove(id: number): void {
    this.#slots.delete(id);
  }

  /** The shards, their weights and whether they answer (open, and the last sweep succeeded). */
  shards(): { id: number; weight: number; up: boolean }[] {
    return [...this.#slots].map(([id, s]) => ({
      id,
      weight: s.weight,
      up: s.store !== null && s.up,
    }));
  }

  /** Whether any shard answers. */
  get anyUp(): boolean {
    return this.shards().some((s) => s.up);
  }

  #open(): [number, TransactionStore][] {
    return [...this.#slots]
      .filter(([, s]) => s.store !== null)
      .map(([id, s]) => [id, s.store as TransactionStore]);
  }

  #route(txnId: TxId): TransactionStore {
    const id = shardOf(txnId);
    const slot = this.#slots.get(id);
    if (slot === undefined) {
      this.#unknownShardCalls++;
      this.#unknownShard(id, txnId);
      throw new StoreUnavailableError(
        null,
        `transaction ${txnId} lives on log shard ${id}, which this coordinator is not configured with`,
      );
    }
    if (slot.store === null) {
      throw new StoreUnavailableError(null, `log shard ${id} has not answered since start-up`);
    }
    return slot.store;
  }

  /**
   * New transactions go to shards with weight that answer; when none of them
   * answers, to any with weight (the Begin then fails with that shard's
   * error rather than with a made-up one).
   */
  newTxnId(): TxId {
    const weighted = [...this.#slots]
      .filter(([, s]) => s.weight > 0)
      .map(([id, s]): ShardWeight & { live: boolean } => ({
        id,
        weight: s.weight,
        live: s.store !== null && s.up && !s.avoided,
      }));
    const live = weighted.filter((s) => s.live);
    const chosen = newShardedTxnId(live.length > 0 ? live : weighted);
    if (chosen === null) {
      // The shards file always gives one shard weight: only a log being stopped has none.
      throw new StoreUnavailableError(null, 'no log shard takes new transactions');
    }
    return chosen.txnId;
  }

  async begin(input: BeginInput): Promise<{ leaseExpiresAt: Date }> {
    try {
      return await this.#route(input.txnId).begin(input);
    } catch (err) {
      if (err instanceof StoreUnavailableError || err instanceof StoreBusyError) {
        // Until its background work sees it answer again, new transactions go elsewhere.
        this.avoid(shardOf(input.txnId));
      }
      throw err;
    }
  }

  enlist(
    txnId: TxId,
    name: string,
    endpoint: string,
  ): Promise<{ newlyEnlisted: boolean; leaseExpiresAt: Date }> {
    return this.#route(txnId).enlist(txnId, name, endpoint);
  }

  heartbeat(
    txnId: TxId,
    extendMs: number | null,
  ): Promise<{ state: TxState; leaseExpiresAt: Date }> {
    return this.#route(txnId).heartbeat(txnId, extendMs);
  }

  startPreparing(
    txnId: TxId,
    ownerId: string,
    onePhaseAllowed: boolean,
    durable = false,
  ): Promise<PreparingTx | null> {
    return this.#route(txnId).startPreparing(txnId, ownerId, onePhaseAllowed, durable);
  }

  recordDecision(tx: TxRecord): Promise<DecisionWrite> {
    return this.#route(tx.txnId).recordDecision(tx);
  }

  confirmOnePhase(txnId: TxId): Promise<boolean> {
    return this.#route(txnId).confirmOnePhase(txnId);
  }

  makeDurable(txnId: TxId): Promise<TxState | null> {
    return this.#route(txnId).makeDurable(txnId);
  }

  recordAck(txnId: TxId, name: string, heuristic: Outcome | null): Promise<void> {
    return this.#route(txnId).recordAck(txnId, name, heuristic);
  }

  recordDeliveryFailure(
    txnId: TxId,
    name: string,
    attempts: number,
    error: string,
    retryInMs: number,
  ): Promise<void> {
    return this.#route(txnId).recordDeliveryFailure(txnId, name, attempts, error, retryInMs);
  }

  recordCompletion(tx: TxRecord, from: TxState, forced: boolean): Promise<boolean> {
    return this.#route(tx.txnId).recordCompletion(tx, from, forced);
  }

  get(txnId: TxId): Promise<TxView | null> {
    return this.#route(txnId).get(txnId);
  }

  /**
   * Every open shard's page, merged newest first. The page token (creation
   * time, id) orders transactions the same way on every shard, so a page
   * continues correctly while shards are added or removed. A shard that is
   * not open, or fails, fails the listing: a list that silently leaves out a
   * shard's transactions would hide stuck work from the operator.
   */
  async list(filter: ListFilter): Promise<TxView[]> {
    const closed = [...this.#slots].filter(([, s]) => s.store === null).map(([id]) => id);
    if (closed.length > 0) {
      throw new StoreUnavailableError(
        null,
        `log shard ${closed.join(', ')} has not answered since start-up`,
      );
    }
    const open = this.#open();
    if (open.length === 1) {
      return open[0]![1].list(filter);
    }
    const pages = await Promise.all(
      open.map(([id, store]) =>
        store.list(filter).catch((err: unknown) => {
          throw err instanceof StoreUnavailableError
            ? new StoreUnavailableError(err, `log shard ${id}`)
            : err;
        }),
      ),
    );
    return pages.flat().sort(newestFirst).slice(0, filter.limit);
  }

  claimResolution(resolution: Resolution): Promise<boolean> {
    return this.#route(resolution.txnId).claimResolution(resolution);
  }

  recordOperatorAction(
    txnId: TxId,
    action: OperatorActionKind,
    participant: string | null,
    detail: string,
    principal: string | null,
  ): Promise<void> {
    return this.#route(txnId).recordOperatorAction(txnId, action, participant, detail, principal);
  }

  access(txnId: TxId, participant: string | null): Promise<TxAccess | null> {
    return this.#route(txnId).access(txnId, participant);
  }

  async openCount(tenant: string | null): Promise<number> {
    const counts = await Promise.all(this.#open().map(([, store]) => store.openCount(tenant)));
    return counts.reduce((a, b) => a + b, 0);
  }
}

/** The listing order: creation time, then id, both descending (as each shard's statement). */
function newestFirst(a: TxView, b: TxView): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  if (byTime !== 0) {
    return byTime;
  }
  return a.txnId < b.txnId ? 1 : a.txnId > b.txnId ? -1 : 0;
}
