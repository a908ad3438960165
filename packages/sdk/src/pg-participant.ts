import type { Pool, PoolClient } from 'pg';
import { parseTxId } from './contract/limits.ts';
import type { TxId } from './contract/limits.ts';
import { BranchState } from './branch-store.ts';
import { ResourceManager } from './resource-manager.ts';
import type { FinishAnswer } from './resource-manager.ts';

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
 * exists and a heuristic rollback if it does not (ResourceManager).
 */
export class PgParticipant extends ResourceManager<PoolClient> {
  readonly #pool: Pool;
  readonly #schema: string;

  constructor(options: PgParticipantOptions) {
    super(options.name, 'postgresql');
    this.#pool = options.pool;
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
    return `twopc:${this.name}:${parseTxId(txnId)}`;
  }

  #literal(txnId: string): string {
    return `'${this.gid(txnId).replace(/'/g, "''")}'`;
  }

  protected async begin(): Promise<PoolClient> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    return client;
  }

  protected async prepareOn(client: PoolClient, txnId: TxId): Promise<void> {
    try {
      await client.query(`INSERT INTO ${this.#schema}.twopc_committed (gid) VALUES ($1)`, [
        this.gid(txnId),
      ]);
      await client.query(`PREPARE TRANSACTION ${this.#literal(txnId)}`);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  protected async rollbackOn(client: PoolClient): Promise<void> {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }

  protected async finishPrepared(txnId: TxId, commit: boolean): Promise<FinishAnswer> {
    try {
      await this.#pool.query(`${commit ? 'COMMIT' : 'ROLLBACK'} PREPARED ${this.#literal(txnId)}`);
      return 'FINISHED';
    } catch (err) {
      if ((err as { code?: string }).code !== NO_SUCH_PREPARED) {
        throw err;
      }
      return 'UNKNOWN_BRANCH';
    }
  }

  protected async markerExists(txnId: TxId): Promise<boolean> {
    const r = await this.#pool.query(
      `SELECT 1 FROM ${this.#schema}.twopc_committed WHERE gid = $1`,
      [this.gid(txnId)],
    );
    return r.rowCount === 1;
  }

  /** PostgreSQL rolls the local transaction back on any error: the branch can then only roll back. */
  protected doomedBy(err: unknown): string | null {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)
      ? `the work failed (SQLSTATE ${code}): ${(err as Error).message}`
      : null;
  }

  /** Transaction ids of this participant's branches prepared in the database. */
  async preparedInDatabase(): Promise<TxId[]> {
    const prefix = `twopc:${this.name}:`;
    const rows = await this.#pool.query<{ gid: string }>(
      'SELECT gid FROM pg_prepared_xacts WHERE gid LIKE $1 AND database = current_database()',
      [`${prefix}%`],
    );
    return rows.rows.map((r) => r.gid.slice(prefix.length) as TxId);
  }

  protected async readRecord(txnId: TxId): Promise<BranchState | null> {
    const r = await this.#pool.query<{ state: BranchState }>(
      `SELECT state FROM ${this.#schema}.twopc_branches WHERE txn_id = $1`,
      [txnId],
    );
    return r.rows[0]?.state ?? null;
  }

  protected async writeRecord(txnId: TxId, state: BranchState): Promise<void> {
    await this.#pool.query(
      `INSERT INTO ${this.#schema}.twopc_branches (txn_id, state) VALUES ($1, $2) ON CONFLICT (txn_id) DO UPDATE SET state = $2, updated_at = now()`,
      [txnId, state],
    );
  }
}

export { BranchState };
