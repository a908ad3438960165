import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { loadMigrations, migrateLog } from '../../src/store/migrate.ts';
import { GENERIC_FROM } from '../../src/store/pg-pools.ts';
import { ACCOUNTS, assertBankInvariants, createBanks, quiesce } from '../support/bank.ts';
import type { BankProcess, Transfer } from '../support/bank.ts';
import { TwopcProcess } from '../support/child.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { OwnPostgres } from '../support/own-postgres.ts';
import { PgBouncer } from '../support/pgbouncer.ts';
import type { BouncerUser } from '../support/pgbouncer.ts';

// The log behind Debian's PgBouncer in transaction mode, the most common
// production set-up: each transaction gets whichever server session is
// free, and two server sessions serve every client connection of the
// coordinator. The log's PostgreSQL is Debian's too; the banks (real
// PostgreSQL participants) are on the test run's own server.

/** The role the coordinators log in as (not a superuser). */
const APP: BouncerUser = { name: 'twopc_app', password: 'app-secret' };
/** The superuser (PgBouncer's admin too). */
const ADMIN: BouncerUser = { name: 'postgres', password: 'twopc' };
/** Server connections PgBouncer keeps per database and user. */
const SERVER_CONNECTIONS = 2;

/** Every migration's name as the runner reports it. */
async function migrationNames(): Promise<string[]> {
  return (await loadMigrations()).map((m) => `${String(m.id).padStart(6, '0')}_${m.name}`);
}

