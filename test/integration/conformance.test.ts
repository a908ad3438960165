import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { conformanceCommand } from '../../src/cli/conformance-command.ts';
import { checkParticipant } from 'twopc/internal/conformance';
import type { CheckResult } from 'twopc/internal/conformance';
import { txnMetadata } from 'twopc/internal/twopc-client';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';
import { createBanks } from '../support/bank.ts';
import { checkBank, notPassed } from '../support/conformance-bank.ts';
import type { BankProcess } from '../support/bank.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import { freePort } from '../support/hooks.ts';

const statusOf = (results: readonly CheckResult[], check: RegExp): string | undefined =>
  results.find((r) => check.test(r.check))?.status;

describe('participant conformance kit (twopc conformance, checkParticipant)', function () {
  this.timeout(60_000);
  let h: Harness;
  const fleet = new FakeFleet();
  let banks: BankProcess[] = [];
  let server: grpc.Server | null = null;
  let helper: TwopcParticipant | null = null;

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url));
  });
  after(async function () {
    helper?.close();
    server?.forceShutdown();
    await Promise.all(banks.map((b) => b.close()));
    await fleet.stopAll();
    await h.stop();
  });

  it('passes the TypeScript participant helper on every check it can run without a restart hook', async function () {
    const worked = new Set<string>();
    server = new grpc.Server();
    const port = await new Promise<number>((res, rej) =>
      server?.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? rej(e) : res(p),
      ),
    );
    helper = new TwopcParticipant({
      name: 'kit-helper',
      endpoint: `127.0.0.1:${port}`,
      coordinator: h.app.address,
      handlers: {
        // Work is what business calls joined; a branch without any is read-only.
        prepare: async (txnId) => ({ vote: worked.has(txnId) ? 'PREPARED' : 'READ_ONLY' }),
        commit: async () => undefined,
        abort: async () => undefined,
      },
    });
    helper.addTo(server);
    const results = await checkParticipant({
      participant: `127.0.0.1:${port}`,
      name: 'kit-helper',
      // A business call joining a transaction, as an application's would.
      work: async () => {
        const { txnId } = await h.client.begin();
        await helper?.join(txnMetadata(txnId));
        worked.add(txnId);
        return txnId;
      },
    });
    assert.deepEqual(
      results.filter((r) => r.status === 'fail'),
      [],
    );
    assert.equal(statusOf(results, /batched channel/), 'pass');
    assert.equal(statusOf(results, /never joined votes READ_ONLY/), 'pass');
    assert.equal(statusOf(results, /survives a restart/), 'skip');
    assert.equal(results.filter((r) => r.status === 'pass').length, results.length - 1);
  });

  it('passes PgParticipant, including prepared work that survives a SIGKILL of its process', async function () {
    banks = await createBanks('twopc_conformance', 1);
    const bank = banks[0] as BankProcess;
    await bank.start(h.app.address);
    const results = await checkBank({
      client: h.client,
      coordinator: h.app.address,
      bank,
      kill: () => bank.kill(),
      delta: 5,
    });
    assert.deepEqual(notPassed(results), []);
    const balance = await bank.pool.query<{ balance: string }>(
      "SELECT balance FROM accounts WHERE id = 'acct1'",
    );
    // Two transactions with work, both committed by the kit.
    assert.equal(Number(balance.rows[0]?.balance), 1_010, 'the prepared work was committed');
  });

  it('fails a participant that breaks the contract, saying what to fix', async function () {
    // Written from the proto without the rules: no suspension, no id check.
    const naive = await fleet.start('naive');
    const results = await checkParticipant({ participant: naive.endpoint });
    assert.equal(statusOf(results, /suspension/), 'fail');
    assert.match(
      results.find((r) => /suspension/.test(r.check))?.detail ?? '',
      /remember an Abort that came before Prepare/,
    );
    assert.equal(statusOf(results, /malformed/), 'fail');
    assert.equal(statusOf(results, /health/), 'pass');
    assert.equal(statusOf(results, /batched channel/), 'skip');
  });

  it('runs from the CLI: a report, exit 1 on a failure, exit 2 on bad usage', async function () {
    const naive = await fleet.start('naive-cli');
    const out: string[] = [];
    const err: string[] = [];
    const code = await conformanceCommand(
      ['--participant', naive.endpoint],
      (s) => out.push(s),
      (s) => err.push(s),
    );
    assert.equal(code, 1);
    assert.match(
      out.join('\n'),
      /^FAIL {2}Abort before Prepare, then the late Prepare is refused/m,
    );
    assert.match(out.join('\n'), /\d+ passed, \d+ failed, \d+ skipped/);
    assert.equal(
      await conformanceCommand(
        [],
        () => undefined,
        (s) => err.push(s),
      ),
      2,
    );
    assert.match(err.join('\n'), /--participant HOST:PORT is required/);
  });

  it('gives one verdict for an address where no participant answers, or something else does', async function () {
    const port = await freePort();
    const nothing = await checkParticipant({
      participant: `127.0.0.1:${port}`,
      callTimeoutMs: 2_000,
    });
    assert.equal(nothing.length, 1);
    assert.equal(nothing[0]?.status, 'fail');
    assert.match(
      nothing[0]?.detail ?? '',
      /nothing answers gRPC at 127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\): is the participant running there\?/,
    );
    // A gRPC server that is not a participant (this coordinator-less health server).
    const other = new grpc.Server();
    new HealthImplementation({ '': 'SERVING' }).addToServer(other);
    const otherPort = await new Promise<number>((res, rej) =>
      other.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? rej(e) : res(p),
      ),
    );
    try {
      const wrong = await checkParticipant({ participant: `127.0.0.1:${otherPort}` });
      assert.deepEqual(
        wrong.map((r) => r.status),
        ['fail'],
      );
      assert.match(
        wrong[0]?.detail ?? '',
        /answers gRPC but does not serve twopc\.v1\.Participant/,
      );
    } finally {
      other.forceShutdown();
    }
    const err: string[] = [];
    const code = await conformanceCommand(
      ['--participant', 'nohost'],
      () => undefined,
      (s) => err.push(s),
    );
    assert.equal(code, 2);
    assert.match(err.join('\n'), /--participant nohost: expected HOST:PORT/);
  });
});
