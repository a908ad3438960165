import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/package-root.ts';

export const ROOT = packageRoot();
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** A child process of the benchmark. */
export interface Child {
  readonly child: ChildProcess;
  readonly port: number;
  stop(): Promise<void>;
}

/** Compiled (npm run bench) runs every process from .bench-build/; otherwise through tsx. */
const COMPILED = import.meta.url.endsWith('.js');

/** Node's arguments that run `script` (a path like bench/floor.ts), compiled or through tsx. */
function entryOf(script: string): string[] {
  return COMPILED
    ? [join(ROOT, '.bench-build', script.replace(/\.ts$/, '.js'))]
    : ['--import', 'tsx', script];
}

/**
 * Starts `<script> [args]` (a path like bench/floor.ts) and waits for it to
 * print {"listening": port} (or match `ready`).
 */
export async function startChild(
  args: string[],
  env: Record<string, string> = {},
  ready?: RegExp,
): Promise<Child> {
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const [script = '', ...rest] = args;
  const child = spawn(process.execPath, [...profile, ...entryOf(script), ...rest], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = ready ? ready.exec(out) : /"listening":(\d+)/.exec(out);
      if (m !== null) {
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${args.join(' ')} exited (${code}):\n${out.slice(-2000)}`)),
    );
  });
  return {
    child,
    port,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * CPU seconds used by a process tree: the root's own and reaped children's
 * time, plus the time of its live children (PostgreSQL's backends).
 */
export function treeCpuSeconds(rootPid: number): number {
  const stat = (pid: number | string): string[] =>
    readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const root = stat(rootPid);
  let total =
    (Number(root[11]) + Number(root[12]) + Number(root[13]) + Number(root[14])) / TICKS_PER_SECOND;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const s = stat(entry);
      if (Number(s[1]) === rootPid) {
        total += (Number(s[11]) + Number(s[12])) / TICKS_PER_SECOND;
      }
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Resident set size of a process in MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

/** A coordinator (`twopc serve`) over `schema` of the log at `databaseUrl`, on a free port. */
export function startCoordinator(
  databaseUrl: string,
  schema: string,
  env: Record<string, string> = {},
): Promise<Child> {
  return startChild(
    ['src/main.ts', 'serve'],
    {
      DATABASE_URL: databaseUrl,
      TWOPC_DB_SCHEMA: schema,
      TWOPC_LISTEN: '127.0.0.1:0',
      TWOPC_METRICS_LISTEN: '127.0.0.1:0',
      TWOPC_COORDINATOR_NAME: schema,
      ...env,
    },
    /"address":"127\.0\.0\.1:(\d+)"[^\n]*twopc serving/,
  );
}

/** Applies the log's migrations to `schema` (`twopc migrate`) and waits for it to finish. */
export async function migrateSchema(databaseUrl: string, schema: string): Promise<void> {
  const child = spawn(process.execPath, [...entryOf('src/main.ts'), 'migrate'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, TWOPC_DB_SCHEMA: schema },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) {
    throw new Error(`twopc migrate exited (${code}):\n${err.slice(-2000)}`);
  }
}
