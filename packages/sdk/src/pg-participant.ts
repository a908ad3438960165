import type { Pool, PoolClient } from 'pg';
import { parseName, parseTxId } from './contract/limits.ts';
import { KeyedMutex } from './shared/keyed-mutex.ts';
import type { BranchStore } from './branch-store.ts';
import { BranchState } from './branch-store.ts';
import type { ParticipantHandlers, VoteResult } from './twopc-participant.ts';

/** SQLSTATE undefined_object: "prepared transaction ... does not exist". */
const NO_SUCH_PREPARED = '42704';

export interface PgParticipantOptions {
  readonly pool: Pool;
  /** The participant name (part of every global transaction id). */
  readonly name: string;
  /** Schema of the bookkeeping tables (default `public`). */
  readonly schema?: string;
}

/**
 * Makes a PostgreSQL database a resource manager through PREPARE
 * TRANSACTION / COMMIT PREPARED / ROLLBACK PREPARED. The application runs
 * its SQL inside the branch with `work()`; the branch holds one connection
 * until it is prepared or rolled back.
 *
 * Requires `max_prepared_transactions` > 0 on the server (at least the
 * number of branches prepared at once).
 *
 * Prepare writes a marker row in the same local transaction it prepares, so
 * the marker exists exactly when the branch committed: a COMMIT PREPARED
 * that finds no prepared transaction is "already committed" if the marker
 * exists and a heuristic rollback if it does not.
 */
export class PgParticipant implements ParticipantHandlers {
  readonly #pool: Pool;
  readonly #name: string;
  readonly #schema: string;
  readonly #open = new Map<string, PoolClient>();
  /**
   * One operation at a time per branch: an Abort (a lease expiry, an
   * abandoned branch) that rolled back the connection while `work()` was
   * still running on it would let the rest of that work run outside any
   * transaction, committed at once.
   */
  readonly #branch = new KeyedMutex<string>();

