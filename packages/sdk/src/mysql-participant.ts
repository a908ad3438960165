import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { parseTxId } from './contract/limits.ts';
import type { TxId } from './contract/limits.ts';
import type { BranchState } from './branch-store.ts';
import { MYSQL_ERRNO, XaBranchError, XaFailureKind, errnoOf, failureKind } from './mysql-errors.ts';
import { checkMySqlServer } from './mysql-server-check.ts';
import type { MySqlServer } from './mysql-server-check.ts';
import { ResourceManager } from './resource-manager.ts';
import type { FinishAnswer } from './resource-manager.ts';
import { SystemClock } from './time/system-clock.ts';
import { sleep } from './time/clock.ts';
import type { TwopcParticipant } from './twopc-participant.ts';

/** The XID format id of twopc's branches ('twop' in ASCII): XA RECOVER lists others' too. */
export const XID_FORMAT_ID = 0x74776f70;

/** Isolation levels a branch can run at. */
export type MySqlIsolation = 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

export interface MySqlParticipantOptions {
  /** A mysql2 promise pool: branches take a connection of their own from it, phase 2 any. */
  readonly pool: Pool;
  /** The participant name (the branch qualifier of every XID). */
  readonly name: string;
  /**
   * The isolation level set before each branch's XA START. Default READ
   * COMMITTED: a prepared branch holds its locks until phase 2, and READ
   * COMMITTED holds the fewest (no gap locks, no read locks), as PostgreSQL's
   * default does. SERIALIZABLE makes every read lock its rows until phase 2:
   * serializable across databases, at the price of more waits and deadlocks.
   */
  readonly isolation?: MySqlIsolation;
}

/** XA_RBROLLBACK, XA_RBTIMEOUT, XA_RBDEADLOCK: the server rolled the branch back itself. */
const XA_ROLLED_BACK: ReadonlySet<number> = new Set([
  MYSQL_ERRNO.XA_RBROLLBACK,
  MYSQL_ERRNO.XA_RBTIMEOUT,
  MYSQL_ERRNO.XA_RBDEADLOCK,
]);

/** How often phase 2 asks again while its branch is still attached to the connection that prepared it. */
const DETACH_RETRIES = [5, 10, 20, 40, 80, 160];

/**
 * Makes a MariaDB (10.5 or later) or MySQL (8.0.30 or later) database a
 * resource manager through XA. A branch runs on one connection of its own
 * from XA START through the work, the marker row, XA END and XA PREPARE;
 * that connection is then closed, so the prepared branch is detached and
 * phase 2 (XA COMMIT / XA ROLLBACK by XID) runs from any pooled connection,
 * after a restart of this process too.
 *
 * The XID is twopc's format id with the transaction id (gtrid) and the
 * participant name (bqual) as hex literals: nothing is quoted.
 *
 * Phase 2 never guesses: "unknown XID" (XAER_NOTA) is checked against XA
 * RECOVER (still prepared: retried) and the marker row (committed), and is
 * otherwise a heuristic rollback reported to the coordinator.
 */
export class MySqlParticipant extends ResourceManager<PoolConnection> {
  readonly #pool: Pool;
  readonly #isolation: MySqlIsolation;
  readonly #clock = new SystemClock({ holdProcess: true });
  #server: MySqlServer | null = null;

