import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VERSION } from '../../src/package-version.ts';
import { TwopcClient } from '../../src/sdk/twopc-client.ts';
import { previousRelease } from '../../tools/release-baseline.ts';
import { assertBankInvariants, createBanks, quiesce } from '../support/bank.ts';
import type { BankProcess } from '../support/bank.ts';
import { CoordinatorFleet, restartableEnv } from '../support/child.ts';
import type { TwopcProcess } from '../support/child.ts';
import { freshSchema, sql } from '../support/db.ts';
import { TransferLoad } from '../support/transfer-load.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The dependencies a lockfile pins, without the package's own version. */
function pinned(lock: string): string {
  const parsed = JSON.parse(lock) as { packages: Record<string, { version?: string }> };
  const { '': _own, ...rest } = parsed.packages;
  return JSON.stringify(rest);
}

/**
 * The previous release, checked out as a git worktree of the commit that
 * release/previous.json records, with its dependencies installed (shared
 * with this checkout when its lockfile pins the same ones).
 */
function checkOutPrevious(): { dir: string; version: string; remove: () => void } {
  const release = previousRelease();
  const dir = mkdtempSync(join(tmpdir(), `twopc-${release.version}-`));
  execFileSync('git', ['worktree', 'add', '--detach', '--force', dir, release.commit], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  const theirs = execFileSync('git', ['show', `${release.commit}:package-lock.json`], {
    cwd: ROOT,
  }).toString();
  if (pinned(theirs) === pinned(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))) {
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  } else {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'ignore' });
  }
  return {
    dir,
    version: release.version,
    remove: () =>
      execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT, stdio: 'ignore' }),
  };
}

describe('rolling upgrade: the previous release and this one share the log under load', function () {
  this.timeout(300_000);
  let previous: ReturnType<typeof checkOutPrevious>;
  let schema: string;
  let fleet: CoordinatorFleet;
  let banks: BankProcess[] = [];

  before(async function () {
    previous = checkOutPrevious();
    schema = await freshSchema(import.meta.url);
    fleet = new CoordinatorFleet([
      await restartableEnv(schema, 'rolling-a'),
      await restartableEnv(schema, 'rolling-b'),
    ]);
    banks = await createBanks('twopc_rolling', 2);
  });
  after(async function () {
    fleet?.killAll();
    await Promise.all(banks.map((b) => b.close()));
    previous?.remove();
  });

  /** Each coordinator's version as the log records it (by name: a, b). */
  async function versionsSharingTheLog(): Promise<(string | null)[]> {
    const rows = await sql<{ version: string | null }>(
      schema,
      'SELECT version FROM twopc_coordinators ORDER BY name',
    );
    return rows.map((r) => r.version);
  }

  /** Stops a coordinator the way an upgrade does (SIGTERM: it drains), and starts its successor. */
  async function replace(
    i: number,
    current: TwopcProcess,
    root: string | undefined,
    loads: TransferLoad[],
  ): Promise<TwopcProcess> {
    await current.kill('SIGTERM');
    const next = await fleet.start(i, 60_000, root);
    const at = Date.now();
    for (const load of loads) {
      await load.committedSince(at, 30_000, 'a commit after the replacement');
    }
    return next;
  }

  it(`rolls every coordinator from the previous release to this one and one back, with no failed transfer and every invariant`, async function () {
    // The previous release alone first: it makes the log its own.
    let a = await fleet.start(0, 60_000, previous.dir);
    let b = await fleet.start(1, 60_000, previous.dir);
    // Participants and clients of both SDK versions.
    await banks[0]?.start(fleet.target, true, previous.dir);
    await banks[1]?.start(fleet.target, true);
    const OldClient = (
      (await import(pathToFileURL(join(previous.dir, 'src/sdk/twopc-client.ts')).href)) as {
        TwopcClient: typeof TwopcClient;
      }
    ).TwopcClient;
    const oldClient = new OldClient(fleet.addresses, { attempts: 5, callTimeoutMs: 8_000 });
    const newClient = new TwopcClient(fleet.addresses, { attempts: 5, callTimeoutMs: 8_000 });
    const loads = [new TransferLoad(oldClient, banks, 3), new TransferLoad(newClient, banks, 3)];
    for (const load of loads) {
      await load.committedSince(Date.now(), 30_000, 'transfers committing on the previous release');
    }
    // One at a time: b, then a, to this release (b applies this release's
    // expand migrations while a of the previous release serves).
    b = await replace(1, b, undefined, loads);
    a = await replace(0, a, undefined, loads);
    assert.deepEqual(await versionsSharingTheLog(), [VERSION, VERSION]);
    // Rolled back: a runs the previous release again, over the expanded log.
    a = await replace(0, a, previous.dir, loads);
    // The previous release registers without a version: the log shows both.
    assert.deepEqual(await versionsSharingTheLog(), [null, VERSION]);
    for (const load of loads) {
      await load.stop();
    }
    const log = loads.flatMap((l) => l.log);
    const final = await quiesce(newClient, banks, log, 90_000);
    await assertBankInvariants(banks, log, final);
    const tally = { COMMITTED: 0, ABORTED: 0, UNKNOWN: 0 };
    loads.forEach((l) =>
      Object.entries(l.tally()).forEach(([k, n]) => (tally[k as keyof typeof tally] += n)),
    );
    console.log(
      `      ${log.length} transfers through two replacements and a rollback: ${tally.COMMITTED} committed, ${tally.ABORTED} aborted by their client after a bank refused a leg, ${tally.UNKNOWN} unanswered`,
    );
    assert.equal(tally.UNKNOWN, 0, 'a client was left without an answer');
    // The only aborts are the client's own, after a bank refused a leg (two
    // transfers meeting on an account: the bank's lock timeout); no Commit
    // failed across the replacements.
    for (const t of log.filter((x) => x.told === 'ABORTED')) {
      assert.equal((await newClient.get(t.txnId)).reason, 'CLIENT_ABORT', t.txnId);
    }
    oldClient.close();
    newClient.close();
  });
});
