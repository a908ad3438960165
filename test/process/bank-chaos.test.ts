import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import pg from 'pg';
import { TwopcClient, txnMetadata } from '../../src/sdk/twopc-client.ts';
import { TwopcProcess } from '../support/child.ts';
import { migratedSchema, testDatabaseUrl, withClient } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { freePort } from '../support/hooks.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECONDS = Number(process.env.TWOPC_CHAOS_SECONDS ?? '40');
const SEED = Number(process.env.TWOPC_CHAOS_SEED ?? String(Date.now() % 1_000_000));
const BANKS = 3;
const ACCOUNTS = 8;
const START_BALANCE = 1_000;
const WORKERS = 6;

/** Deterministic random numbers from the seed (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Apply = grpc.Client & {
  apply(
    req: object,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (e: grpc.ServiceError | null) => void,
  ): void;
};

class BankProcess {
  readonly name: string;
  readonly url: string;
  port = 0;
  #child: ChildProcess | null = null;
  stub: Apply | null = null;

  constructor(name: string, url: string) {
    this.name = name;
    this.url = url;
  }

  async start(coordinator: string): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/support/bank-process.ts',
        JSON.stringify({ name: this.name, databaseUrl: this.url, coordinator, port: this.port }),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
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
        protoLoader.loadSync(fileURLToPath(new URL('../support/bank.proto', import.meta.url))),
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
    if (child !== null && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }

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
}

interface Transfer {
  txnId: string;
  amount: number;
  told: 'COMMITTED' | 'ABORTED' | 'UNKNOWN';
}

describe(`bank-transfer chaos: SIGKILLs during concurrent transfers (${SECONDS} s, seed ${SEED})`, function () {
  this.timeout((SECONDS + 120) * 1000);
  const random = rng(SEED);
  const banks: BankProcess[] = [];
  const pools: pg.Pool[] = [];
  let coordinator: TwopcProcess | null = null;
  let env: Record<string, string>;

  before(async function () {
    console.log(`      chaos seed ${SEED} (replay: TWOPC_CHAOS_SEED=${SEED})`);
    const schema = await migratedSchema(import.meta.url);
    const base = await testDatabaseUrl();
    env = {
      DATABASE_URL: base,
      TWOPC_DB_SCHEMA: schema,
      TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
      TWOPC_COORDINATOR_NAME: 'chaos',
      TWOPC_RETRY_BASE_MS: '50',
      TWOPC_RETRY_CAP_MS: '500',
      TWOPC_PREPARE_TIMEOUT_MS: '3000',
      TWOPC_CALL_TIMEOUT_MS: '2000',
      TWOPC_HEARTBEAT_INTERVAL_MS: '250',
      TWOPC_SWEEP_INTERVAL_MS: '200',
      TWOPC_RECOVERY_INTERVAL_MS: '500',
    };
    for (let i = 0; i < BANKS; i++) {
      const db = `twopc_chaos_${i}`;
      await withClient(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await c.query(`CREATE DATABASE ${db}`);
      });
      const url = new URL(base);
      url.pathname = `/${db}`;
      const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
      pool.on('error', () => undefined);
      pools.push(pool);
      await pool.query(
        'CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0))',
      );
      await pool.query(
        'CREATE TABLE transfers (txn_id uuid NOT NULL, account text NOT NULL, delta bigint NOT NULL)',
      );
      await pool.query(
        "INSERT INTO accounts SELECT 'acct' || g, $1 FROM generate_series(1, $2) g",
        [START_BALANCE, ACCOUNTS],
      );
      await pool.query(
        'CREATE TABLE twopc_committed (gid text PRIMARY KEY, committed_at timestamptz NOT NULL DEFAULT now()); CREATE TABLE twopc_branches (txn_id uuid PRIMARY KEY, state text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())',
      );
      banks.push(new BankProcess(`bank${i}`, url.toString()));
    }
    coordinator = new TwopcProcess(['serve'], env);
    await coordinator.serving();
    for (const b of banks) {
      await b.start(env.TWOPC_LISTEN ?? '');
    }
  });

  after(async function () {
    await coordinator?.kill('SIGKILL');
    for (const b of banks) {
      await b.kill();
      b.stub?.close();
    }
    await Promise.all(pools.map((p) => p.end()));
  });

  async function worker(client: TwopcClient, until: number, log: Transfer[]): Promise<void> {
    while (Date.now() < until) {
      const [from, to] = [Math.floor(random() * BANKS), Math.floor(random() * (BANKS - 1))];
      const target = to >= from ? to + 1 : to;
      const amount = 1 + Math.floor(random() * 200);
      const [src, dst] = [banks[from], banks[target]];
      let txnId = '';
      try {
        txnId = (await client.begin({ timeoutMs: 4_000 })).txnId;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const entry: Transfer = { txnId, amount, told: 'UNKNOWN' };
      log.push(entry);
      try {
        await src?.apply(txnId, `acct${1 + Math.floor(random() * ACCOUNTS)}`, -amount);
        await dst?.apply(txnId, `acct${1 + Math.floor(random() * ACCOUNTS)}`, amount);
      } catch {
        entry.told = await client.abort(txnId).then(
          (a) => a.outcome as Transfer['told'],
          () => 'UNKNOWN',
        );
        continue;
      }
      entry.told = await client.commit(txnId, { timeoutMs: 8_000 }).then(
        (a) => a.outcome as Transfer['told'],
        () => 'UNKNOWN',
      );
    }
  }

  async function chaos(until: number): Promise<{ coordinatorKills: number; bankKills: number }> {
    let coordinatorKills = 0;
    let bankKills = 0;
    while (Date.now() < until - 3_000) {
      await new Promise((r) => setTimeout(r, 1_500 + random() * 3_000));
      await coordinator?.kill('SIGKILL');
      coordinatorKills++;
      const victim = random() < 0.4 ? banks[Math.floor(random() * BANKS)] : undefined;
      if (victim !== undefined) {
        await victim.kill();
        bankKills++;
      }
      await new Promise((r) => setTimeout(r, 200 + random() * 600));
      coordinator = new TwopcProcess(['serve'], env);
      await coordinator.serving();
      await victim?.start(env.TWOPC_LISTEN ?? '');
    }
    return { coordinatorKills, bankKills };
  }

  it('keeps money conserved, applies every transfer exactly once or not at all, leaves nothing prepared', async function () {
    const client = new TwopcClient(env.TWOPC_LISTEN ?? '', { attempts: 3, callTimeoutMs: 5_000 });
    const until = Date.now() + SECONDS * 1000;
    const log: Transfer[] = [];
    const [kills] = await Promise.all([
      chaos(until),
      ...Array.from({ length: WORKERS }, () => worker(client, until, log)),
    ]);

    // Quiesce: every transaction finished in the log, nothing prepared anywhere.
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
      60_000,
      'every transaction finished',
    );
    await eventually(
      async () => {
        const counts = await Promise.all(
          pools.map((p) =>
            p.query(
              'SELECT count(*)::int AS n FROM pg_prepared_xacts WHERE database = current_database()',
            ),
          ),
        );
        return counts.every((c) => c.rows[0].n === 0);
      },
      30_000,
      'no prepared transaction left',
    );

    const balances = await Promise.all(
      pools.map((p) =>
        p.query<{ total: string; min: string }>(
          'SELECT sum(balance) AS total, min(balance) AS min FROM accounts',
        ),
      ),
    );
    const total = balances.reduce((s, b) => s + Number(b.rows[0]?.total), 0);
    assert.equal(total, BANKS * ACCOUNTS * START_BALANCE, 'money was created or destroyed');
    assert.ok(
      balances.every((b) => Number(b.rows[0]?.min) >= 0),
      'a balance went negative',
    );

    const rows = (
      await Promise.all(
        pools.map((p) =>
          p.query<{ txn_id: string; delta: string }>('SELECT txn_id, delta FROM transfers'),
        ),
      )
    ).flatMap((r) => r.rows);
    const applied = new Map<string, number[]>();
    rows.forEach((r) => applied.set(r.txn_id, [...(applied.get(r.txn_id) ?? []), Number(r.delta)]));
    const tally = { COMMITTED: 0, ABORTED: 0, UNKNOWN: 0 };
    for (const t of log) {
      tally[t.told]++;
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
    console.log(
      `      ${log.length} transfers: ${tally.COMMITTED} committed, ${tally.ABORTED} aborted, ${tally.UNKNOWN} answers lost; ${kills.coordinatorKills} coordinator kills, ${kills.bankKills} bank kills`,
    );
    assert.ok(tally.COMMITTED > 0, 'nothing committed: the test proved nothing');
    client.close();
  });
});
