import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startCoordinator } from '../support/coordinator-harness.ts';
import { OwnPostgres } from '../support/own-postgres.ts';
import { TestCa } from '../support/pki.ts';

describe('the log over TLS: DATABASE_URL sslmode is honoured (real PostgreSQL with ssl = on)', function () {
  this.timeout(60_000);
  let ca: TestCa;
  let otherCa: TestCa;
  let pg: OwnPostgres;

  before(async function () {
    ca = await TestCa.create('database CA');
    otherCa = await TestCa.create('unrelated CA');
    const cert = await ca.issue('db-server', { ips: ['127.0.0.1'], dns: ['db.internal'] });
    pg = await OwnPostgres.create(
      { ssl: 'on', ssl_cert_file: "'server.pem'", ssl_key_file: "'server.key'" },
      { 'server.pem': readFileSync(cert.certFile), 'server.key': readFileSync(cert.keyFile) },
    );
  });
  after(async function () {
    await pg?.destroy();
    ca?.remove();
    otherCa?.remove();
  });

  const url = (params: string): string => `${pg.url()}?${params}`;

  it('connects with verify-full against the CA, over TLS', async function () {
    const h = await startCoordinator('twopc_pg_tls', {
      databaseUrl: url(`sslmode=verify-full&sslrootcert=${ca.caFile}`),
    });
    try {
      const { txnId } = await h.client.begin();
      assert.equal((await h.client.commit(txnId)).outcome, 'COMMITTED');
      const rows = await pg.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
         WHERE s.ssl AND a.datname = 'postgres' AND a.pid <> pg_backend_pid()`,
      );
      assert.ok((rows[0]?.n ?? 0) > 0, 'the coordinator’s connections use TLS');
    } finally {
      await h.stop();
    }
  });

  it('refuses a server certificate from another CA', async function () {
    await assert.rejects(
      startCoordinator('twopc_pg_tls', {
        databaseUrl: url(`sslmode=verify-full&sslrootcert=${otherCa.caFile}`),
      }),
      /certificate/i,
    );
  });

  it('refuses a server certificate not issued for the host dialled', async function () {
    const named = await ca.issue('db-named', { dns: ['db.internal'] });
    const other = await OwnPostgres.create(
      { ssl: 'on', ssl_cert_file: "'server.pem'", ssl_key_file: "'server.key'" },
      { 'server.pem': readFileSync(named.certFile), 'server.key': readFileSync(named.keyFile) },
    );
    try {
      await assert.rejects(
        startCoordinator('twopc_pg_tls', {
          databaseUrl: `${other.url()}?sslmode=verify-full&sslrootcert=${ca.caFile}`,
        }),
        /Hostname\/IP does not match|altnames/i,
      );
    } finally {
      await other.destroy();
    }
  });
});
