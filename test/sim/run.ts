import { runSeed } from './sim-world.ts';
import type { SimResult } from './sim-world.ts';
import { SimStats } from './sim-stats.ts';
import { FAULT_FREE_COMMIT_FLOOR, JUDGED_FROM } from './sim-floors.ts';

/**
 * `npm run sim`: runs seeds of the deterministic simulation, then prints
 * what they did (the coverage table) and judges it.
 *   --seed N        one seed, printing what happened (replays exactly)
 *   --seeds N       N seeds from --from (default 1,000)
 *   --from K        the first seed (default 1)
 *   --minutes M     seeds for M minutes (the soak mode)
 *   --first-failure stop at the first failing seed
 * A run of at least 200 seeds also fails when a fault never fired, a
 * path was never taken, or too few fault-free transactions committed.
 */
function option(name: string): number | null {
  const i = process.argv.indexOf(`--${name}`);
  const value = i < 0 ? undefined : process.argv[i + 1];
  if (value === undefined) {
    return null;
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`--${name} takes a whole number, not '${value}'`);
  }
  return n;
}

function report(r: SimResult, full: boolean): void {
  if (full || r.violations.length > 0) {
    console.log(r.trace.join('\n'));
  }
  if (full) {
    console.log(JSON.stringify(r.config));
  }
  console.log(
    `seed ${r.seed}: ${r.transactions} transactions, ${r.steps} steps, ${r.simulatedMs} ms simulated: ${
      r.violations.length === 0 ? 'ok' : `${r.violations.length} violations`
    }`,
  );
  for (const v of r.violations) {
    console.log(`  - ${v}`);
  }
}

async function main(): Promise<number> {
  const one = option('seed');
  if (one !== null) {
    const r = await runSeed(one);
    report(r, true);
    console.log(r.stats.table(1).join('\n'));
    return r.violations.length === 0 ? 0 : 1;
  }
  const from = option('from') ?? 1;
  const minutes = option('minutes');
  const firstFailure = process.argv.includes('--first-failure');
  const count = option('seeds') ?? (minutes === null ? 1_000 : Infinity);
  const stopAt = minutes === null ? Infinity : Date.now() + minutes * 60_000;
  const failed: number[] = [];
  const stats = new SimStats();
  let seed = from;
  for (; seed < from + count && Date.now() < stopAt; seed++) {
    const r = await runSeed(seed);
    stats.add(r.stats);
    if (r.violations.length > 0) {
      failed.push(seed);
      report(r, false);
      console.log(`replay: npm run sim -- --seed ${seed}`);
      if (firstFailure) {
        seed++;
        break;
      }
    }
  }
  const seeds = seed - from;
  console.log(stats.table(seeds).join('\n'));
  const empty =
    seeds >= JUDGED_FROM ? stats.emptiness({ faultFreeCommitShare: FAULT_FREE_COMMIT_FLOOR }) : [];
  for (const e of empty) {
    console.log(`EMPTY WORLD: ${e}`);
  }
  if (seeds < JUDGED_FROM) {
    console.log(`(coverage not judged under ${JUDGED_FROM} seeds)`);
  }
  console.log(`${seeds} seeds (${from}..${seed - 1}): ${failed.length} failing`);
  for (const s of failed) {
    console.log(`  npm run sim -- --seed ${s}`);
  }
  return failed.length === 0 && empty.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
