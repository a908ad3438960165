import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { assertBankInvariants, createBanks, createMySqlBank, quiesce } from '../support/bank.ts';
import type { BankProcess } from '../support/bank.ts';
import { TwopcProcess } from '../support/child.ts';
import { migratedSchema, testDatabaseUrl } from '../support/db.ts';
import { freePort } from '../support/hooks.ts';
import { OwnMariaDb } from '../support/own-mariadb.ts';
import { TransferLoad } from '../support/transfer-load.ts';

describe('a bank transfer between a PostgreSQL service and a MariaDB service, under coordinator, participant and database SIGKILLs', function () {
  this.timeout(240_000);
  let maria: OwnMariaDb;
  let banks: BankProcess[] = [];
  let coordinator: TwopcProcess | null = null;
  let env: Record<string, string>;

  before(async function () {
    maria = await OwnMariaDb.create({ binlog: true });
    const schema = await migratedSchema(import.meta.url);
    env = {
      DATABASE_URL: await testDatabaseUrl(),
      TWOPC_DB_SCHEMA: schema,
      TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
      TWOPC_RETRY_BASE_MS: '50',
      TWOPC_RETRY_CAP_MS: '500',
      TWOPC_PREPARE_TIMEOUT_MS: '3000',
      TWOPC_CALL_TIMEOUT_MS: '2000',
      TWOPC_SWEEP_INTERVAL_MS: '200',
      TWOPC_RECOVERY_INTERVAL_MS: '500',
    };
    const [pgBank] = await createBanks('twopc_two_db', 1);
    const mariaBank = await createMySqlBank(maria, 'maria-bank', 'twopc_two_db');
    banks = [pgBank as BankProcess, mariaBank];
    coordinator = new TwopcProcess(['serve'], env);
    await coordinator.serving();
    for (const b of banks) {
      await b.start(env.TWOPC_LISTEN ?? '');
    }
  });

  after(async function () {
    await coordinator?.kill('SIGKILL');
    await Promise.all(banks.map((b) => b.close()));
    await maria?.destroy();
  });

  it('keeps money conserved, applies each transfer in both databases or in neither, leaves no branch prepared', async function () {
    const client = new TwopcClient(env.TWOPC_LISTEN ?? '', { attempts: 3, callTimeoutMs: 5_000 });
    const load = new TransferLoad(client, banks, 4, { ownAccounts: true });
    const [pgBank, mariaBank] = banks as [BankProcess, BankProcess];
    const faults: string[] = [];
    const committedAfter = (what: string): Promise<void> =>
      load.committedSince(Date.now(), 60_000, `a commit after ${what}`);
    try {
      await committedAfter('the start');
      // Each fault once, with transfers in flight, each followed by a commit.
      await coordinator?.kill('SIGKILL');
      coordinator = new TwopcProcess(['serve'], env);
      await coordinator.serving();
      faults.push('coordinator SIGKILL');
      await committedAfter('the coordinator restart');
      await maria.kill();
      await maria.start();
      faults.push('mariadbd SIGKILL');
      await committedAfter('the MariaDB restart');
      await mariaBank.kill();
      await mariaBank.start(env.TWOPC_LISTEN ?? '');
      faults.push('MariaDB service SIGKILL');
      await committedAfter('the MariaDB service restart');
      await pgBank.kill();
      await pgBank.start(env.TWOPC_LISTEN ?? '');
      faults.push('PostgreSQL service SIGKILL');
      await committedAfter('the PostgreSQL service restart');
      await coordinator?.kill('SIGKILL');
      await maria.kill();
      await maria.start();
      coordinator = new TwopcProcess(['serve'], env);
      await coordinator.serving();
      faults.push('coordinator and mariadbd SIGKILL together');
      await committedAfter('both restarts');
    } finally {
      await load.stop();
    }
    const final = await quiesce(client, banks, load.log, 90_000);
    await assertBankInvariants(banks, load.log, final);
    const tally = load.tally();
    console.log(
      `      ${load.log.length} transfers: ${tally.COMMITTED} committed, ${tally.ABORTED} aborted, ${tally.UNKNOWN} answers lost; faults: ${faults.join(', ')}`,
    );
    assert.ok(tally.COMMITTED > 0, 'nothing committed: the test proved nothing');
    assert.equal(await mariaBank.ledger.preparedCount(), 0);
    client.close();
  });
});
