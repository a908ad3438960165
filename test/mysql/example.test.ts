import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema, testDatabaseUrl, withClient } from '../support/db.ts';
import { OwnMariaDb } from '../support/own-mariadb.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

describe('examples/two-database-transfer.ts (the SDK docs’ MariaDB/MySQL example)', function () {
  this.timeout(120_000);
  let h: Harness;
  let maria: OwnMariaDb;

  before(async function () {
    maria = await OwnMariaDb.create({ binlog: true });
    h = await startCoordinator(await migratedSchema(import.meta.url));
  });
  after(async function () {
    await h?.stop();
    await maria?.destroy();
  });

  it('moves 10 from PostgreSQL to MariaDB in one committed transaction, twice in a row', async function () {
    await withClient(async (c) => {
      await c.query('DROP DATABASE IF EXISTS twopc_example WITH (FORCE)');
      await c.query('CREATE DATABASE twopc_example');
    });
    const url = new URL(await testDatabaseUrl());
    url.pathname = '/twopc_example';
    const env = {
      ...process.env,
      TWOPC_ADDRESS: h.app.address,
      DATABASE_URL: url.toString(),
      MYSQL_URL: `mysql://root@127.0.0.1:${maria.port}/twopc_test`,
    };
    const once = async (): Promise<string> =>
      (
        await run(process.execPath, ['--import', 'tsx', 'examples/two-database-transfer.ts'], {
          cwd: ROOT,
          env,
        })
      ).stdout.trim();
    assert.equal(await once(), 'COMMITTED: alice (PostgreSQL) 90, bob (MariaDB/MySQL) 110');
    assert.equal(await once(), 'COMMITTED: alice (PostgreSQL) 80, bob (MariaDB/MySQL) 120');
    assert.deepEqual(await maria.prepared(), []);
  });
});
