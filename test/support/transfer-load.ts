import type { TwopcClient } from '../../src/sdk/twopc-client.ts';
import { ACCOUNTS } from './bank.ts';
import type { BankProcess, Transfer } from './bank.ts';

/** A transfer with when it began and when its client heard the outcome (ms since epoch). */
export interface TimedTransfer extends Transfer {
  readonly begunAt: number;
  answeredAt: number;
}

/**
 * Runs two-leg transfers between random banks until `until`, as a client
 * does: Begin, debit one bank, credit another, Commit (Abort when a leg
 * fails). Every transfer is logged with what the client was told.
 */
export async function transferWorker(
  client: TwopcClient,
  banks: readonly BankProcess[],
  until: () => boolean,
  log: TimedTransfer[],
): Promise<void> {
  while (!until()) {
    const from = Math.floor(Math.random() * banks.length);
    const to = (from + 1 + Math.floor(Math.random() * (banks.length - 1))) % banks.length;
    const amount = 1 + Math.floor(Math.random() * 100);
    const begunAt = Date.now();
    let txnId: string;
    try {
      txnId = (await client.begin({ timeoutMs: 5_000 })).txnId;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const entry: TimedTransfer = { txnId, amount, told: 'UNKNOWN', begunAt, answeredAt: 0 };
    log.push(entry);
    const account = (): string => `acct${1 + Math.floor(Math.random() * ACCOUNTS)}`;
    try {
      await banks[from]?.apply(txnId, account(), -amount);
      await banks[to]?.apply(txnId, account(), amount);
    } catch {
      entry.told = await client.abort(txnId).then(
        (a) => a.outcome as Transfer['told'],
        () => 'UNKNOWN',
      );
      entry.answeredAt = Date.now();
      continue;
    }
    entry.told = await client.commit(txnId, { timeoutMs: 8_000 }).then(
      (a) => a.outcome as Transfer['told'],
      () => 'UNKNOWN',
    );
    entry.answeredAt = Date.now();
  }
}

/**
 * The gap a client saw after a fault at `at`: the time from the fault to the
 * first commit answered for a transfer begun after it.
 */
export function gapAfter(log: readonly TimedTransfer[], at: number): number {
  const after = log
    .filter((t) => t.begunAt >= at && t.told === 'COMMITTED')
    .map((t) => t.answeredAt - at);
  return after.length === 0 ? Infinity : Math.min(...after);
}
