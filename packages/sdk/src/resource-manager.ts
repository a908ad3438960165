import { parseName, parseTxId } from './contract/limits.ts';
import type { TxId } from './contract/limits.ts';
import { KeyedMutex } from './shared/keyed-mutex.ts';
import type { BranchStore } from './branch-store.ts';
import { BranchState } from './branch-store.ts';
import { PreparedBranches } from './prepared-branches.ts';
import { BranchBusyError, HeuristicCommitError, HeuristicRollbackError } from './rm-errors.ts';
import type { ParticipantHandlers, VoteResult } from './twopc-participant.ts';

/** What the database answered to a phase-2 statement naming a prepared branch. */
export type FinishAnswer = 'FINISHED' | 'UNKNOWN_BRANCH';

/** How many tombstones (branches aborted before they prepared) are remembered. */
const TOMBSTONES_MAX = 100_000;

/**
 * A database made a resource manager of twopc: the part every database
 * shares. The application runs its SQL inside the branch with `work()` on
 * the branch's own connection; Prepare writes a marker row inside the branch
 * and prepares it; phase 2 finishes the branch by its id from any
 * connection. The subclasses (PostgreSQL, MariaDB/MySQL) say only how their
 * database begins, prepares, finishes and lists a branch.
 *
 * Phase 2 never guesses: when the database does not know the branch, the
 * outcome is read from the database itself (still prepared? marker row?),
 * never assumed.
 */
export abstract class ResourceManager<Conn> implements ParticipantHandlers {
  /** The participant name (part of every branch id). */
  readonly name: string;
  /** Branches with their work under way: the connection each one holds. */
  readonly #open = new Map<TxId, Conn>();
  /**
   * Branches this process holds, from the start of their first work() until
   * their Prepare (or Abort) has returned: what the recovery sweep leaves
   * alone. Wider than `#open` on purpose, see unownedPrepared().
   */
  readonly #held = new Set<TxId>();
  /** Why a branch can only roll back (its work failed in a way the database rolled back). */
  readonly #doomed = new Map<TxId, string>();
  /** Aborted here before they prepared: their late work() or Prepare is refused. */
  readonly #tombstones = new Set<TxId>();
  /**
   * One operation at a time per branch: an Abort (a lease expiry, an
   * abandoned branch) that rolled back the connection while `work()` was
   * still running on it would let the rest of that work run outside any
   * transaction, committed at once.
   */
  readonly #branch = new KeyedMutex<TxId>();
  /** Prepared branches known to this process, for the operator's gauges. */
  protected readonly prepared: PreparedBranches;

  protected constructor(name: string, database: string) {
    this.name = parseName(name, 'name');
    this.prepared = new PreparedBranches(this.name, database);
  }

  /** Opens a dedicated connection and begins the branch's local transaction on it. */
  protected abstract begin(txnId: TxId): Promise<Conn>;
  /**
   * Writes the marker row inside the branch and prepares it, then gives the
   * connection up (released or closed, whatever happens).
   * @throws Error when the branch did not prepare (or may not have: the connection lost)
   */
  protected abstract prepareOn(conn: Conn, txnId: TxId): Promise<void>;
  /** Rolls back a branch that is not prepared, then gives its connection up. */
  protected abstract rollbackOn(conn: Conn, txnId: TxId): Promise<void>;
  /** Commits or rolls back a prepared branch by its id, from any connection. */
  protected abstract finishPrepared(txnId: TxId, commit: boolean): Promise<FinishAnswer>;
  /** Whether the branch's marker row exists: it committed. */
  protected abstract markerExists(txnId: TxId): Promise<boolean>;
  /** The branch record kept in the database (durable suspension, in-doubt recovery). */
  protected abstract readRecord(txnId: TxId): Promise<BranchState | null>;
  protected abstract writeRecord(txnId: TxId, state: BranchState): Promise<void>;
  /** Transaction ids of this participant's branches the database holds prepared. */
  abstract preparedInDatabase(): Promise<TxId[]>;
  /**
   * The reason a failure inside work() leaves the branch only able to roll
   * back (the database already rolled it back, a deadlock say), or null.
   */
  protected abstract doomedBy(err: unknown): string | null;

