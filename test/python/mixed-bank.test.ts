import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc/internal/twopc-client';
import {
  ACCOUNTS,
  BankProcess,
  START_BALANCE,
  assertBankInvariants,
  quiesce,
} from '../support/bank.ts';
import type { Transfer } from '../support/bank.ts';
import { TwopcProcess } from '../support/child.ts';
import { migratedSchema, testDatabaseUrl } from '../support/db.ts';
import { freePort } from '../support/hooks.ts';
import { OwnPostgres } from '../support/own-postgres.ts';
import { PythonBank } from './python-bank.ts';

const SECONDS = Number(process.env.TWOPC_CHAOS_SECONDS ?? '20');
const WORKERS = 4;

/** A bank's tables in a database of its own PostgreSQL (as test/support/bank.ts makes them). */
async function bankDatabase(server: OwnPostgres): Promise<string> {
  await server.sql('CREATE DATABASE bank');
  await server.sql(
    `CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
     CREATE TABLE transfers (txn_id uuid NOT NULL, account text NOT NULL, delta bigint NOT NULL);
     INSERT INTO accounts SELECT 'acct' || g, ${START_BALANCE} FROM generate_series(1, ${ACCOUNTS}) g;
     CREATE TABLE twopc_committed (gid text PRIMARY KEY, committed_at timestamptz NOT NULL DEFAULT now());
     CREATE TABLE twopc_branches (txn_id uuid PRIMARY KEY, state text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
    [],
    'bank',
  );
  return server.url('bank');
}

describe(`a bank transfer between a TypeScript and a Python participant, each on its own PostgreSQL, while the coordinator and the Python service are SIGKILLed mid-commit (${SECONDS} s)`, function () {
  this.timeout((SECONDS + 180) * 1000);
  let servers: OwnPostgres[] = [];
  let banks: [BankProcess, PythonBank] | null = null;
  let coordinator: TwopcProcess | null = null;
  let env: Record<string, string>;

  before(async function () {
    this.timeout(120_000);
    servers = [await OwnPostgres.create(), await OwnPostgres.create()];
    const [tsServer, pyServer] = servers as [OwnPostgres, OwnPostgres];
    banks = [
      new BankProcess('bank-ts', await bankDatabase(tsServer)),
      new PythonBank('bank-py', await bankDatabase(pyServer)),
    ];
    env = {
      DATABASE_URL: await testDatabaseUrl(),
      TWOPC_DB_SCHEMA: await migratedSchema(import.meta.url),
      TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
      TWOPC_COORDINATOR_NAME: 'mixed-bank',
      TWOPC_RETRY_BASE_MS: '50',
      TWOPC_RETRY_CAP_MS: '500',
      TWOPC_PREPARE_TIMEOUT_MS: '3000',
      TWOPC_CALL_TIMEOUT_MS: '2000',
      TWOPC_HEARTBEAT_INTERVAL_MS: '250',
      TWOPC_SWEEP_INTERVAL_MS: '200',
      TWOPC_RECOVERY_INTERVAL_MS: '500',
    };
    coordinator = new TwopcProcess(['serve'], env);
    await coordinator.serving();
    for (const b of banks) {
      await b.start(env.TWOPC_LISTEN ?? '');
    }
  });

  after(async function () {
    await coordinator?.kill('SIGKILL');
    await Promise.all((banks ?? []).map((b) => b.close()));
    await Promise.all(servers.map((s) => s.destroy()));
  });

  it('keeps money conserved, applies every transfer in both languages exactly once or not at all, leaves nothing prepared', async function () {
    const [ts, py] = banks as [BankProcess, PythonBank];
    const address = env.TWOPC_LISTEN ?? '';
    const client = new TwopcClient(address, { attempts: 3, callTimeoutMs: 5_000 });
    const until = Date.now() + SECONDS * 1000;
    const log: Transfer[] = [];
    let committing = 0;
    const account = (): string => `acct${1 + Math.floor(Math.random() * ACCOUNTS)}`;

    async function worker(): Promise<void> {
      while (Date.now() < until) {
        const [src, dst] = Math.random() < 0.5 ? [ts, py] : [py, ts];
        const amount = 1 + Math.floor(Math.random() * 200);
        let txnId: string;
        try {
          txnId = (await client.begin({ timeoutMs: 4_000 })).txnId;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        const entry: Transfer = { txnId, amount, told: 'UNKNOWN' };
        log.push(entry);
        try {
          await src.apply(txnId, account(), -amount);
          await dst.apply(txnId, account(), amount);
        } catch {
          entry.told = await client.abort(txnId).then(
            (a) => a.outcome as Transfer['told'],
            () => 'UNKNOWN',
          );
          continue;
        }
        committing++;
        entry.told = await client
          .commit(txnId, { timeoutMs: 8_000 })
          .then(
            (a) => a.outcome as Transfer['told'],
            () => 'UNKNOWN' as const,
          )
          .finally(() => committing--);
      }
    }

    /**
     * Waits until the Python bank holds a prepared branch (or the time is
     * up): a kill then lands between its PREPARE TRANSACTION and its COMMIT
     * PREPARED, mid-commit. True if one is prepared.
     */
    async function midCommit(): Promise<boolean> {
      while (Date.now() < until) {
        const { rows } = await py.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_prepared_xacts WHERE database = current_database()',
        );
        if ((rows[0]?.n ?? 0) > 0 && committing > 0) {
          return true;
        }
      }
      return false;
    }

    const faults = { coordinatorKills: 0, pythonKills: 0, midCommit: 0 };
    async function chaos(): Promise<void> {
      for (let i = 0; Date.now() < until - 3_000; i++) {
        await new Promise((r) => setTimeout(r, 1_000 + Math.random() * 2_000));
        const killCoordinator = i % 3 !== 2;
        const killPython = i % 3 !== 0;
        faults.midCommit += (await midCommit()) ? 1 : 0;
        await Promise.all([
          killCoordinator ? coordinator?.kill('SIGKILL') : undefined,
          killPython ? py.kill('SIGKILL') : undefined,
        ]);
        faults.coordinatorKills += killCoordinator ? 1 : 0;
        faults.pythonKills += killPython ? 1 : 0;
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 600));
        if (killCoordinator) {
          coordinator = new TwopcProcess(['serve'], env);
          await coordinator.serving();
        }
        if (killPython) {
          await py.start(address);
        }
      }
    }

    await Promise.all([chaos(), ...Array.from({ length: WORKERS }, () => worker())]);
    const final = await quiesce(client, [ts, py], log, 90_000);
    await assertBankInvariants([ts, py], log, final);
    const tally = { COMMITTED: 0, ABORTED: 0, UNKNOWN: 0 };
    log.forEach((t) => tally[t.told]++);
    console.log(
      `      ${log.length} transfers: ${tally.COMMITTED} committed, ${tally.ABORTED} aborted, ${tally.UNKNOWN} answers lost; ${faults.coordinatorKills} coordinator and ${faults.pythonKills} Python SIGKILLs, ${faults.midCommit} of the kills with a Python branch prepared and a Commit in flight`,
    );
    const committedBoth = [...final.values()].filter((s) => s === 'COMMITTED').length;
    assert.ok(committedBoth > 0, 'nothing committed: the test proved nothing');
    assert.ok(
      faults.coordinatorKills > 0 && faults.pythonKills > 0,
      'no kill: raise TWOPC_CHAOS_SECONDS',
    );
    assert.ok(faults.midCommit > 0, 'no kill landed while a Python branch was prepared');
    // Both live again: one more transfer each way, committed (once the
    // channels, backing off from the kills, have reconnected).
    for (const bank of [ts, py]) {
      await new Promise<void>((resolve, reject) =>
        bank.stub?.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())),
      );
    }
    for (const [src, dst] of [
      [ts, py],
      [py, ts],
    ] as const) {
      const probe = (await client.begin()).txnId;
      await src.apply(probe, 'acct1', -1);
      await dst.apply(probe, 'acct1', 1);
      assert.equal((await client.commit(probe, { waitForAcks: true })).outcome, 'COMMITTED');
    }
    client.close();
  });
});
