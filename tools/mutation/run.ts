import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MUTANTS } from './mutants.ts';
import type { Mutant } from './mutants.ts';

/**
 * `npm run test:mutation`: plants each bug of the kit (mutants.ts), one at
 * a time, in a scratch copy of the tree (never the working tree), and runs
 * what must catch it: the simulation's default seeds, its pinned
 * scenarios, the unit tests (stopping at the first that does), or for a
 * patch of the SQL the differential test against the real PostgreSQL.
 * Fails, naming them, when a planted bug escapes.
 *   --only NAME   one mutant
 *   --keep        leave the scratch copy (its path is printed)
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SIM_SEEDS = process.env.TWOPC_SIM_SEEDS ?? '2500';
const STEP_TIMEOUT_MS = 10 * 60_000;

/** A scratch copy of the tree as git sees it (tracked and new files), sharing node_modules. */
function scratchCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twopc-mutation-'));
  const listed = spawnSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  if (listed.status !== 0) {
    throw new Error(`git ls-files failed: ${listed.stderr}`);
  }
  for (const file of listed.stdout.split('\0').filter((f) => f !== '')) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    try {
      copyFileSync(join(ROOT, file), join(dir, file));
    } catch {
      // listed but deleted in the working tree: not part of it
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

interface Verdict {
  readonly caught: boolean;
  readonly how: string;
}

/** Runs one checker in the scratch copy; caught when it fails. */
function check(dir: string, what: string, args: readonly string[]): Verdict {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: STEP_TIMEOUT_MS,
    env: { ...process.env, FORCE_COLOR: '0' },
    maxBuffer: 256 * 1024 * 1024,
  });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status === 0) {
    return { caught: false, how: `${what} passed (${secs} s)` };
  }
  const out = `${r.stdout}\n${r.stderr}`;
  const first =
    /^ {2}- .*$/m.exec(out)?.[0].trim() ??
    /^EMPTY WORLD: .*$/m.exec(out)?.[0] ??
    /^\s+\d+\) .*$/m.exec(out)?.[0].trim() ??
    (r.error !== undefined ? r.error.message : `exit ${String(r.status ?? r.signal)}`);
  const seed = /^replay: (.*)$/m.exec(out)?.[1];
  return {
    caught: true,
    how: `${what} (${secs} s): ${first.slice(0, 160)}${seed === undefined ? '' : ` [${seed}]`}`,
  };
}

function plant(dir: string, m: Mutant): () => void {
  const path = join(dir, m.file);
  const original = readFileSync(path, 'utf8');
  const at = original.indexOf(m.find);
  if (at < 0 || original.indexOf(m.find, at + 1) >= 0) {
    throw new Error(
      `mutant ${m.name}: its text must occur exactly once in ${m.file} (${at < 0 ? 'not found' : 'found twice'}); the code changed, update the kit`,
    );
  }
  writeFileSync(path, original.slice(0, at) + m.replace + original.slice(at + m.find.length));
  return () => writeFileSync(path, original);
}

/** The titles of the unit tests that fail (mocha's JSON reporter); one line when they did not run. */
function unitFailures(dir: string): { titles: string[]; secs: string } {
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'node_modules/mocha/bin/mocha.js',
      '--reporter',
      'json',
      'test/unit/**/*.test.ts',
    ],
    { cwd: dir, encoding: 'utf8', timeout: STEP_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 },
  );
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  try {
    const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
      failures: { fullTitle: string }[];
    };
    return { titles: json.failures.map((f) => f.fullTitle), secs };
  } catch {
    return { titles: [`the unit tests did not run (exit ${String(r.status ?? r.signal)})`], secs };
  }
}

/** Unit tests failing without any planted bug: they catch nothing. */
let baseline: Set<string> | null = null;

function unitCheck(dir: string): Verdict {
  const { titles, secs } = unitFailures(dir);
  const fresh = titles.filter((t) => !baseline?.has(t));
  return fresh.length === 0
    ? { caught: false, how: `unit tests passed (${secs} s)` }
    : { caught: true, how: `unit tests (${secs} s): ${fresh[0]?.slice(0, 160) ?? ''}` };
}

/** The simulation's seeds first (they name a seed), then its pinned scenarios, then the unit tests. */
function judge(dir: string, m: Mutant): Verdict[] {
  const mocha = 'node_modules/mocha/bin/mocha.js';
  if (m.by === 'sql') {
    return [
      check(dir, 'differential SQL test', [
        mocha,
        'test/integration/sim-store-differential.test.ts',
      ]),
    ];
  }
  const checkers: [string, () => Verdict][] = [
    [
      'seeds',
      () =>
        check(dir, `simulation (${SIM_SEEDS} seeds)`, [
          'test/sim/run.ts',
          '--seeds',
          SIM_SEEDS,
          '--first-failure',
        ]),
    ],
    ['scenarios', () => check(dir, 'pinned scenarios', [mocha, 'test/sim/scenarios.test.ts'])],
    ['unit', () => unitCheck(dir)],
  ];
  const verdicts: Verdict[] = [];
  for (const [, run] of checkers) {
    verdicts.push(run());
    if (verdicts.at(-1)?.caught === true) {
      break;
    }
  }
  return verdicts;
}

function main(): number {
  const only = process.argv.includes('--only')
    ? process.argv[process.argv.indexOf('--only') + 1]
    : undefined;
  const chosen = MUTANTS.filter((m) => only === undefined || m.name === only);
  if (chosen.length === 0) {
    throw new Error(`no mutant named ${only ?? ''}`);
  }
  const dir = scratchCopy();
  console.log(`scratch copy: ${dir}`);
  baseline = new Set(unitFailures(dir).titles);
  if (baseline.size > 0) {
    console.log(
      `warning: unit tests failing with no bug planted (they catch nothing here): ${[...baseline].join('; ')}`,
    );
  }
  const escaped: string[] = [];
  const by = { sim: 0, scenarios: 0, unit: 0, sql: 0 };
  const started = Date.now();
  try {
    for (const m of chosen) {
      const restore = plant(dir, m);
      try {
        const verdicts = judge(dir, m);
        const caught = verdicts.some((v) => v.caught);
        console.log(`${caught ? 'caught ' : 'ESCAPED'} ${m.name} — breaks ${m.breaks}`);
        verdicts.forEach((v) => console.log(`          ${v.caught ? '✔' : '·'} ${v.how}`));
        if (!caught) {
          escaped.push(m.name);
        }
        const catcher =
          m.by === 'sql' ? 'sql' : (['sim', 'scenarios', 'unit'] as const)[verdicts.length - 1];
        if (caught && catcher !== undefined) {
          by[catcher]++;
        }
      } finally {
        restore();
      }
    }
  } finally {
    if (process.argv.includes('--keep')) {
      console.log(`kept: ${dir}`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const sqlCount = chosen.filter((m) => m.by === 'sql').length;
  console.log(
    `mutation score: ${chosen.length - escaped.length} of ${chosen.length} planted bugs caught ` +
      `(of ${chosen.length - sqlCount} in the coordinator: ${by.sim} by the simulation's seeds, ${by.scenarios} more by its pinned scenarios, ${by.unit} more by the unit tests; ` +
      `of ${sqlCount} in the SQL: ${by.sql} by the differential test) in ${Math.round((Date.now() - started) / 1000)} s`,
  );
  for (const name of escaped) {
    console.log(`  escaped: npm run test:mutation -- --only ${name}`);
  }
  return escaped.length === 0 ? 0 : 1;
}

process.exit(main());
