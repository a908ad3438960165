import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { txCommand } from '../../src/cli/tx-command.ts';
import { txnMetadata } from 'twopc/internal/twopc-client';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema, sql } from '../support/db.ts';
import { expectStatus } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import { PRINCIPAL, SecureRig } from '../support/secure-rig.ts';

describe('security: who may do what (real mutual TLS and signed tokens)', function () {
  let rig: SecureRig;
  let h: Harness;
  let schema: string;
  let trap: Server;
  let trapConnections = 0;
  const fleet = new FakeFleet();
  const addr = (): string => h.app.address;

  before(async function () {
    rig = await SecureRig.create({ 'bank-a': ['127.0.0.1:*'], 'bank-z': ['127.0.0.1:*'] });
    schema = await migratedSchema(import.meta.url);
    h = await startCoordinator(schema, {
      ...rig.config(),
      auditLog: join(rig.ca.dir, 'audit.log'),
    });
    trap = createServer((s) => {
      trapConnections++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
  });
  after(async function () {
    await h.stop();
    trap.close();
    rig.remove();
  });
  afterEach(async function () {
    await fleet.stopAll();
  });

  it('refuses a caller with neither certificate nor token before any work (UNAUTHENTICATED)', async function () {
    const before = await sql(schema, 'SELECT count(*)::int AS n FROM twopc_transactions');
    const anonymous = rig.client(addr(), { tls: { caFile: rig.ca.caFile } });
    await expectStatus(
      anonymous.begin(),
      grpc.status.UNAUTHENTICATED,
      /client certificate.*or a bearer token/,
    );
    const stranger = rig.client(addr(), { tls: { caFile: rig.ca.caFile, ...rig.strangerCert } });
    await expectStatus(stranger.begin(), grpc.status.UNAUTHENTICATED);
    const after = await sql(schema, 'SELECT count(*)::int AS n FROM twopc_transactions');
    assert.deepEqual(after, before);
    anonymous.close();
    stranger.close();
  });

  it('verifies tokens: expired, wrong audience, wrong issuer, forged are refused; a good one works, only in its tenant', async function () {
    const claims = { tenant: 'shop', roles: ['client'] };
    const past = Math.floor(Date.now() / 1000) - 120;
    const cases: [string, RegExp][] = [
      [await rig.sign('svc', claims, { expiresIn: past }), /expired/],
      [await rig.sign('svc', claims, { audience: 'someone-else' }), /claim 'aud'/],
      [await rig.sign('svc', claims, { issuer: 'https://evil.test' }), /claim 'iss'/],
      [`${(await rig.sign('svc', claims)).slice(0, -4)}AAAA`, /signature/],
    ];
    for (const [token, why] of cases) {
      const c = rig.client(addr(), { tls: { caFile: rig.ca.caFile }, token });
      await expectStatus(c.begin(), grpc.status.UNAUTHENTICATED, why);
      c.close();
    }
    let refreshed = 0;
    const good = rig.client(addr(), {
      tls: { caFile: rig.ca.caFile },
      token: async () => {
        refreshed++;
        return rig.sign('svc', claims);
      },
    });
    const { txnId } = await good.begin();
    const tx = await good.get(txnId);
    assert.equal(tx.tenant, 'shop');
    assert.equal(tx.principal, 'svc');
    assert.ok(refreshed >= 2, 'the token function is asked on every call');
    const rivalToken = await rig.sign('intruder', { tenant: 'rival', roles: ['client'] });
    const rival = rig.client(addr(), { tls: { caFile: rig.ca.caFile }, token: rivalToken });
    await expectStatus(rival.get(txnId), grpc.status.NOT_FOUND);
    await expectStatus(rival.abort(txnId), grpc.status.NOT_FOUND);
    rival.close();
    good.close();
  });

  it("hides another tenant's transactions: NOT_FOUND for every call, absent from lists", async function () {
    const shop = rig.client(addr(), 'shop');
    const rival = rig.client(addr(), 'rival');
    const { txnId } = await shop.begin({ labels: { case: 'tenants' } });
    await expectStatus(rival.get(txnId), grpc.status.NOT_FOUND);
    await expectStatus(rival.commit(txnId), grpc.status.NOT_FOUND);
    await expectStatus(rival.abort(txnId), grpc.status.NOT_FOUND);
    await expectStatus(rival.heartbeat(txnId), grpc.status.NOT_FOUND);
    const theirs = await rival.list({ labels: { case: 'tenants' } });
    assert.equal(theirs.transactions.length, 0);
    const mine = await shop.list({ labels: { case: 'tenants' } });
    assert.deepEqual(
      mine.transactions.map((t) => t.txnId),
      [txnId],
    );
    assert.equal((await shop.get(txnId)).state, 'ACTIVE', 'the rival changed nothing');
    shop.close();
    rival.close();
  });

  it('refuses calls outside the caller’s roles (PERMISSION_DENIED), and audits them', async function () {
    const shop = rig.client(addr(), 'shop');
    const { txnId } = await shop.begin();
    const asOperator = rig.operator(addr(), 'shop');
    await expectStatus(asOperator.retryNow(txnId), grpc.status.PERMISSION_DENIED, /operator/);
    await expectStatus(asOperator.list(), grpc.status.PERMISSION_DENIED);
    await expectStatus(
      shop.enlist(txnId, { name: 'bank-a', endpoint: '127.0.0.1:1' }),
      grpc.status.PERMISSION_DENIED,
      /participant/,
    );
    const bank = rig.client(addr(), 'bankA');
    await expectStatus(bank.commit(txnId), grpc.status.PERMISSION_DENIED, /client/);
    await expectStatus(bank.begin(), grpc.status.PERMISSION_DENIED);
    const audit = readFileSync(join(rig.ca.dir, 'audit.log'), 'utf8');
    assert.match(
      audit,
      new RegExp(
        `"method":"Operator.RetryNow","principal":"${PRINCIPAL.shop}".*"result":"TWOPC_PERMISSION_DENIED"`,
      ),
    );
    shop.close();
    asOperator.close();
    bank.close();
  });

  it('lets a participant enlist only as itself, and read only what it is enlisted in', async function () {
    const bankA = await fleet.start('bank-a', {}, rig.participantCredentials());
    const shop = rig.client(addr(), 'shop');
    const bank = rig.client(addr(), 'bankA');
    const { txnId } = await shop.begin();
    const other = await shop.begin();
    await expectStatus(
      bank.enlist(txnId, { name: 'bank-z', endpoint: bankA.endpoint }),
      grpc.status.PERMISSION_DENIED,
      /only as 'bank-a'/,
    );
    await expectStatus(bank.get(txnId), grpc.status.NOT_FOUND);
    await bank.enlist(txnId, bankA.ref);
    assert.equal((await bank.get(txnId)).txnId, txnId);
    await expectStatus(bank.get(other.txnId), grpc.status.NOT_FOUND);
    const answer = await shop.commit(txnId, { waitForAcks: true });
    assert.equal(answer.outcome, 'COMMITTED');
    const calls = bankA.callsOf('Commit', txnId); // one participant: a one-phase commit
    assert.equal(calls.length, 1);
    assert.match(
      String(calls[0]?.peerSan),
      new RegExp(PRINCIPAL.coordinator),
      'the coordinator presents its certificate',
    );
    shop.close();
    bank.close();
  });

  it('runs the participant helper over mutual TLS both ways: it serves TLS and enlists with its own certificate', async function () {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', rig.participantCredentials(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const finished: string[] = [];
    const participant = new TwopcParticipant({
      name: 'bank-a',
      endpoint: `127.0.0.1:${port}`,
      coordinator: addr(),
      coordinatorOptions: { attempts: 1, tls: { caFile: rig.ca.caFile, ...rig.clients.bankA } },
      handlers: {
        prepare: async () => ({ vote: 'PREPARED' }),
        commit: async (txnId) => {
          finished.push(txnId);
        },
        abort: async () => undefined,
      },
      checkEveryMs: 0,
    });
    participant.addTo(server);
    const shop = rig.client(addr(), 'shop');
    try {
      const { txnId } = await shop.begin();
      assert.equal(await participant.join(txnMetadata(txnId)), txnId);
      const answer = await shop.commit(txnId, { waitForAcks: true });
      assert.equal(answer.outcome, 'COMMITTED');
      assert.deepEqual(finished, [txnId]);
      const tx = await shop.get(txnId);
      assert.deepEqual(
        tx.participants.map((p) => [p.name, p.endpoint]),
        [['bank-a', `127.0.0.1:${port}`]],
      );
    } finally {
      shop.close();
      participant.close();
      server.forceShutdown();
    }
  });

  it('refuses participant endpoints outside the registry before any connection', async function () {
    const shop = rig.client(addr(), 'shop');
    const bank = rig.client(addr(), 'bankA');
    const { txnId } = await shop.begin();
    const trapPort = (trap.address() as AddressInfo).port;
    for (const endpoint of [`localhost:${trapPort}`, '169.254.169.254:80', '10.0.0.1:443']) {
      await expectStatus(
        bank.enlist(txnId, { name: 'bank-a', endpoint }),
        grpc.status.PERMISSION_DENIED,
        /not an endpoint allowed/,
      );
    }
    await expectStatus(
      shop.begin({ participants: [{ name: 'bank-q', endpoint: `127.0.0.1:${trapPort}` }] }),
      grpc.status.PERMISSION_DENIED,
      /'bank-q': is not a registered participant/,
    );
    assert.equal(trapConnections, 0, 'nothing was dialled');
    shop.close();
    bank.close();
  });

  it('aborts, before any prepare is trusted, when a participant certificate is not for its endpoint', async function () {
    const good = await fleet.start('bank-a', {}, rig.participantCredentials());
    const impostor = await fleet.start(
      'bank-z',
      {},
      rig.participantCredentials(rig.wrongNameServer),
    );
    const shop = rig.client(addr(), 'shop');
    const { txnId } = await shop.begin({ participants: [good.ref, impostor.ref] });
    const answer = await shop.commit(txnId, { waitForAcks: true });
    assert.equal(answer.outcome, 'ABORTED');
    assert.match(answer.reason, /'bank-z'.*TLS handshake failed/);
    assert.doesNotMatch(answer.reason, /altnames|ERR_|Hostname/, 'a kind, not the raw error');
    assert.equal(impostor.calls.length, 0, 'no call reached the impostor');
    shop.close();
  });

  it('runs the CLI over mutual TLS with the operator’s certificate, and refuses it with a client’s', async function () {
    const run = async (
      who: 'ops' | 'shop',
    ): Promise<{ code: number; out: string; err: string }> => {
      let out = '';
      let err = '';
      const files = rig.clients[who];
      const code = await txCommand(
        [
          'list',
          '--address',
          addr(),
          '--tls-ca',
          rig.ca.caFile,
          '--tls-cert',
          files.certFile,
          '--tls-key',
          files.keyFile,
        ],
        {},
        (x) => (out += x),
        (x) => (err += x),
      );
      return { code, out, err };
    };
    const ops = await run('ops');
    assert.equal(ops.code, 0, ops.err);
    const shop = await run('shop');
    assert.equal(shop.code, 1);
    assert.match(shop.err, /needs the role operator.*PERMISSION_DENIED/);
  });

  it('gives operators every tenant, and audits each action with its principal', async function () {
    const shop = rig.client(addr(), 'shop');
    const rival = rig.client(addr(), 'rival');
    const ops = rig.operator(addr(), 'ops');
    const a = await shop.begin({ labels: { case: 'ops' } });
    const b = await rival.begin({ labels: { case: 'ops' } });
    const all = await ops.list({ labels: { case: 'ops' } });
    assert.deepEqual(new Set(all.transactions.map((t) => t.tenant)), new Set(['shop', 'rival']));
    const rivals = await ops.list({ labels: { case: 'ops' }, tenant: 'rival' });
    assert.deepEqual(
      rivals.transactions.map((t) => t.txnId),
      [b.txnId],
    );
    const res = await ops.abort(a.txnId, 'stuck client');
    assert.equal(res.outcome, 'ABORTED');
    const tx = await ops.get(a.txnId);
    assert.equal(tx.operatorActions[0]?.principal, PRINCIPAL.ops);
    const audit = readFileSync(join(rig.ca.dir, 'audit.log'), 'utf8');
    assert.match(
      audit,
      new RegExp(
        `"method":"Operator.Abort","principal":"${PRINCIPAL.ops}".*"txn_id":"${a.txnId}".*"result":"OK"`,
      ),
    );
    shop.close();
    rival.close();
    ops.close();
  });

  it('audits every Operator call whatever its outcome: OK, INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, UNAUTHENTICATED, PERMISSION_DENIED', async function () {
    const shop = rig.client(addr(), 'shop');
    const ops = rig.operator(addr(), 'ops');
    const anonymous = rig.operator(addr(), { tls: { caFile: rig.ca.caFile } });
    const notOps = rig.operator(addr(), 'shop');
    const { txnId } = await shop.begin();
    const unknown = '00000000-0000-4000-8000-00000000a0d1';
    await expectStatus(ops.abort('not-a-txn-id'), grpc.status.INVALID_ARGUMENT);
    await expectStatus(ops.get(unknown), grpc.status.NOT_FOUND);
    await expectStatus(ops.retryNow(txnId), grpc.status.FAILED_PRECONDITION);
    await expectStatus(anonymous.abort(txnId), grpc.status.UNAUTHENTICATED);
    await expectStatus(notOps.abort(txnId), grpc.status.PERMISSION_DENIED);
    assert.equal((await ops.abort(txnId, 'audited')).outcome, 'ABORTED');
    const audit = readFileSync(join(rig.ca.dir, 'audit.log'), 'utf8');
    for (const [method, principal, result] of [
      ['Operator.Abort', PRINCIPAL.ops, 'TWOPC_INVALID_ARGUMENT'],
      ['Operator.GetTransaction', PRINCIPAL.ops, 'TWOPC_TX_NOT_FOUND'],
      ['Operator.RetryNow', PRINCIPAL.ops, 'TWOPC_INVALID_TRANSITION'],
      ['Operator.Abort', null, 'TWOPC_UNAUTHENTICATED'],
      ['Operator.Abort', PRINCIPAL.shop, 'TWOPC_PERMISSION_DENIED'],
      ['Operator.Abort', PRINCIPAL.ops, 'OK'],
    ] as const) {
      const line = audit
        .split('\n')
        .find((l) => l.includes(`"method":"${method}"`) && l.includes(`"result":"${result}"`));
      assert.ok(line, `no audit line for ${method} → ${result}`);
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.equal(entry.principal ?? null, principal, line);
      assert.match(String(entry.peer), /127\.0\.0\.1/, line);
    }
    for (const c of [shop, ops, anonymous, notOps]) {
      c.close();
    }
  });

  it("keeps principals of different kinds apart: a DNS SAN spelled as a URI is refused, a DNS SAN is granted only by a dns: entry, a token subject never takes a certificate's grant", async function () {
    const { txnId } = await rig.client(addr(), 'shop').begin();
    const spoof = await rig.ca.issue('dns-spelled-as-uri', { dns: [PRINCIPAL.bankA] });
    const spoofer = rig.client(addr(), { tls: { caFile: rig.ca.caFile, ...spoof } });
    await expectStatus(
      spoofer.enlist(txnId, { name: 'bank-a', endpoint: '127.0.0.1:1' }),
      grpc.status.UNAUTHENTICATED,
      /DNS SAN 'spiffe:\/\/test\/bank-a' is not a host name/,
    );
    const dnsOps = await rig.ca.issue('dns-operator', { dns: ['ops.dns.test'] });
    const operator = rig.operator(addr(), { tls: { caFile: rig.ca.caFile, ...dnsOps } });
    assert.ok((await operator.list({})).transactions.length >= 1, 'a dns: entry grants a DNS SAN');
    const token = await rig.sign(PRINCIPAL.ops, {}); // no roles: the identities file decides
    const byToken = rig.operator(addr(), { tls: { caFile: rig.ca.caFile }, token });
    await expectStatus(byToken.list({}), grpc.status.PERMISSION_DENIED, /granted no role/);
    const bareName = await rig.sign('ops.dns.test', {});
    const bySubject = rig.operator(addr(), { tls: { caFile: rig.ca.caFile }, token: bareName });
    await expectStatus(bySubject.list({}), grpc.status.PERMISSION_DENIED, /granted no role/);
    for (const c of [spoofer, operator, byToken, bySubject]) {
      c.close();
    }
  });

  it('confines an operator whose identity names a tenant to that tenant (list, read, abort)', async function () {
    const shop = rig.client(addr(), 'shop');
    const rival = rig.client(addr(), 'rival');
    const a = await shop.begin({ labels: { case: 'confined' } });
    const b = await rival.begin({ labels: { case: 'confined' } });
    const token = await rig.sign('shop-ops', { tenant: 'shop', roles: ['operator'] });
    const confined = rig.operator(addr(), { tls: { caFile: rig.ca.caFile }, token });
    const listed = await confined.list({ labels: { case: 'confined' } });
    assert.deepEqual(
      listed.transactions.map((t) => t.txnId),
      [a.txnId],
    );
    const asked = await confined.list({ labels: { case: 'confined' }, tenant: 'rival' });
    assert.deepEqual(
      asked.transactions.map((t) => t.txnId),
      [a.txnId],
      'asking for another tenant lists its own',
    );
    await expectStatus(confined.get(b.txnId), grpc.status.NOT_FOUND);
    await expectStatus(confined.abort(b.txnId, 'not mine'), grpc.status.NOT_FOUND);
    assert.equal((await rival.get(b.txnId)).state, 'ACTIVE');
    assert.equal((await confined.abort(a.txnId, 'mine')).outcome, 'ABORTED');
    for (const c of [shop, rival, confined]) {
      c.close();
    }
  });
});
