import { runSeed } from './sim-world.ts';
import type { SimResult } from './sim-world.ts';

/**
 * `npm run sim`: runs seeds of the deterministic simulation.
 *   --seed N        one seed, printing what happened (replays exactly)
 *   --seeds N       N seeds from --from (default 1)
 *   --minutes M     seeds for M minutes (the long mode)
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
  console.log(
    `seed ${r.seed}: ${r.transactions} transactions, ${r.steps} steps, ${r.simulatedMs} ms simulated: ${
      r.violations.length === 0 ? 'ok' : `${r.violations.length} violations`
    }`,
  );
  for (const v of r.violations) {
    console.log(`  - ${v}`);
  }
  if (r.violations.length > 0) {
    console.log(`replay: npm run sim -- --seed ${r.seed}`);
  }
}

async function main(): Promise<number> {
  const one = option('seed');
  if (one !== null) {
    const r = await runSeed(one);
    report(r, true);
    return r.violations.length === 0 ? 0 : 1;
  }
  const from = option('from') ?? 1;
  const minutes = option('minutes');
  const count = option('seeds') ?? (minutes === null ? 1_000 : Infinity);
  const stopAt = minutes === null ? Infinity : Date.now() + minutes * 60_000;
  let failed = 0;
  let transactions = 0;
  let seed = from;
  for (; seed < from + count && Date.now() < stopAt; seed++) {
    const r = await runSeed(seed);
    transactions += r.transactions;
    if (r.violations.length > 0) {
      failed++;
      report(r, false);
    }
  }
  console.log(
    `${seed - from} seeds (${from}..${seed - 1}), ${transactions} transactions: ${failed} failing`,
  );
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
