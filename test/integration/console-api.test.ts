import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { checkSecureByDefault } from '../../src/auth/build-security.ts';
import { loadConfig } from '../../src/config.ts';
import type { TwopcClient } from 'twopc/internal/twopc-client';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { consoleRequest } from '../support/console-request.ts';
import type { ConsoleAnswer, ConsoleCaller } from '../support/console-request.ts';
import { migratedSchema } from '../support/db.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import type { FakeParticipant } from '../support/fake-participant.ts';
import { PRINCIPAL, SecureRig } from '../support/secure-rig.ts';
import { memorySpans } from '../support/tracing.ts';

interface Tx {
  txnId: string;
  state: string;
  stuck: boolean;
  traceId: string;
  participants: { name: string; acknowledged: boolean; attempts: number }[];
}

describe('operator console API (HTTPS, tokens and client certificates, the Operator roles)', function () {
  let rig: SecureRig;
  let h: Harness;
  let shop: TwopcClient;
  let ops: ConsoleCaller;
  let bankA: FakeParticipant;
  let bankB: FakeParticipant;
  const fleet = new FakeFleet();
  const url = (path: string): string => `${h.app.consoleUrl ?? ''}${path}`;
  const auditLog = (): string => readFileSync(join(rig.ca.dir, 'audit.log'), 'utf8');

  /** Polls one transaction until `done` holds. */
  async function waitTx(txnId: string, done: (tx: Tx) => boolean): Promise<Tx> {
    for (;;) {
      const res = await consoleRequest(url(`api/transactions/${txnId}`), ops);
      assert.equal(res.status, 200, res.text);
      const tx = (res.json as { transaction: Tx }).transaction;
      if (done(tx)) {
        return tx;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  before(async function () {
    memorySpans();
    rig = await SecureRig.create({ 'bank-a': ['127.0.0.1:*'], 'bank-b': ['127.0.0.1:*'] });
    h = await startCoordinator(await migratedSchema(import.meta.url), {
      ...rig.config(),
      auditLog: join(rig.ca.dir, 'audit.log'),
      consoleListen: '127.0.0.1:0',
      traceUrl: 'https://traces.test/trace/{traceId}',
      stuckAfterMs: 300,
    });
    shop = rig.client(h.app.address, 'shop');
    ops = { caFile: rig.ca.caFile, token: await rig.sign('alice-ops', { roles: ['operator'] }) };
    bankA = await fleet.start('bank-a', { failCommitTimes: 1e9 }, rig.participantCredentials());
    bankB = await fleet.start('bank-b', {}, rig.participantCredentials());
  });
  after(async function () {
    shop.close();
    await fleet.stopAll();
    await h.stop();
    rig.remove();
  });

  it('serves its page over HTTPS with a policy that runs only its own scripts', async function () {
    assert.match(h.app.consoleUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await consoleRequest(url(''), { caFile: rig.ca.caFile });
    assert.equal(page.status, 200);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['strict-transport-security'], 'max-age=31536000');
    assert.match(page.text, /<script type="importmap">\{"imports":\{"preact":/);
    for (const path of [
      'app.js',
      'vendor/preact.mjs',
      'vendor/preact-hooks.mjs',
      'vendor/htm.mjs',
    ]) {
      const asset = await consoleRequest(url(path), { caFile: rig.ca.caFile });
      assert.equal(asset.status, 200, path);
      assert.match(String(asset.headers['content-type']), /^text\/javascript/);
    }
    assert.equal(
      (await consoleRequest(url('nothing-here'), { caFile: rig.ca.caFile })).status,
      404,
    );
  });

  it('refuses a request carrying two Authorization fields, whatever their order (Node keeps only the first)', async function () {
    const good = `Bearer ${String(ops.token)}`;
    const status = (values: string[]): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(url('api/session'), { ca: readFileSync(rig.ca.caFile) }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.setHeader('authorization', values);
        req.on('error', reject);
        req.end();
      });
    assert.equal(await status([good]), 200);
    assert.equal(await status([good, 'Bearer not-a-token']), 401);
    assert.equal(await status(['Bearer not-a-token', good]), 401);
  });

  it('audits a console action whatever its outcome: a malformed id and an unknown transaction too', async function () {
    const bad = await consoleRequest(url('api/transactions/not-an-id/abort'), ops, 'POST', {
      reason: 'x',
    });
    assert.equal(bad.status, 400, bad.text);
    const unknown = await consoleRequest(
      url(`api/transactions/${randomUUID()}/retry`),
      ops,
      'POST',
      {},
    );
    assert.equal(unknown.status, 404, unknown.text);
    assert.match(
      auditLog(),
      /"method":"Operator.Abort","principal":"alice-ops".*"result":"TWOPC_INVALID_ARGUMENT"/,
    );
    assert.match(
      auditLog(),
      /"method":"Operator.RetryNow","principal":"alice-ops".*"result":"TWOPC_TX_NOT_FOUND"/,
    );
  });

  it('refuses callers without credentials (401) or without the operator role (403), and audits it', async function () {
    const none = await consoleRequest(url('api/session'), { caFile: rig.ca.caFile });
    assert.equal(none.status, 401);
    assert.match(String(none.json?.message), /client certificate.*or a bearer token/);
    assert.equal(
      (await consoleRequest(url('api/transactions'), { caFile: rig.ca.caFile })).status,
      401,
    );
    const clientToken = await rig.sign('bob-shop', { roles: ['client'], tenant: 'shop' });
    const client = await consoleRequest(url('api/session'), {
      caFile: rig.ca.caFile,
      token: clientToken,
    });
    assert.equal(client.status, 403);
    assert.match(String(client.json?.message), /needs the role operator; 'bob-shop' has client/);
    const shopCert = await consoleRequest(url('api/transactions'), {
      caFile: rig.ca.caFile,
      cert: rig.clients.shop,
    });
    assert.equal(shopCert.status, 403);
    const stranger = await consoleRequest(url('api/session'), {
      caFile: rig.ca.caFile,
      cert: rig.strangerCert,
    });
    assert.equal(stranger.status, 401, 'a certificate of another CA is no identity');
    assert.match(
      auditLog(),
      /"method":"Console.SignIn","principal":"bob-shop".*"result":"TWOPC_PERMISSION_DENIED"/,
    );
  });

  it('signs an operator in by token or by client certificate', async function () {
    const byToken = await consoleRequest(url('api/session'), ops);
    assert.equal(byToken.status, 200, byToken.text);
    assert.equal(byToken.json?.principal, 'alice-ops');
    assert.equal(byToken.json?.via, 'token');
    const byCert = await consoleRequest(url('api/session'), {
      caFile: rig.ca.caFile,
      cert: rig.clients.ops,
    });
    assert.equal(byCert.status, 200, byCert.text);
    assert.equal(byCert.json?.principal, PRINCIPAL.ops);
    assert.equal(byCert.json?.via, 'certificate');
  });

  it('lists by state, label and participant, and shows one transaction with its timeline and trace link', async function () {
    const committed = await shop.begin({ labels: { case: 'list' }, participants: [bankB.ref] });
    await shop.commit(committed.txnId, { waitForAcks: true });
    const open = await shop.begin({ labels: { case: 'list' } });
    const ids = (res: ConsoleAnswer): string[] =>
      (res.json as { transactions: Tx[] }).transactions.map((t) => t.txnId);
    const all = await consoleRequest(url('api/transactions?label=case%3Dlist'), ops);
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(new Set(ids(all)), new Set([committed.txnId, open.txnId]));
    const active = await consoleRequest(
      url('api/transactions?label=case%3Dlist&state=ACTIVE'),
      ops,
    );
    assert.deepEqual(ids(active), [open.txnId]);
    const ofB = await consoleRequest(
      url('api/transactions?label=case%3Dlist&participant=bank-b'),
      ops,
    );
    assert.deepEqual(ids(ofB), [committed.txnId]);
    const shown = await consoleRequest(url(`api/transactions/${committed.txnId}`), ops);
    assert.equal(shown.status, 200, shown.text);
    const body = shown.json as {
      transaction: Tx & { createdAt: string };
      timeline: { at: string; text: string }[];
      traceLink: string;
    };
    assert.equal(body.transaction.state, 'TRANSACTION_STATE_COMMITTED');
    assert.match(body.transaction.createdAt, /^\d{4}-\d\d-\d\dT/, 'protobuf JSON timestamps');
    const texts = body.timeline.map((e) => e.text);
    assert.deepEqual(
      texts.map((t) => t.replace(/ \(127\.0\.0\.1:\d+\)/, '')),
      ['begun', 'enlisted bank-b', 'bank-b acknowledged', 'finished COMMITTED'],
      'a lone participant is committed in one phase',
    );
    assert.equal(texts.at(-1), 'finished COMMITTED');
    assert.notEqual(body.transaction.traceId, '');
    assert.equal(body.traceLink, `https://traces.test/trace/${body.transaction.traceId}`);
  });

  it('answers bad input with 400 naming what to fix, an unknown transaction with 404', async function () {
    const cases: [string, RegExp][] = [
      ['api/transactions?state=BOGUS', /state: 'BOGUS' is not a transaction state/],
      ['api/transactions?pageSize=lots', /pageSize: 'lots' is not a whole number/],
      ['api/transactions?pageSize=100000', /page_size: 100000 is over the limit/],
      ['api/transactions?label=nokey', /label: 'nokey' is not key=value/],
      ['api/transactions?stuck=maybe', /stuck: 'maybe' is not true or false/],
      ['api/transactions?colour=red', /colour: unknown parameter/],
      ['api/transactions/not-an-id', /not a transaction id/],
      ['api/transactions/%E0%A4%A', /path: .* is not valid percent-encoding/],
    ];
    for (const [path, why] of cases) {
      const res = await consoleRequest(url(path), ops);
      assert.equal(res.status, 400, path);
      assert.equal(res.json?.code, 'TWOPC_INVALID_ARGUMENT');
      assert.match(String(res.json?.message), why);
    }
    const unknown = await consoleRequest(url(`api/transactions/${randomUUID()}`), ops);
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.json?.message), /not found/);
    const { txnId } = await shop.begin();
    const action = `api/transactions/${txnId}/abort`;
    const notJson = await consoleRequest(url(action), ops, 'POST', undefined);
    assert.equal(notJson.status, 400);
    assert.match(String(notJson.json?.message), /application\/json/);
    const array = await consoleRequest(url(action), ops, 'POST', ['x']);
    assert.match(String(array.json?.message), /body: must be a JSON object/);
    const badOutcome = await consoleRequest(url(`api/transactions/${txnId}/resolve`), ops, 'POST', {
      participant: 'bank-a',
      outcome: 'MAYBE',
    });
    assert.equal(badOutcome.status, 400);
    assert.match(String(badOutcome.json?.message), /outcome: must be OUTCOME_COMMITTED/);
    const route = await consoleRequest(url(`api/transactions/${txnId}/explode`), ops, 'POST', {});
    assert.equal(route.status, 404);
    assert.equal((await waitTx(txnId, () => true)).state, 'TRANSACTION_STATE_ACTIVE');
  });

  it('refuses an action from another origin and changes nothing', async function () {
    const { txnId } = await shop.begin();
    for (const headers of [{ origin: 'https://evil.test' }, { 'sec-fetch-site': 'cross-site' }]) {
      const res = await consoleRequest(
        url(`api/transactions/${txnId}/abort`),
        { ...ops, headers },
        'POST',
        { reason: 'csrf' },
      );
      assert.equal(res.status, 403);
      assert.match(String(res.json?.message), /cross-origin/);
    }
    assert.equal((await waitTx(txnId, () => true)).state, 'TRANSACTION_STATE_ACTIVE');
  });

  it('retries phase 2, resolves a participant and aborts, each audited with the operator', async function () {
    const stuck = await shop.begin({ participants: [bankA.ref, bankB.ref] });
    await shop.commit(stuck.txnId);
    const before = await waitTx(stuck.txnId, (t) => t.stuck);
    assert.equal(before.state, 'TRANSACTION_STATE_COMMITTING');
    const stuckList = await consoleRequest(url('api/transactions?stuck=true'), ops);
    assert.ok(
      (stuckList.json as { transactions: Tx[] }).transactions.some((t) => t.txnId === stuck.txnId),
    );
    const commitsBefore = bankA.callsOf('Commit', stuck.txnId).length;
    const retried = await consoleRequest(
      url(`api/transactions/${stuck.txnId}/retry`),
      ops,
      'POST',
      {},
    );
    assert.equal(retried.status, 200, retried.text);
    await bankA.waitFor(
      (c) => c.method === 'Commit' && c.txnId === stuck.txnId && c.seq > commitsBefore,
    );
    const resolved = await consoleRequest(
      url(`api/transactions/${stuck.txnId}/resolve`),
      ops,
      'POST',
      { participant: 'bank-a', outcome: 'OUTCOME_COMMITTED', note: 'committed by hand' },
    );
    assert.equal(resolved.status, 200, resolved.text);
    const done = await waitTx(stuck.txnId, (t) => t.state === 'TRANSACTION_STATE_COMMITTED');
    assert.ok(done.participants.every((p) => p.acknowledged));
    const wrong = await consoleRequest(url(`api/transactions/${stuck.txnId}/abort`), ops, 'POST', {
      reason: 'too late',
    });
    assert.equal(wrong.status, 409, 'no abort after a commit decision');
    assert.equal(wrong.json?.code, 'TWOPC_INVALID_TRANSITION');
    assert.match(String(wrong.json?.message), /COMMITTED/);
    const open = await shop.begin();
    const aborted = await consoleRequest(url(`api/transactions/${open.txnId}/abort`), ops, 'POST', {
      reason: 'client gone',
    });
    assert.equal(aborted.status, 200, aborted.text);
    assert.equal(aborted.json?.outcome, 'OUTCOME_ABORTED');
    assert.equal(aborted.json?.state, 'TRANSACTION_STATE_ABORTED');
    const audit = auditLog();
    for (const [method, txnId] of [
      ['Operator.RetryNow', stuck.txnId],
      ['Operator.ResolveParticipant', stuck.txnId],
      ['Operator.Abort', open.txnId],
    ]) {
      assert.match(
        audit,
        new RegExp(
          `"method":"${method}","principal":"alice-ops".*"txn_id":"${txnId}".*"result":"OK"`,
        ),
      );
    }
  });

  it('is not served to other machines without TLS and authentication, unless --insecure', function () {
    const config = { ...loadConfig([], {}), consoleListen: '0.0.0.0:8080' };
    assert.throws(
      () => checkSecureByDefault(config),
      /refusing to serve the console on 0\.0\.0\.0:8080 without TLS.*authentication/,
    );
    assert.doesNotThrow(() => checkSecureByDefault({ ...config, insecure: true }));
    assert.doesNotThrow(() => checkSecureByDefault({ ...config, consoleListen: '127.0.0.1:8080' }));
  });

  it("serves the coordinator's renewed certificate without a restart", async function () {
    const serial = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          url('api/session'),
          { ca: readFileSync(rig.ca.caFile), agent: false },
          (res) => {
            resolve((res.socket as TLSSocket).getPeerCertificate().serialNumber);
            res.resume();
          },
        );
        req.on('error', reject);
        req.end();
      });
    const before = await serial();
    const renewed = await rig.ca.issue(
      'coordinator-server-renewed',
      { ips: ['127.0.0.1'], dns: ['localhost'] },
      mkdtempSync(join(rig.ca.dir, 'renewed-')),
    );
    // The key first: a certificate that does not match its key is not taken.
    copyFileSync(renewed.keyFile, rig.server.keyFile);
    copyFileSync(renewed.certFile, rig.server.certFile);
    let now = before;
    while (now === before) {
      await new Promise((r) => setTimeout(r, 50));
      now = await serial();
    }
    assert.notEqual(now, before);
    assert.equal((await consoleRequest(url('api/session'), ops)).status, 200);
  });
});
