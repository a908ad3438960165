import { performance } from 'node:perf_hooks';
import type { ConnectionOptions } from 'twopc/internal/connection';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { WorkCalls } from './work-service.ts';

/** What one load run measured. */
export interface LoadResult {
  readonly committed: number;
  readonly failed: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
  /** [seconds since start, latency ms] of each committed transaction, in completion order. */
  readonly timeline: [number, number][];
  readonly firstError: string | null;
}

/**
 * How a client names its participants: in Begin (one call, as a client that
 * knows them does) or by one Enlist call each (as services that enlist
 * themselves do).
 */
export type EnlistMode = 'begin' | 'calls';

/** What each transaction of the load does. */
export interface LoadShape {
  readonly enlist: EnlistMode;
  /**
   * Business calls at each participant between Begin and Commit (one
   * unary round trip each, participant after participant, as a client
   * that debits one service and credits another does): 0 commits at once.
   */
  readonly calls: number;
}

/**
 * `inflight` clients in a loop for `seconds`, each doing what a real client
 * does: Begin, enlist every participant, its business calls, Commit. Begin is sent ahead
 * (TwopcClient.beginAhead) where the coordinator takes client-made ids, as
 * twopc does: the Commit then leaves without waiting for Begin's answer.
 * The floor answers ids of its own, so there Begin is waited for. With `rate`, transactions
 * start on a schedule of `rate` per second (at most `inflight` at once), so
 * a steady run holds a load below the maximum; latency is counted from the
 * start of each transaction.
 */
export async function runLoad(
  address: string,
  participants: { name: string; endpoint: string }[],
  inflight: number,
  seconds: number,
  shape: LoadShape = { enlist: 'begin', calls: 0 },
  connection: ConnectionOptions = {},
  rate: number | null = null,
): Promise<LoadResult> {
  const { enlist, calls } = shape;
  const client = new TwopcClient(address, { attempts: 1, callTimeoutMs: 30_000, ...connection });
  const work = new WorkCalls();
  const latencies: number[] = [];
  const timeline: [number, number][] = [];
  let committed = 0;
  let failed = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const until = started + seconds * 1000;
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      if (rate !== null) {
        const due = started + (issued++ * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) {
          await new Promise((r) => setTimeout(r, wait));
        }
        if (performance.now() >= until) {
          break;
        }
      }
      const t0 = performance.now();
      try {
        const { txnId } = await client.beginAhead(enlist === 'begin' ? { participants } : {});
        for (const p of enlist === 'calls' ? participants : []) {
          await client.enlist(txnId, p);
        }
        for (let i = 0; i < calls; i++) {
          for (const p of participants) {
            await work.call(p.endpoint, txnId);
          }
        }
        const answer = await client.commit(txnId);
        if (answer.outcome === 'COMMITTED') {
          committed++;
          const now = performance.now();
          latencies.push(now - t0);
          timeline.push([(now - started) / 1000, now - t0]);
        } else {
          failed++;
          firstError ??= `outcome ${answer.outcome}: ${answer.reason}`;
        }
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const seconds_ = (performance.now() - started) / 1000;
  client.close();
  work.close();
  return {
    committed,
    failed,
    seconds: seconds_,
    latenciesMs: latencies.sort((a, b) => a - b),
    timeline,
    firstError,
  };
}

/** The q-th quantile of sorted values. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) {
    return NaN;
  }
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}