describe('The log behind PgBouncer in transaction mode (Debian pgbouncer)', function () {
  this.timeout(180_000);
  let server: OwnPostgres;
  let bouncer: PgBouncer;

  before(async function () {
    // No autovacuum: the log's statistics stay as a test sets them.
    server = await OwnPostgres.create({ autovacuum: 'off' }, {}, 'system');
    await server.sql(`CREATE ROLE ${APP.name} LOGIN PASSWORD '${APP.password}'`);
    await server.sql(`GRANT CREATE ON DATABASE postgres TO ${APP.name}`);
    bouncer = await PgBouncer.start(server.port, [ADMIN, APP], {
      pool_mode: 'transaction',
      default_pool_size: String(SERVER_CONNECTIONS),
      // Every server session reset after each transaction: whatever relies
      // on a session outliving its transaction (a setting, an advisory lock,
      // a prepared statement) fails every time, not only when PgBouncer
      // happens to hand the next transaction another session.
      server_reset_query: 'DISCARD ALL',
      server_reset_query_always: '1',
    });
  });

  after(async function () {
    await bouncer?.stop();
    await server?.destroy();
  });

  it('without --log-pooler, the coordinator refuses to start with one line naming it', async function () {
    const p = new TwopcProcess(['serve'], {
      DATABASE_URL: bouncer.url(APP, 'postgres'),
      TWOPC_DB_SCHEMA: 'pooler_refused',
      TWOPC_LISTEN: '127.0.0.1:0',
      TWOPC_LOG_LEVEL: 'info',
    });
    const ended = await Promise.race([
      p.exited.then(({ code }) => ({ code, served: false })),
      p.serving(60_000).then(() => ({ code: null, served: true })),
    ]);
    if (ended.served) {
      await p.kill('SIGKILL');
    }
    assert.equal(ended.served, false, `it served behind the pooler:\n${p.output}`);
    assert.equal(ended.code, 1, p.output);
    const lines = p.output.trim().split('\n');
    assert.equal(lines.length, 1, p.output);
    assert.match(lines[0] ?? '', /unsupported startup parameter: options/);
    assert.match(lines[0] ?? '', /--log-pooler transaction \(TWOPC_LOG_POOLER=transaction\)/);
    assert.doesNotMatch(p.output, /unreachable|cannot reach/);
    console.log(`      ${lines[0]}`);
  });

  it('without --log-pooler, refuses to start behind a pooler that drops the session settings', async function () {
    const dropping = await PgBouncer.start(server.port, [ADMIN, APP], {
      pool_mode: 'transaction',
      ignore_startup_parameters: 'options',
    });
    try {
      await assert.rejects(
        startCoordinator('pooler_dropped', { databaseUrl: dropping.url(APP, 'postgres') }),
        (e: Error) =>
          /did not get their session settings \(search_path is "\$user", public, not pooler_dropped\)/.test(
            e.message,
          ) && /--log-pooler transaction/.test(e.message),
      );
    } finally {
      await dropping.stop();
    }
  });

  it('with --log-pooler transaction, refuses to start while the role commits asynchronously', async function () {
    await server.sql(`ALTER ROLE ${APP.name} SET synchronous_commit = off`);
    try {
      // New server sessions take the role's setting.
      await bouncer.admin(ADMIN, 'RECONNECT');
      await assert.rejects(
        startCoordinator('pooler_async', {
          databaseUrl: bouncer.url(APP, 'postgres'),
          logPooler: 'transaction',
        }),
        (e: Error) =>
          /synchronous_commit is off for role twopc_app/.test(e.message) &&
          /ALTER ROLE twopc_app SET synchronous_commit = on/.test(e.message),
      );
    } finally {
      await server.sql(`ALTER ROLE ${APP.name} RESET synchronous_commit`);
      await bouncer.admin(ADMIN, 'RECONNECT');
    }
  });

  it('with --log-pooler transaction, two coordinators starting at once migrate once, and a bank load commits and aborts through two shared server connections', async function () {
    const schema = 'pooler_bank';
    const url = bouncer.url(APP, 'postgres');
    const options = { databaseUrl: url, logPooler: 'transaction' as const, dbPoolSize: 6 };
    const [a, b] = await Promise.all([
      startCoordinator(schema, { ...options, coordinatorName: 'pooler-a' }),
      startCoordinator(schema, { ...options, coordinatorName: 'pooler-b' }),
    ]);
    let banks: BankProcess[] = [];
    try {
      const applied = await server.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${schema}.twopc_migrations`,
      );
      assert.equal(applied[0]?.n, (await migrationNames()).length);
      assert.deepEqual(
        await server.sql(
          "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()",
        ),
        [],
        'an advisory lock outlived the migrations',
      );
      // The log as large as its statistics say once it holds many
      // transactions: statements would be prepared from now on without a
      // pooler (a prepared statement lives in one server session).
      await server.sql(
        `UPDATE pg_class SET reltuples = $1 WHERE oid = '${schema}.twopc_transactions'::regclass`,
        [GENERIC_FROM * 2],
      );
      banks = await createBanks('twopc_pooler', 3);
      for (const [i, bank] of banks.entries()) {
        await bank.start((i % 2 === 0 ? a : b).app.address);
      }
      const { log, maxServers, maxClients } = await bankLoad([a, b], banks, 240);
      const final = await quiesce(a.client, banks, log, 60_000);
      await assertBankInvariants(banks, log, final);
      const told = { COMMITTED: 0, ABORTED: 0, UNKNOWN: 0 };
      log.forEach((t) => told[t.told]++);
      assert.equal(told.UNKNOWN, 0, `answers lost: ${JSON.stringify(told)}`);
      assert.ok(told.COMMITTED >= 100 && told.ABORTED >= 40, JSON.stringify(told));
      assert.ok(
        maxServers <= SERVER_CONNECTIONS && maxClients > maxServers,
        `server sessions shared: ${maxClients} client connections, ${maxServers} server connections`,
      );
      console.log(
        `      ${log.length} transfers: ${told.COMMITTED} committed, ${told.ABORTED} aborted; ${maxClients} client connections over ${maxServers} server connections`,
      );
    } finally {
      await Promise.all(banks.map((bank) => bank.close()));
      await a.stop();
      await b.stop();
    }
  });

  it('migrates once when two runners migrate through the pooler at once', async function () {
    const url = bouncer.url(APP, 'postgres');
    const results = await Promise.all([
      migrateLog(url, 'pooler_migrate', () => undefined),
      migrateLog(url, 'pooler_migrate', () => undefined),
    ]);
    assert.deepEqual(results.flatMap((r) => r.applied).sort(), await migrationNames());
    const again = await migrateLog(url, 'pooler_migrate', () => undefined);
    assert.deepEqual(again.applied, []);
  });

  /**
   * Two-leg transfers from 6 clients over both coordinators until `count`
   * have an answer, one in three aborted by its client after both legs;
   * samples the connections on both sides of the pooler meanwhile.
   */
  async function bankLoad(
    coordinators: Harness[],
    banks: BankProcess[],
    count: number,
  ): Promise<{ log: Transfer[]; maxServers: number; maxClients: number }> {
    const client = new TwopcClient(
      coordinators.map((c) => c.app.address),
      { attempts: 1 },
    );
    const log: (Transfer & { abort: boolean })[] = [];
    let done = false;
    let maxServers = 0;
    let maxClients = 0;
    const sampler = (async () => {
      while (!done) {
        const servers = await server.sql<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1',
          [APP.name],
        );
        const clients = await bouncer.admin<{ user: string }>(ADMIN, 'SHOW CLIENTS');
        maxServers = Math.max(maxServers, servers[0]?.n ?? 0);
        maxClients = Math.max(maxClients, clients.filter((c) => c.user === APP.name).length);
      }
    })();
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; log.length < count; i++) {
        const { txnId } = await client.begin({ timeoutMs: 10_000 });
        const entry = {
          txnId,
          amount: 1 + ((w + i) % 5),
          told: 'UNKNOWN' as Transfer['told'],
          abort: (w + i) % 3 === 0,
        };
        log.push(entry);
        const from = banks[(w + i) % banks.length]!;
        const to = banks[(w + i + 1) % banks.length]!;
        const account = `acct${1 + (w % ACCOUNTS)}`;
        await from.apply(txnId, account, -entry.amount);
        await to.apply(txnId, account, entry.amount);
        const outcome = entry.abort
          ? await client.abort(txnId)
          : await client.commit(txnId, { timeoutMs: 10_000 });
        entry.told = outcome.outcome as Transfer['told'];
        assert.equal(entry.told, entry.abort ? 'ABORTED' : 'COMMITTED', txnId);
      }
    };
    try {
      await Promise.all(Array.from({ length: 6 }, (_, w) => worker(w)));
    } finally {
      done = true;
      await sampler;
      client.close();
    }
    return { log, maxServers, maxClients };
  }
});
