import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually, expectStatus } from '../support/expect-status.ts';
import { RotatingDir } from '../support/pki.ts';
import { SecureRig } from '../support/secure-rig.ts';

/** The fingerprint of the certificate a new TLS connection to `address` is served. */
function servedFingerprint(address: string, caFile: string): Promise<string> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: address.slice(0, colon),
        port: Number(address.slice(colon + 1)),
        ca: readFileSync(caFile),
        ALPNProtocols: ['h2'],
      },
      () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.destroy();
      },
    );
    socket.once('error', reject);
  });
}

function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

describe('security: TLS on the listener (real handshakes)', function () {
  let rig: SecureRig;
  let schema: string;
  const harnesses: Harness[] = [];
  const start = async (over: Parameters<typeof startCoordinator>[1]): Promise<Harness> => {
    const h = await startCoordinator(schema, over);
    harnesses.push(h);
    return h;
  };

  before(async function () {
    rig = await SecureRig.create({ 'bank-a': ['127.0.0.1:*'] });
    schema = await migratedSchema(import.meta.url);
  });
  afterEach(async function () {
    await Promise.all(harnesses.splice(0).map((h) => h.stop()));
  });
  after(function () {
    rig.remove();
  });

  it('refuses plaintext on the TLS port', async function () {
    const h = await start(rig.config());
    const plain = new TwopcClient(h.app.address, { attempts: 1 });
    await expectStatus(plain.begin(), grpc.status.UNAVAILABLE);
    plain.close();
  });

  it('with certificates only, refuses at the handshake a client certificate of another CA', async function () {
    const h = await start({ ...rig.config(), tokenKeys: null, tokenIssuer: '' });
    const stranger = rig.client(h.app.address, {
      tls: { caFile: rig.ca.caFile, ...rig.strangerCert },
    });
    await expectStatus(stranger.begin(), grpc.status.UNAVAILABLE);
    const shop = rig.client(h.app.address, 'shop');
    assert.ok((await shop.begin()).txnId);
    stranger.close();
    shop.close();
  });

  it('refuses to listen beyond loopback without TLS, authentication and a registry, unless told --insecure', async function () {
    await assert.rejects(
      startCoordinator(schema, { listen: '0.0.0.0:0' }),
      /refusing to listen on 0\.0\.0\.0:0 without TLS.*authentication.*participant registry.*--insecure/s,
    );
    await assert.rejects(
      startCoordinator(schema, { ...rig.config(), listen: '0.0.0.0:0', participantsFile: null }),
      /without a participant registry/,
    );
    const open = await start({ listen: '0.0.0.0:0', insecure: true });
    assert.match(open.app.address, /^0\.0\.0\.0:\d+$/);
  });

  it('serves a renewed certificate to new connections without a restart, and no call fails meanwhile', async function () {
    const dir = new RotatingDir(rig.ca.dir);
    const issue = async (): Promise<void> =>
      dir.rotate(async (into) => {
        await rig.ca.issue('server', { ips: ['127.0.0.1'] }, into);
      });
    await issue();
    const h = await start({
      ...rig.config(),
      tlsCert: join(dir.current, 'server.pem'),
      tlsKey: join(dir.current, 'server.key'),
    });
    let stop = false;
    let calls = 0;
    const failures: unknown[] = [];
    // Steady load, each worker on a fresh connection every few calls.
    const worker = async (): Promise<void> => {
      while (!stop) {
        const c = rig.client(h.app.address, 'shop');
        try {
          for (let i = 0; i < 5 && !stop; i++) {
            const { txnId } = await c.begin();
            await c.abort(txnId);
            calls++;
          }
        } catch (err) {
          failures.push(err);
        } finally {
          c.close();
        }
      }
    };
    const load = Promise.all([worker(), worker(), worker()]);
    for (let round = 0; round < 3; round++) {
      await issue();
      const want = fingerprintOf(join(dir.current, 'server.pem'));
      await eventually(
        async () => (await servedFingerprint(h.app.address, rig.ca.caFile)) === want,
        10_000,
        `the renewed certificate (round ${round + 1}) served`,
      );
    }
    stop = true;
    await load;
    assert.deepEqual(failures, []);
    assert.ok(calls > 0);
  });
});
