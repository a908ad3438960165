import type { TwopcClient } from 'twopc/internal/twopc-client';
import { shardOf } from '../../src/store/shard-id.ts';
import type { TwopcProcess } from './child.ts';
import { eventually } from './expect-status.ts';
import { ACCOUNTS } from './bank.ts';
import type { BankProcess, Transfer } from './bank.ts';

/** A transfer with when it began and when its client heard the outcome (ms since epoch). */
export interface TimedTransfer extends Transfer {
  readonly begunAt: number;
  answeredAt: number;
}

/** How a worker chooses its transfers. */
export interface TransferOptions {
  /**
   * An account of its own (the same in every bank) and amounts of 1–3: its
   * transfers never wait on another worker's row locks, and the random walk
   * never empties an account. Otherwise random accounts and amounts of 1–100.
   */
  readonly ownAccount?: string;
  /** The Commit call's deadline. */
  readonly commitTimeoutMs?: number;
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
  options: TransferOptions = {},
): Promise<void> {
  const own = options.ownAccount;
  while (!until()) {
    const from = Math.floor(Math.random() * banks.length);
    const to = (from + 1 + Math.floor(Math.random() * (banks.length - 1))) % banks.length;
    const amount =
      own === undefined ? 1 + Math.floor(Math.random() * 100) : 1 + Math.floor(Math.random() * 3);
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
    const account = (): string => own ?? `acct${1 + Math.floor(Math.random() * ACCOUNTS)}`;
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
    entry.told = await client.commit(txnId, { timeoutMs: options.commitTimeoutMs ?? 8_000 }).then(
      (a) => a.outcome as Transfer['told'],
      () => 'UNKNOWN',
    );
    entry.answeredAt = Date.now();
  }
}

/** Commits answered for transactions of one log shard, per second, between two moments. */
export function commitRate(
  log: readonly TimedTransfer[],
  shard: number,
  from: number,
  to: number,
): number {
  const n = log.filter(
    (t) =>
      t.told === 'COMMITTED' &&
      shardOf(t.txnId) === shard &&
      t.answeredAt >= from &&
      t.answeredAt < to,
  ).length;
  return n / ((to - from) / 1000);
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

/** Transfers running in the background until stopped, and what they logged. */
export class TransferLoad {
  readonly log: TimedTransfer[] = [];
  #stopped = false;
  readonly #running: Promise<unknown>;

  /** @param ownAccounts each worker an account of its own (see TransferOptions) */
  constructor(
    client: TwopcClient,
    banks: readonly BankProcess[],
    workers = 6,
    options: { ownAccounts?: boolean; commitTimeoutMs?: number } = {},
  ) {
    this.#running = Promise.all(
      Array.from({ length: workers }, (_, i) =>
        transferWorker(client, banks, () => this.#stopped, this.log, {
          ...(options.ownAccounts === true ? { ownAccount: `acct${1 + (i % ACCOUNTS)}` } : {}),
          ...(options.commitTimeoutMs === undefined
            ? {}
            : { commitTimeoutMs: options.commitTimeoutMs }),
        }),
      ),
    );
  }

  /** Waits until a transfer begun at or after `at` has committed. */
  async committedSince(at: number, timeoutMs: number, what: string): Promise<void> {
    await eventually(
      async () => this.log.some((t) => t.begunAt >= at && t.told === 'COMMITTED'),
      timeoutMs,
      what,
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  /** What clients were told, counted. */
  tally(): Record<Transfer['told'], number> {
    const tally = { COMMITTED: 0, ABORTED: 0, UNKNOWN: 0 };
    this.log.forEach((t) => tally[t.told]++);
    return tally;
  }
}

/**
 * Two coordinator faults under load: `a` SIGKILLed (the other goes on and,
 * after a's lease, takes its work over; `a` is then restarted), then `b`
 * SIGSTOPped for two leases (the restarted one takes over and decides) and
 * resumed (it re-reads the log before it acts). Returns the restarted `a`
 * and when each fault began.
 */
export async function killThenPause(
  load: TransferLoad,
  a: TwopcProcess,
  b: TwopcProcess,
  restartA: () => Promise<TwopcProcess>,
  leaseMs: number,
  timeoutMs: number,
): Promise<{ a: TwopcProcess; killedAt: number; pausedAt: number }> {
  const killedAt = Date.now();
  await a.kill('SIGKILL');
  await load.committedSince(killedAt, timeoutMs, 'a commit after the kill');
  await new Promise((r) => setTimeout(r, leaseMs + 1_000));
  const restarted = await restartA();
  const pausedAt = Date.now();
  b.child.kill('SIGSTOP');
  await load.committedSince(pausedAt, timeoutMs, 'a commit while one is paused');
  await new Promise((r) => setTimeout(r, leaseMs * 2));
  b.child.kill('SIGCONT');
  await load.committedSince(Date.now(), timeoutMs, 'commits after the resume');
  return { a: restarted, killedAt, pausedAt };
}
