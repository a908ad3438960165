import { checkParticipant } from 'twopc/internal/conformance';
import type { CheckResult } from 'twopc/internal/conformance';
import type { TwopcClient } from 'twopc/internal/twopc-client';

/** A bank service under test: its own process, whatever its language or database. */
export interface KitBank {
  readonly name: string;
  readonly port: number;
  apply(txnId: string, account: string, delta: number): Promise<void>;
  start(coordinator: string): Promise<void>;
}

/**
 * Runs the conformance kit against a bank service: its work is a deposit of
 * `delta` to acct1 inside a transaction begun through `client`; its restart
 * is `kill` (a SIGKILL of its process) and a start against `coordinator`.
 */
export function checkBank(options: {
  readonly client: TwopcClient;
  readonly coordinator: string;
  readonly bank: KitBank;
  readonly kill: () => Promise<void>;
  readonly delta: number;
}): Promise<CheckResult[]> {
  const { client, coordinator, bank, kill, delta } = options;
  return checkParticipant({
    participant: `127.0.0.1:${bank.port}`,
    name: bank.name,
    work: async () => {
      const { txnId } = await client.begin({ timeoutMs: 60_000 });
      await bank.apply(txnId, 'acct1', delta);
      return txnId;
    },
    restart: async () => {
      await kill();
      await bank.start(coordinator);
    },
  });
}

/** The checks that did not pass, as [check, status, detail]. */
export function notPassed(results: readonly CheckResult[]): [string, string, string][] {
  return results.filter((r) => r.status !== 'pass').map((r) => [r.check, r.status, r.detail]);
}
