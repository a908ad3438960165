import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { TwopcClient } from 'twopc/internal/twopc-client';
import { txnMetadata } from 'twopc/internal/twopc-client';
import { testDatabaseUrl, withClient } from './db.ts';
import { eventually } from './expect-status.ts';
import type { OwnMariaDb } from './own-mariadb.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ACCOUNTS = 8;
export const START_BALANCE = 1_000;

type Apply = grpc.Client & {
  apply(
    req: object,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (e: grpc.ServiceError | null) => void,
  ): void;
};

/** What the bank test reads of a bank's database, whichever database it is. */
export interface Ledger {
  /** Sum and minimum of the balances. */
  balances(): Promise<{ total: number; min: number }>;
  /** Every applied leg of a transfer. */
  transfers(): Promise<{ txnId: string; delta: number }[]>;
  /** Branches the database holds prepared. */
  preparedCount(): Promise<number>;
  /** Branches with tentative work open (not prepared), holding locks. */
  openCount(): Promise<number>;
  close(): Promise<void>;
}

/** A ledger on a PostgreSQL bank. */
class PgLedger implements Ledger {
  readonly #pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }
  async balances(): Promise<{ total: number; min: number }> {
    const r = await this.#pool.query<{ total: string; min: string }>(
      'SELECT sum(balance) AS total, min(balance) AS min FROM accounts',
    );
    return { total: Number(r.rows[0]?.total), min: Number(r.rows[0]?.min) };
  }
  async transfers(): Promise<{ txnId: string; delta: number }[]> {
    const r = await this.#pool.query<{ txn_id: string; delta: string }>(
      'SELECT txn_id, delta FROM transfers',
    );
    return r.rows.map((x) => ({ txnId: x.txn_id, delta: Number(x.delta) }));
  }
  async preparedCount(): Promise<number> {
    const r = await this.#pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_prepared_xacts WHERE database = current_database()',
    );
    return r.rows[0]?.n ?? -1;
  }
  async openCount(): Promise<number> {
    const r = await this.#pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    );
    return r.rows[0]?.n ?? -1;
  }
  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** A ledger on a MariaDB/MySQL bank (its server holds that bank only). */
export class MySqlLedger implements Ledger {
  readonly #pool: mysql.Pool;
  constructor(pool: mysql.Pool) {
    this.#pool = pool;
  }
  async #one(sql: string): Promise<mysql.RowDataPacket | undefined> {
    return (await this.#pool.query<mysql.RowDataPacket[]>(sql))[0][0];
  }
  async balances(): Promise<{ total: number; min: number }> {
    const r = await this.#one('SELECT sum(balance) AS total, min(balance) AS min FROM accounts');
    return { total: Number(r?.total), min: Number(r?.min) };
  }
  async transfers(): Promise<{ txnId: string; delta: number }[]> {
    const [rows] = await this.#pool.query<mysql.RowDataPacket[]>(
      'SELECT txn_id, delta FROM transfers',
    );
    return rows.map((x) => ({ txnId: String(x.txn_id), delta: Number(x.delta) }));
  }
  async preparedCount(): Promise<number> {
    const [rows] = await this.#pool.query<mysql.RowDataPacket[]>('XA RECOVER');
    return rows.length;
  }
  async openCount(): Promise<number> {
    // A prepared branch is detached (no thread); tentative work is not.
    // InnoDB refreshes this table only when it was not read for 0.1 s.
    await new Promise((r) => setTimeout(r, 150));
    const r = await this.#one(
      'SELECT count(*) AS n FROM information_schema.innodb_trx WHERE trx_mysql_thread_id <> 0 AND trx_mysql_thread_id <> CONNECTION_ID()',
    );
    return Number(r?.n);
  }
  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/**
 * One bank: a database made a participant (PostgreSQL by PgParticipant, or
 * for a `mysql://` URL, MariaDB/MySQL by MySqlParticipant), in a process of
 * its own (test/support/bank-process.ts) that tests SIGKILL.
 */
export class BankProcess {
  readonly name: string;
  readonly url: string;
  /** The PostgreSQL bank's pool (a MariaDB bank has none: read it through `ledger`). */
  readonly pool: pg.Pool;
  readonly ledger: Ledger;
  port = 0;
  #child: ChildProcess | null = null;
  stub: Apply | null = null;

