import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VERSION } from '../../src/package-version.ts';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { previousRelease } from '../../tools/release-baseline.ts';
import { assertBankInvariants, quiesce } from './bank.ts';
import type { BankProcess } from './bank.ts';
import type { CoordinatorFleet, TwopcProcess } from './child.ts';
import { TransferLoad } from './transfer-load.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The dependencies a lockfile pins, without the package's own version. */
function pinned(lock: string): string {
  const parsed = JSON.parse(lock) as { packages: Record<string, { version?: string }> };
  const { '': _own, ...rest } = parsed.packages;
  return JSON.stringify(rest);
}

/**
 * The previous release, checked out as a git worktree of the commit that
 * release/previous.json records (see checkOutRelease).
 */
export function checkOutPrevious(): { dir: string; version: string; remove: () => void } {
  return checkOutRelease(previousRelease());
}

/**
 * A release, checked out as a git worktree of its commit, with its
 * dependencies installed (shared with this checkout when its lockfile pins
 * the same ones).
 */
export function checkOutRelease(release: { version: string; commit: string }): {
  dir: string;
  version: string;
  remove: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), `twopc-${release.version}-`));
  try {
    execFileSync('git', ['worktree', 'add', '--detach', '--force', dir, release.commit], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  } catch (err) {
    throw new Error(
      `cannot check out release ${release.version} (${release.commit}): is its commit in this clone's history (not a shallow clone)? ${String((err as { stderr?: Buffer }).stderr ?? '')}`,
      { cause: err },
    );
  }
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

/** The previous release's SDK client: in its package (0.2.0 on), or in the server's tree (0.1.0). */
function previousSdkClient(previousDir: string): string {
  const inPackage = join(previousDir, 'packages/sdk/src/twopc-client.ts');
  return existsSync(inPackage) ? inPackage : join(previousDir, 'src/sdk/twopc-client.ts');
}

/** Stops a coordinator the way an upgrade does (SIGTERM: it drains), and starts its successor. */
async function replace(
  fleet: CoordinatorFleet,
  i: number,
  current: TwopcProcess,
  root: string | undefined,
  loads: TransferLoad[],
): Promise<TwopcProcess> {
  await current.kill('SIGTERM');
  const next = await fleet.start(i, 60_000, root);
  const at = Date.now();
  for (const load of loads) {
    await load.committedSince(at, 60_000, 'a commit after the replacement');
  }
  return next;
}

/**
 * A rolling upgrade under load, and a rollback: coordinators a and b of the
 * previous release (checked out at `previousDir`) with a bank of each SDK
 * version and clients of both; b then a replaced by this release, one at a
 * time (b applies this release's expand migrations while a of the previous
 * release serves); a rolled back. Every bank invariant holds, no client is
 * left without an answer and no Commit fails.
 * @param versions each coordinator's version as the log records it, by name
 */
export async function rollingUpgrade(
  fleet: CoordinatorFleet,
  banks: readonly BankProcess[],
  previousDir: string,
  versions: () => Promise<(string | null)[]>,
): Promise<string> {
  const a = await fleet.start(0, 60_000, previousDir);
  const b = await fleet.start(1, 60_000, previousDir);
  await banks[0]?.start(fleet.target, true, previousDir);
  await banks[1]?.start(fleet.target, true);
  const OldClient = (
    (await import(pathToFileURL(previousSdkClient(previousDir)).href)) as {
      TwopcClient: typeof TwopcClient;
    }
  ).TwopcClient;
  const oldClient = new OldClient(fleet.addresses, { attempts: 5, callTimeoutMs: 8_000 });
  const newClient = new TwopcClient(fleet.addresses, { attempts: 5, callTimeoutMs: 8_000 });
  const loads = [new TransferLoad(oldClient, banks, 3), new TransferLoad(newClient, banks, 3)];
  try {
    for (const load of loads) {
      await load.committedSince(Date.now(), 60_000, 'transfers committing on the previous release');
    }
    await replace(fleet, 1, b, undefined, loads);
    const a2 = await replace(fleet, 0, a, undefined, loads);
    assert.deepEqual(await versions(), [VERSION, VERSION]);
    await replace(fleet, 0, a2, previousDir, loads);
    // The log shows both versions (0.1.0 registered without one).
    const previous = previousRelease().version;
    assert.deepEqual(await versions(), [previous === '0.1.0' ? null : previous, VERSION]);
    for (const load of loads) {
      await load.stop();
    }
    const log = loads.flatMap((l) => l.log);
    const final = await quiesce(newClient, banks, log, 120_000);
    await assertBankInvariants(banks, log, final);
    const tally = { COMMITTED: 0, ABORTED: 0, UNKNOWN: 0 };
    for (const l of loads) {
      for (const [k, n] of Object.entries(l.tally())) {
        tally[k as keyof typeof tally] += n;
      }
    }
    assert.equal(tally.UNKNOWN, 0, 'a client was left without an answer');
    // The only aborts are the client's own, after a bank refused a leg (two
    // transfers meeting on an account: the bank's lock timeout); no Commit
    // failed across the replacements.
    for (const t of log.filter((x) => x.told === 'ABORTED')) {
      assert.equal((await newClient.get(t.txnId)).reason, 'CLIENT_ABORT', t.txnId);
    }
    return `${log.length} transfers through two replacements and a rollback: ${tally.COMMITTED} committed, ${tally.ABORTED} aborted by their client after a bank refused a leg, ${tally.UNKNOWN} unanswered`;
  } finally {
    await Promise.all(loads.map((l) => l.stop()));
    oldClient.close();
    newClient.close();
  }
}