  constructor(options: PgParticipantOptions) {
    this.#pool = options.pool;
    this.#name = parseName(options.name, 'name');
    this.#schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]*$/.test(this.#schema)) {
      throw new Error(`invalid schema '${this.#schema}'`);
    }
  }

  /** Creates the bookkeeping tables (idempotent). */
  async setUp(): Promise<void> {
    await this.#pool
      .query(`CREATE TABLE IF NOT EXISTS ${this.#schema}.twopc_committed (gid text PRIMARY KEY, committed_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE IF NOT EXISTS ${this.#schema}.twopc_branches (txn_id uuid PRIMARY KEY, state text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
  }

  /**
   * The global transaction id: built only from the validated participant
   * name and a validated transaction id, then quoted as a literal (PREPARE
   * TRANSACTION takes no parameters).
   */
  gid(txnId: string): string {
    return `twopc:${this.#name}:${parseTxId(txnId)}`;
  }

  #literal(txnId: string): string {
    return `'${this.gid(txnId).replace(/'/g, "''")}'`;
  }

  /**
   * Runs SQL inside the branch of `txnId` (its local transaction is opened
   * on first use). Calls for one branch run one at a time, and never
   * alongside its Prepare or Abort; `fn` must not call work() for the same
   * branch itself.
   */
  async work<T>(txnId: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    parseTxId(txnId);
    return this.#branch.run(txnId, async () => {
      let client = this.#open.get(txnId);
      if (client === undefined) {
        client = await this.#pool.connect();
        this.#open.set(txnId, client);
        await client.query('BEGIN');
      }
      return fn(client);
    });
  }

  prepare(txnId: string): Promise<VoteResult> {
    return this.#branch.run(txnId, () => this.#prepare(txnId));
  }

  async #prepare(txnId: string): Promise<VoteResult> {
    const client = this.#open.get(txnId);
    if (client === undefined) {
      // Prepared already (a repeated Prepare after a restart), or the work
      // was never done here or died with a restart: then it must not commit.
      if ((await this.preparedInDatabase()).includes(parseTxId(txnId))) {
        return { vote: 'PREPARED' };
      }
      return {
        vote: 'ABORT',
        reason: 'no open branch here: its work was lost in a restart or never done',
      };
    }
    this.#open.delete(txnId);
    try {
      await client.query(`INSERT INTO ${this.#schema}.twopc_committed (gid) VALUES ($1)`, [
        this.gid(txnId),
      ]);
      await client.query(`PREPARE TRANSACTION ${this.#literal(txnId)}`);
      return { vote: 'PREPARED' };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      return { vote: 'ABORT', reason: (err as Error).message };
    } finally {
      client.release();
    }
  }

  async commit(txnId: string): Promise<void> {
    try {
      await this.#pool.query(`COMMIT PREPARED ${this.#literal(txnId)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== NO_SUCH_PREPARED) {
        throw err;
      }
      if (!(await this.#committed(txnId))) {
        throw new HeuristicRollbackError(this.gid(txnId));
      }
    }
  }

  abort(txnId: string): Promise<void> {
    return this.#branch.run(txnId, () => this.#abort(txnId));
  }

  async #abort(txnId: string): Promise<void> {
    const open = this.#open.get(txnId);
    if (open !== undefined) {
      this.#open.delete(txnId);
      await open.query('ROLLBACK').catch(() => undefined);
      open.release();
      return;
    }
    try {
      await this.#pool.query(`ROLLBACK PREPARED ${this.#literal(txnId)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== NO_SUCH_PREPARED) {
        throw err;
      }
      if (await this.#committed(txnId)) {
        throw new HeuristicCommitError(this.gid(txnId));
      }
    }
  }

  async #committed(txnId: string): Promise<boolean> {
    const r = await this.#pool.query(
      `SELECT 1 FROM ${this.#schema}.twopc_committed WHERE gid = $1`,
      [this.gid(txnId)],
    );
    return r.rowCount === 1;
  }

  /** Transaction ids of this participant's branches prepared in the database. */
  async preparedInDatabase(): Promise<string[]> {
    const prefix = `twopc:${this.#name}:`;
    const rows = await this.#pool.query<{ gid: string }>(
      'SELECT gid FROM pg_prepared_xacts WHERE gid LIKE $1 AND database = current_database()',
      [`${prefix}%`],
    );
    return rows.rows.map((r) => r.gid.slice(prefix.length));
  }

  /** A durable branch store in the same database (suspension and in-doubt recovery survive restarts). */
  branchStore(): BranchStore {
    const pool = this.#pool;
    const table = `${this.#schema}.twopc_branches`;
    return {
      get: async (txnId) =>
        (
          await pool.query<{ state: BranchState }>(`SELECT state FROM ${table} WHERE txn_id = $1`, [
            txnId,
          ])
        ).rows[0]?.state ?? null,
      set: async (txnId, state) => {
        await pool.query(
          `INSERT INTO ${table} (txn_id, state) VALUES ($1, $2) ON CONFLICT (txn_id) DO UPDATE SET state = $2, updated_at = now()`,
          [txnId, state],
        );
      },
      // The database is the truth about prepared branches: a crash between
      // PREPARE TRANSACTION and the branch record leaves only the former.
      listPrepared: async () => this.preparedInDatabase(),
    };
  }
}

/** COMMIT PREPARED found the branch rolled back by someone else. */
export class HeuristicRollbackError extends Error {
  readonly outcome = 'ABORTED';
  constructor(gid: string) {
    super(`heuristic rollback: prepared transaction ${gid} was rolled back outside twopc`);
  }
}

/** ROLLBACK PREPARED found the branch committed by someone else. */
export class HeuristicCommitError extends Error {
  readonly outcome = 'COMMITTED';
  constructor(gid: string) {
    super(`heuristic commit: prepared transaction ${gid} was committed outside twopc`);
  }
}

export { BranchState };