  constructor(name: string, url: string) {
    this.name = name;
    this.url = url;
    this.pool = new pg.Pool({
      connectionString: url.startsWith('mysql:') ? undefined : url,
      max: 2,
    });
    this.pool.on('error', () => undefined);
    if (url.startsWith('mysql:')) {
      const pool = mysql.createPool({ uri: url, connectionLimit: 2 });
      pool.pool.on('connection', (c) => c.on('error', () => undefined));
      this.ledger = new MySqlLedger(pool);
    } else {
      this.ledger = new PgLedger(this.pool);
    }
  }

  /**
   * @param batched offer the batched channel (the helper's default)
   * @param root the checkout whose SDK it runs (another release's worktree, say)
   */
  async start(coordinator: string, batched = true, root: string = ROOT): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/support/bank-process.ts',
        JSON.stringify({
          name: this.name,
          databaseUrl: this.url,
          coordinator,
          port: this.port,
          batched,
        }),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.#child = child;
    this.port = await new Promise<number>((resolve, reject) => {
      child.once('exit', () => reject(new Error(`${this.name} exited at start`)));
      child.stdout?.once('data', (d: Buffer) =>
        resolve((JSON.parse(d.toString()) as { listening: number }).listening),
      );
    });
    if (this.stub === null) {
      const def = grpc.loadPackageDefinition(
        protoLoader.loadSync(fileURLToPath(new URL('./bank.proto', import.meta.url))),
      );
      const Bank = ((def.bank as grpc.GrpcObject).v1 as grpc.GrpcObject)
        .Bank as grpc.ServiceClientConstructor;
      this.stub = new Bank(
        `127.0.0.1:${this.port}`,
        grpc.credentials.createInsecure(),
      ) as unknown as Apply;
    }
  }

  async kill(): Promise<void> {
    const child = this.#child;
    // A process ended by a signal keeps exitCode null: signalCode says it ended.
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** Adds `delta` to an account inside a transaction (the bank self-enlists). */
  apply(txnId: string, account: string, delta: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.stub?.apply(
        { account, delta },
        txnMetadata(txnId),
        { deadline: new Date(Date.now() + 5_000) },
        (e) => (e ? reject(e) : resolve()),
      ),
    );
  }

  /** Stops the process and closes the stub and the pool. */
  async close(): Promise<void> {
    await this.kill();
    this.stub?.close();
    await this.ledger.close();
    if (!(this.ledger instanceof PgLedger)) {
      await this.pool.end();
    }
  }
}