  /**
   * Runs SQL inside the branch of `txnId` (its local transaction is begun on
   * first use). Calls for one branch run one at a time, and never alongside
   * its Prepare or Abort; `fn` must not call work() for the same branch itself.
   * @throws Error when the branch was aborted here already (its work must not start again)
   */
  async work<T>(txnId: string, fn: (conn: Conn) => Promise<T>): Promise<T> {
    const id = parseTxId(txnId);
    return this.#branch.run(id, async () => {
      if (this.#tombstones.has(id)) {
        throw new Error(`transaction ${id} was aborted here: its work does not start again`);
      }
      let conn = this.#open.get(id);
      if (conn === undefined) {
        this.#held.add(id);
        try {
          conn = await this.begin(id);
        } catch (err) {
          this.#held.delete(id);
          throw err;
        }
        this.#open.set(id, conn);
      }
      try {
        return await fn(conn);
      } catch (err) {
        const doomed = this.doomedBy(err);
        if (doomed !== null) {
          this.#doomed.set(id, doomed);
        }
        throw err;
      }
    });
  }

  prepare(txnId: string): Promise<VoteResult> {
    const id = parseTxId(txnId);
    return this.#branch.run(id, () => this.#prepare(id));
  }

  async #prepare(id: TxId): Promise<VoteResult> {
    const conn = this.#open.get(id);
    if (conn === undefined) {
      // Prepared already (a repeated Prepare after a restart), or the work
      // was never done here or died with a restart: then it must not commit.
      if ((await this.preparedInDatabase()).includes(id)) {
        return { vote: 'PREPARED' };
      }
      const why = this.#tombstones.has(id)
        ? 'aborted here before it prepared'
        : 'no open branch here: its work was lost in a restart or never done';
      return { vote: 'ABORT', reason: why };
    }
    this.#open.delete(id);
    const doomed = this.#doomed.get(id);
    this.#doomed.delete(id);
    try {
      if (doomed !== undefined) {
        await this.rollbackOn(conn, id);
        return { vote: 'ABORT', reason: doomed };
      }
      // A connection lost during the PREPARE statement leaves the branch
      // maybe prepared: the vote is ABORT, and the Abort that follows (or
      // the sweep, if that fails too) rolls it back by its id.
      await this.prepareOn(conn, id);
      this.prepared.add(id);
      return { vote: 'PREPARED' };
    } catch (err) {
      return { vote: 'ABORT', reason: (err as Error).message };
    } finally {
      // Only now: the sweep must not see this branch ownerless while its
      // Prepare is still on its way (see unownedPrepared()).
      this.#held.delete(id);
    }
  }

  commit(txnId: string): Promise<void> {
    const id = parseTxId(txnId);
    return this.#branch.run(id, async () => {
      if ((await this.finishPrepared(id, true)) === 'UNKNOWN_BRANCH') {
        await this.#checkOutcome(id, BranchState.COMMITTED);
      }
      this.prepared.remove(id);
    });
  }

  abort(txnId: string): Promise<void> {
    const id = parseTxId(txnId);
    return this.#branch.run(id, async () => {
      this.#tombstone(id);
      const conn = this.#open.get(id);
      if (conn !== undefined) {
        this.#open.delete(id);
        this.#doomed.delete(id);
        this.#held.delete(id);
        await this.rollbackOn(conn, id);
        return;
      }
      if ((await this.finishPrepared(id, false)) === 'UNKNOWN_BRANCH') {
        await this.#checkOutcome(id, BranchState.ABORTED);
      }
      this.prepared.remove(id);
    });
  }

  #tombstone(id: TxId): void {
    this.#tombstones.delete(id);
    this.#tombstones.add(id);
    if (this.#tombstones.size > TOMBSTONES_MAX) {
      const oldest = this.#tombstones.values().next();
      if (oldest.done !== true) {
        this.#tombstones.delete(oldest.value);
      }
    }
  }

  /**
   * The database does not know the branch by its id: what became of it?
   * Read in this order: the prepared list first, then the marker. A branch
   * another connection finishes between the two reads is then seen
   * finished (its marker is read after its commit), never missing; in the
   * other order it could be read "no marker" just before it committed and
   * "not prepared" just after, a false heuristic rollback.
   * @throws BranchBusyError when the database still holds it prepared (its
   *   preparing connection not yet detached, say): finished by a retry
   * @throws HeuristicRollbackError, HeuristicCommitError when someone else
   *   finished it the other way
   */
  async #checkOutcome(id: TxId, wanted: BranchState): Promise<void> {
    if ((await this.preparedInDatabase()).includes(id)) {
      throw new BranchBusyError(this.name, id);
    }
    const committed = await this.markerExists(id);
    this.prepared.remove(id);
    if (wanted === BranchState.COMMITTED && !committed) {
      throw new HeuristicRollbackError(this.name, id);
    }
    if (wanted === BranchState.ABORTED && committed) {
      throw new HeuristicCommitError(this.name, id);
    }
  }

  /**
   * Prepared branches of this participant that no branch of this process
   * holds: the ones the recovery sweep asks the coordinator about.
   *
   * The order of the two reads is what keeps the sweep off a branch being
   * prepared right now. The database's list is read first, then what this
   * process holds. A branch in the list had finished its PREPARE before
   * the first read; it is held from its first work() until its Prepare has
   * returned, so at the second read it is either still held (left alone)
   * or its Prepare has answered and it is the helper's to finish like any
   * prepared branch. Read the other way round, a branch could begin,
   * prepare and be listed between the two reads, and look ownerless while
   * its vote is still on its way.
   */
  async unownedPrepared(): Promise<TxId[]> {
    const listed = await this.preparedInDatabase();
    const unowned = listed.filter((id) => !this.#held.has(id));
    this.prepared.seen(listed);
    return unowned;
  }

  /** A durable branch store in the same database (suspension and in-doubt recovery survive restarts). */
  branchStore(): BranchStore {
    return {
      get: (txnId) => this.readRecord(parseTxId(txnId)),
      set: (txnId, state) => this.writeRecord(parseTxId(txnId), state),
      // The database is the truth about prepared branches: a crash between
      // the PREPARE and the branch record leaves only the former.
      listPrepared: () => this.unownedPrepared(),
    };
  }

  /** Stops exporting this participant's gauges. */
  close(): void {
    this.prepared.close();
  }
}
