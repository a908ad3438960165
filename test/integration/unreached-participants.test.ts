import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import type { TwopcClient } from 'twopc/internal/twopc-client';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import { SecureRig } from '../support/secure-rig.ts';

// DESIGN §3 rule 16, with real TLS to participants (certificates made here)
// and real sockets: a message that provably never reached a participant
// (connection refused, TLS handshake failed) is told as such. A one-phase
// Commit that never left is ABORTED at once, not in doubt; an Abort to a
// participant no Prepare ever reached is given up after the attempt cap,
// whatever stopped the connection; one that may have received a Prepare is
// never given up.

const ABORT_ATTEMPTS = 3;

describe('participants the coordinator never reached (real TLS, real refused connections)', function () {
  this.timeout(60_000);
  let rig: SecureRig;
  let h: Harness;
  let shop: TwopcClient;
  let junk: Server;
  const fleet = new FakeFleet();

  /** Endpoints that fail before any call is written, each in its own way. */
  const unreachable: Record<string, () => Promise<string>> = {
    'a closed port (connection refused)': async () => {
      const gone = await fleet.start('gone');
      await gone.stop();
      return gone.endpoint;
    },
    'a plaintext server': async () => (await fleet.start('plain')).endpoint,
    'a certificate from another CA': async () => {
      const files = await rig.otherCa.issue('other-ca-server', { ips: ['127.0.0.1'] });
      return (await fleet.start('foreign', {}, rig.participantCredentials(files))).endpoint;
    },
    'a certificate for another host': async () =>
      (await fleet.start('impostor', {}, rig.participantCredentials(rig.wrongNameServer))).endpoint,
    'a server that is not gRPC': async () => `127.0.0.1:${(junk.address() as AddressInfo).port}`,
  };
  const expectedKind = (what: string): RegExp =>
    what.includes('refused') ? /connection refused/ : /TLS handshake failed/;

  before(async function () {
    rig = await SecureRig.create({ 'bank-a': ['127.0.0.1:*'], 'bank-x': ['127.0.0.1:*'] });
    h = await startCoordinator(await migratedSchema(import.meta.url), {
      ...rig.config(),
      abortAttempts: ABORT_ATTEMPTS,
      retryBaseMs: 20,
      retryCapMs: 100,
      prepareTimeoutMs: 3_000,
      callTimeoutMs: 500,
      heartbeatIntervalMs: 200,
    });
    shop = rig.client(h.app.address, 'shop');
    junk = createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((r) => junk.listen(0, '127.0.0.1', r));
  });
  after(async function () {
    shop.close();
    await fleet.stopAll();
    junk.close();
    await h.stop();
    rig.remove();
  });

  for (const [what, endpointOf] of Object.entries(unreachable)) {
    it(`aborts at once a one-phase Commit that never reached ${what}, and says so`, async function () {
      const endpoint = await endpointOf();
      const { txnId } = await shop.begin({ participants: [{ name: 'bank-x', endpoint }] });
      const answer = await shop.commit(txnId);
      assert.equal(answer.outcome, 'ABORTED', 'told ABORTED, not asked to call again');
      assert.match(answer.reason, /'bank-x' was never reached by the one-phase commit/);
      assert.match(answer.reason, expectedKind(what));
      assert.doesNotMatch(answer.reason, /did not answer/);
      const tx = await shop.get(txnId);
      assert.equal(tx.state, 'ABORTED', 'not in doubt: nothing can have committed there');
    });

    it(`gives up the Abort after ${ABORT_ATTEMPTS} attempts to ${what}, which no Prepare reached`, async function () {
      const good = await fleet.start('bank-a', {}, rig.participantCredentials());
      const endpoint = await endpointOf();
      const { txnId } = await shop.begin({
        participants: [good.ref, { name: 'bank-x', endpoint }],
      });
      const answer = await shop.commit(txnId);
      assert.equal(answer.outcome, 'ABORTED');
      assert.match(answer.reason, expectedKind(what));
      const tx = await eventually(
        async () => {
          const t = await shop.get(txnId);
          return t.state === 'ABORTED' ? t : null;
        },
        20_000,
        'ABORTED',
      );
      const x = tx.participants.find((p) => p.name === 'bank-x');
      assert.equal(x?.attempts, ABORT_ATTEMPTS);
      assert.match(String(x?.lastError), /gave up after 3 Abort attempts.*no Prepare ever reached/);
      await good.stop();
    });
  }

  it('never gives up the Abort to a participant that may have received a Prepare', async function () {
    const good = await fleet.start('bank-a', {}, rig.participantCredentials());
    const silent = await fleet.start('bank-x', { vote: 'hang' }, rig.participantCredentials());
    const { txnId } = await shop.begin({ participants: [good.ref, silent.ref] });
    const committing = shop.commit(txnId);
    await silent.waitFor((c) => c.method === 'Prepare' && c.txnId === txnId);
    await silent.stop(); // the Prepare arrived: from now on, refused connections
    assert.equal((await committing).outcome, 'ABORTED');
    const past = await eventually(
      async () => {
        const t = await shop.get(txnId);
        const x = t.participants.find((p) => p.name === 'bank-x');
        return (x?.attempts ?? 0) > ABORT_ATTEMPTS + 2 ? t : null;
      },
      20_000,
      'Abort attempts past the cap',
    );
    assert.equal(past.state, 'ABORTING', 'still telling it: it may hold a prepared branch');
    await silent.start(rig.participantCredentials()); // back at its address: the Abort reaches it and ends it
    await silent.waitFor((c) => c.method === 'Abort' && c.txnId === txnId);
    await eventually(async () => (await shop.get(txnId)).state === 'ABORTED', 20_000, 'ABORTED');
    await good.stop();
  });
});