/** Creates `count` bank databases (dropping old ones) in the test PostgreSQL. */
export async function createBanks(prefix: string, count: number): Promise<BankProcess[]> {
  const base = await testDatabaseUrl();
  const banks: BankProcess[] = [];
  for (let i = 0; i < count; i++) {
    const db = `${prefix}_${i}`;
    await withClient(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${db}`);
    });
    const url = new URL(base);
    url.pathname = `/${db}`;
    const bank = new BankProcess(`bank${i}`, url.toString());
    await bank.pool.query(
      'CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0))',
    );
    await bank.pool.query(
      'CREATE TABLE transfers (txn_id uuid NOT NULL, account text NOT NULL, delta bigint NOT NULL)',
    );
    await bank.pool.query(
      "INSERT INTO accounts SELECT 'acct' || g, $1 FROM generate_series(1, $2) g",
      [START_BALANCE, ACCOUNTS],
    );
    await bank.pool.query(
      'CREATE TABLE twopc_committed (gid text PRIMARY KEY, committed_at timestamptz NOT NULL DEFAULT now()); CREATE TABLE twopc_branches (txn_id uuid PRIMARY KEY, state text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())',
    );
    banks.push(bank);
  }
  return banks;
}

/** A transfer as its client saw it. */
export interface Transfer {
  readonly txnId: string;
  readonly amount: number;
  /** The outcome the client was told (UNKNOWN: no answer). */
  told: 'COMMITTED' | 'ABORTED' | 'UNKNOWN';
}

/**
 * Waits until every transfer is final in the log (NOT_FOUND counts as
 * aborted: presumed abort) and nothing is prepared in any bank; returns the
 * final outcomes.
 */
export async function quiesce(
  client: TwopcClient,
  banks: readonly BankProcess[],
  log: readonly Transfer[],
  timeoutMs = 60_000,
): Promise<Map<string, string>> {
  const final = new Map<string, string>();
  await eventually(
    async () => {
      for (const t of log) {
        if (!final.has(t.txnId)) {
          const state = await client.get(t.txnId).then(
            (x) => x.state,
            (e: grpc.ServiceError) => (e.code === grpc.status.NOT_FOUND ? 'ABORTED' : 'PENDING'),
          );
          if (state === 'COMMITTED' || state === 'ABORTED') {
            final.set(t.txnId, state);
          }
        }
      }
      return final.size === log.length;
    },
    timeoutMs,
    'every transaction finished in the log',
  );
  await untilNoneInAnyBank(
    banks,
    (l) => l.preparedCount(),
    'no prepared transaction left in any bank',
  );
  // Nor tentative work holding locks: every transaction is final, so a
  // branch still open was abandoned (its Enlist lost) and must be released.
  await untilNoneInAnyBank(banks, (l) => l.openCount(), 'no open tentative work left in any bank');
  return final;
}

/** Waits until a count answers 0 in every bank. */
async function untilNoneInAnyBank(
  banks: readonly BankProcess[],
  count: (ledger: Ledger) => Promise<number>,
  what: string,
): Promise<void> {
  await eventually(
    async () => {
      const counts = await Promise.all(banks.map((b) => count(b.ledger)));
      return counts.every((n) => n === 0);
    },
    30_000,
    what,
  );
}

/**
 * The bank test's invariants: money conserved, no negative balance, every
 * transfer applied in full or not at all as the log's final outcome says,
 * and every outcome a client was told is the one the log holds.
 */
export async function assertBankInvariants(
  banks: readonly BankProcess[],
  log: readonly Transfer[],
  final: ReadonlyMap<string, string>,
): Promise<void> {
  const balances = await Promise.all(banks.map((b) => b.ledger.balances()));
  const total = balances.reduce((s, b) => s + b.total, 0);
  assert.equal(total, banks.length * ACCOUNTS * START_BALANCE, 'money was created or destroyed');
  assert.ok(
    balances.every((b) => b.min >= 0),
    'a balance went negative',
  );
  const rows = (await Promise.all(banks.map((b) => b.ledger.transfers()))).flat();
  const applied = new Map<string, number[]>();
  rows.forEach((r) => applied.set(r.txnId, [...(applied.get(r.txnId) ?? []), r.delta]));
  for (const t of log) {
    const outcome = final.get(t.txnId);
    const deltas = (applied.get(t.txnId) ?? []).sort((x, y) => x - y);
    if (t.told !== 'UNKNOWN') {
      assert.equal(outcome, t.told, `${t.txnId}: told ${t.told}, logged ${outcome}`);
    }
    if (outcome === 'COMMITTED') {
      assert.deepEqual(
        deltas,
        [-t.amount, t.amount],
        `${t.txnId} committed but applied ${JSON.stringify(deltas)}`,
      );
    } else {
      assert.deepEqual(deltas, [], `${t.txnId} aborted but applied ${JSON.stringify(deltas)}`);
    }
  }
}

/** Creates a bank database (dropping an old one) in a MariaDB server of the test's own. */
export async function createMySqlBank(
  server: OwnMariaDb,
  name: string,
  database: string,
): Promise<BankProcess> {
  await server.sql(`DROP DATABASE IF EXISTS ${database}`);
  await server.sql(`CREATE DATABASE ${database}`);
  const run = (sql: string): Promise<unknown> => server.sql(sql, [], database);
  await run(
    'CREATE TABLE accounts (id VARCHAR(32) PRIMARY KEY, balance BIGINT NOT NULL CHECK (balance >= 0)) ENGINE=InnoDB',
  );
  await run(
    'CREATE TABLE transfers (txn_id CHAR(36) NOT NULL, account VARCHAR(32) NOT NULL, delta BIGINT NOT NULL) ENGINE=InnoDB',
  );
  const values = Array.from({ length: ACCOUNTS }, (_, i) => `('acct${i + 1}', ${START_BALANCE})`);
  await run(`INSERT INTO accounts VALUES ${values.join(', ')}`);
  return new BankProcess(name, `mysql://root@127.0.0.1:${server.port}/${database}`);
}
