import { TwopcClient } from 'twopc/internal/twopc-client';
import { runLoad } from './load.ts';
import { rssMiB, startCoordinator } from './proc.ts';

/** A coordinator's RSS before and after transactions were left open. */
export interface OpenTransactions {
  readonly count: number;
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
}

/**
 * Scale: `count` transactions left ACTIVE at once (each with `participants`
 * enlisted), on a coordinator of their own over `databaseUrl`; its RSS per
 * open transaction.
 */
export async function measureOpenTransactions(
  databaseUrl: string,
  count: number,
  participants: { name: string; endpoint: string }[],
): Promise<OpenTransactions> {
  const child = await startCoordinator(databaseUrl, 'bench_open');
  try {
    const client = new TwopcClient(`127.0.0.1:${child.port}`, { attempts: 1 });
    const pid = child.child.pid ?? 0;
    await runLoad(`127.0.0.1:${child.port}`, participants, 16, 2); // warm up the code paths
    const rssStartMiB = rssMiB(pid);
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next++ < count) {
          const { txnId } = await client.begin({ timeoutMs: 3_600_000 });
          for (const p of participants) {
            await client.enlist(txnId, p);
          }
        }
      }),
    );
    const rssEndMiB = rssMiB(pid);
    client.close();
    return { count, rssStartMiB, rssEndMiB };
  } finally {
    await child.stop();
  }
}