  constructor(options: MySqlParticipantOptions) {
    super(options.name, 'mysql');
    this.#pool = options.pool;
    this.#isolation = options.isolation ?? 'READ COMMITTED';
    if (!['READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'].includes(this.#isolation)) {
      throw new Error(
        `isolation '${this.#isolation}' is not one of READ COMMITTED, REPEATABLE READ, SERIALIZABLE`,
      );
    }
  }

  /**
   * Creates the bookkeeping tables (idempotent) and probes the server (its
   * version, the XA RECOVER privilege, the binary log's settings). When the
   * server does not fit, the participant refuses work and votes ABORT, and
   * the helper given (if any) serves health NOT_SERVING; the returned
   * problems say what to fix.
   */
  async setUp(helper?: TwopcParticipant): Promise<MySqlServer> {
    await this.#pool.query(
      'CREATE TABLE IF NOT EXISTS twopc_committed (gid VARCHAR(160) NOT NULL PRIMARY KEY, committed_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB',
    );
    await this.#pool.query(
      'CREATE TABLE IF NOT EXISTS twopc_branches (txn_id CHAR(36) NOT NULL PRIMARY KEY, state VARCHAR(16) NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB',
    );
    this.#server = await checkMySqlServer(this.#pool, this.#isolation);
    if (this.#server.problems.length > 0) {
      helper?.health.setStatus('', 'NOT_SERVING');
      helper?.health.setStatus('twopc.v1.Participant', 'NOT_SERVING');
    }
    return this.#server;
  }

  /** The marker's key: the same form as PostgreSQL's global transaction id. */
  gid(txnId: string): string {
    return `twopc:${this.name}:${parseTxId(txnId)}`;
  }

  /** The branch's XID as XA statements take it: format id, gtrid and bqual as hex literals. */
  xid(txnId: string): string {
    const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
    return `X'${hex(parseTxId(txnId))}',X'${hex(this.name)}',${XID_FORMAT_ID}`;
  }

  protected async begin(txnId: TxId): Promise<PoolConnection> {
    const problems = this.#server?.problems ?? [];
    if (problems.length > 0) {
      throw new Error(`this participant does not serve: ${problems.join('; ')}`);
    }
    const conn = await this.#pool.getConnection();
    try {
      // For the next transaction only: the branch's, whatever the session's default.
      await conn.query(`SET TRANSACTION ISOLATION LEVEL ${this.#isolation}`);
      await conn.query(`XA START ${this.xid(txnId)}`);
    } catch (err) {
      conn.destroy();
      throw new XaBranchError(failureKind(err), 'XA START', err);
    }
    return conn;
  }

  protected async prepareOn(conn: PoolConnection, txnId: TxId): Promise<void> {
    const xid = this.xid(txnId);
    try {
      await conn.query('INSERT INTO twopc_committed (gid) VALUES (?)', [this.gid(txnId)]);
      await conn.query(`XA END ${xid}`);
    } catch (err) {
      await this.rollbackOn(conn, txnId);
      throw new XaBranchError(failureKind(err), 'before XA PREPARE', err);
    }
    try {
      await conn.query(`XA PREPARE ${xid}`);
    } catch (err) {
      const kind = failureKind(err);
      if (kind === XaFailureKind.CONNECTION_LOST) {
        conn.destroy();
        throw new XaBranchError(
          kind,
          'XA PREPARE (whether the branch is prepared is unknown: it is rolled back by its XID)',
          err,
        );
      }
      await this.rollbackOn(conn, txnId);
      throw new XaBranchError(kind, 'XA PREPARE', err);
    }
    // Closed, not returned to the pool: MariaDB refuses phase 2 from any
    // other connection (XAER_NOTA) while this one is open.
    conn.destroy();
  }

  /**
   * Ends and rolls back an unprepared branch: XA END refused in the IDLE
   * state (ended already) or in ROLLBACK ONLY (a deadlock rolled it back)
   * is expected, and XA ROLLBACK of a branch the server already dropped.
   */
  protected async rollbackOn(conn: PoolConnection, txnId: TxId): Promise<void> {
    const xid = this.xid(txnId);
    // Refused in IDLE (ended already) or ROLLBACK ONLY (XAER_RMFAIL), or
    // with the XA_RB* of a branch the server rolled back: expected here.
    const expected =
      (...errnos: number[]) =>
      (err: unknown): void => {
        const errno = errnoOf(err);
        if (errno === undefined || !(errnos.includes(errno) || XA_ROLLED_BACK.has(errno))) {
          throw err;
        }
      };
    try {
      await conn.query(`XA END ${xid}`).catch(expected(MYSQL_ERRNO.XAER_RMFAIL));
      await conn.query(`XA ROLLBACK ${xid}`).catch(expected(MYSQL_ERRNO.XAER_NOTA));
      conn.release();
    } catch {
      // A connection in an unknown state (lost, say) is closed: the server
      // then rolls back whatever it had not prepared.
      conn.destroy();
    }
  }

  protected async finishPrepared(txnId: TxId, commit: boolean): Promise<FinishAnswer> {
    const statement = `XA ${commit ? 'COMMIT' : 'ROLLBACK'} ${this.xid(txnId)}`;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#pool.query(statement);
        return 'FINISHED';
      } catch (err) {
        if (errnoOf(err) !== MYSQL_ERRNO.XAER_NOTA) {
          throw new XaBranchError(failureKind(err), statement.split(' X')[0] ?? statement, err);
        }
      }
      // Unknown XID while XA RECOVER lists it: the connection that prepared
      // it (closed a moment ago) is not yet detached. Asked again shortly;
      // past that, the caller's check reports it busy and phase 2 is retried.
      const wait = DETACH_RETRIES[attempt];
      if (wait === undefined || !(await this.preparedInDatabase()).includes(txnId)) {
        return 'UNKNOWN_BRANCH';
      }
      await sleep(this.#clock, wait);
    }
  }

  protected async markerExists(txnId: TxId): Promise<boolean> {
    const [rows] = await this.#pool.query<RowDataPacket[]>(
      'SELECT 1 FROM twopc_committed WHERE gid = ?',
      [this.gid(txnId)],
    );
    return rows.length === 1;
  }

  protected doomedBy(err: unknown): string | null {
    const kind = failureKind(err);
    return kind === XaFailureKind.REFUSED
      ? null
      : `${kind}: the work failed and the branch can only roll back: ${(err as Error).message}`;
  }

  /** Transaction ids of this participant's branches prepared in the database (XA RECOVER, our format id and name only). */
  async preparedInDatabase(): Promise<TxId[]> {
    const mysql = this.#server?.flavor === 'MySQL';
    const [rows] = await this.#pool.query<RowDataPacket[]>(
      mysql ? 'XA RECOVER CONVERT XID' : 'XA RECOVER',
    );
    const ids: TxId[] = [];
    const name = Buffer.from(this.name, 'utf8');
    for (const row of rows) {
      if (Number(row.formatID) !== XID_FORMAT_ID) {
        continue;
      }
      const data = xidBytes(row.data);
      const gtrid = data.subarray(0, Number(row.gtrid_length)).toString('utf8');
      const bqual = data.subarray(Number(row.gtrid_length));
      if (bqual.equals(name) && /^[0-9a-f-]{36}$/.test(gtrid)) {
        ids.push(gtrid as TxId);
      }
    }
    return ids;
  }

  protected async readRecord(txnId: TxId): Promise<BranchState | null> {
    const [rows] = await this.#pool.query<RowDataPacket[]>(
      'SELECT state FROM twopc_branches WHERE txn_id = ?',
      [txnId],
    );
    return (rows[0]?.state as BranchState | undefined) ?? null;
  }

  protected async writeRecord(txnId: TxId, state: BranchState): Promise<void> {
    await this.#pool.query(
      'INSERT INTO twopc_branches (txn_id, state) VALUES (?, ?) ON DUPLICATE KEY UPDATE state = ?, updated_at = CURRENT_TIMESTAMP(6)',
      [txnId, state, state],
    );
  }
}

/** An XID's gtrid and bqual bytes from XA RECOVER: raw (MariaDB) or `0x…` hex (MySQL's CONVERT XID). */
function xidBytes(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) {
    return data;
  }
  const text = String(data);
  return /^0x[0-9a-f]*$/i.test(text)
    ? Buffer.from(text.slice(2), 'hex')
    : Buffer.from(text, 'latin1');
}
