import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { createMySqlBank } from '../support/bank.ts';
import type { BankProcess } from '../support/bank.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { OwnMariaDb } from '../support/own-mariadb.ts';

describe('MariaDB participant process SIGKILLed with its XA PREPARE in flight', function () {
  this.timeout(120_000);
  let h: Harness;
  let maria: OwnMariaDb;
  let bank: BankProcess;

  before(async function () {
    maria = await OwnMariaDb.create({ binlog: true });
    h = await startCoordinator(await migratedSchema(import.meta.url));
    bank = await createMySqlBank(maria, 'maria-kill', 'twopc_kill');
    await bank.start(h.app.address);
  });
  after(async function () {
    await bank?.close();
    await h?.stop();
    await maria?.destroy();
  });

  const balance = async (): Promise<number> =>
    Number(
      (
        await maria.sql<{ balance: string }[]>(
          "SELECT balance FROM accounts WHERE id = 'acct1'",
          [],
          'twopc_kill',
        )
      )[0]?.balance,
    );

  it('between XA END and XA PREPARE: the server finishes the PREPARE for a dead owner; the branch ends as the transaction did', async function () {
    const { txnId } = await h.client.begin({ timeoutMs: 60_000 });
    await bank.apply(txnId, 'acct1', -5);
    // Hold every commit (XA PREPARE included) at the server: the participant
    // gets past XA END and waits in XA PREPARE.
    const lock = await mysql.createConnection(maria.config());
    await lock.query('BACKUP STAGE START');
    await lock.query('BACKUP STAGE BLOCK_COMMIT');
    // The Commit call waits on the Prepare; its answer is not awaited.
    void h.client.commit(txnId, { timeoutMs: 60_000 }).catch(() => undefined);
    await eventually(
      async () => {
        const [rows] = await lock.query<mysql.RowDataPacket[]>(
          "SELECT 1 FROM information_schema.processlist WHERE info LIKE 'XA PREPARE %'",
        );
        return rows.length === 1;
      },
      15_000,
      'the XA PREPARE waiting at the server',
    );
    await bank.kill();
    // The client is gone; the server completes its PREPARE anyway: a
    // prepared branch nobody voted for, whose vote never left.
    await lock.query('BACKUP STAGE END');
    await lock.end();
    await eventually(
      async () => (await maria.prepared()).length === 1,
      15_000,
      'the orphan prepared',
    );
    await bank.start(h.app.address);
    // Either outcome is right (the restarted participant finds the branch
    // prepared, its work intact, and may vote PREPARED for it); what must
    // hold is that the branch ends as the transaction did.
    const state = await eventually(
      async () => {
        const s = (await h.client.get(txnId)).state;
        return s === 'COMMITTED' || s === 'ABORTED' ? s : null;
      },
      60_000,
      'the transaction decided',
    );
    await eventually(
      async () => (await maria.prepared()).length === 0,
      30_000,
      'the branch finished',
    );
    assert.equal(await balance(), state === 'COMMITTED' ? 995 : 1_000, `transaction ${state}`);
    console.log(`      the transaction ${state}, the branch with it`);
  });
});
