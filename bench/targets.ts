// What the benchmark measures: the floor (bench/floor.ts) and twopc, with
// participants that offer only the unary calls (the floor's participants,
// target `twopc`) or also the batched channel (`batched`); with --secure,
// `secure`: twopc with mutual TLS on every link (client, participants),
// callers authenticated by certificate and a participant registry.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDemoPki } from '../examples/dev-pki.ts';
import type { ConnectionOptions } from 'twopc/internal/connection';
import type { BenchLog } from './bench-log.ts';
import { freePort } from './ports.ts';
import { startChild, startCoordinator } from './proc.ts';
import type { Child } from './proc.ts';

export type Target = 'floor' | 'twopc' | 'batched' | 'secure';

/** The targets of a round, in the order of the first (later rounds alternate). */
export function roundTargets(secure: boolean): Target[] {
  return secure ? ['floor', 'twopc', 'batched', 'secure'] : ['floor', 'twopc', 'batched'];
}

/** One set of bench participants (bench/participant.ts), named p0…pN-1. */
export interface Participants {
  readonly refs: { name: string; endpoint: string }[];
  readonly pids: number[];
}

/** The participants of every target, started once for the whole run. */
export interface ParticipantSets {
  readonly unary: Participants;
  readonly batched: Participants;
  /** Empty without --secure. */
  readonly secure: Participants;
}

/**
 * Starts `n` participants of each kind; every process started is pushed to
 * `children` at once, so the caller stops them even if a later start fails.
 * With `secure`, also writes the PKI the secure target uses to `pki`.
 */
export async function startParticipantSets(
  n: number,
  secure: boolean,
  pki: string,
  children: Child[],
): Promise<ParticipantSets> {
  const start = async (args: string[]): Promise<Participants> => {
    const started = await Promise.all(
      Array.from({ length: n }, () => startChild(['bench/participant.ts', ...args])),
    );
    children.push(...started);
    return {
      refs: started.map((c, i) => ({ name: `p${i}`, endpoint: `127.0.0.1:${c.port}` })),
      pids: started.map((c) => c.child.pid ?? 0),
    };
  };
  const unary = await start([]);
  const batched = await start(['--batched']);
  if (secure) {
    await writeBenchPki(pki, n);
  }
  return {
    unary,
    batched,
    secure: secure ? await start(['--batched', '--pki', pki]) : { refs: [], pids: [] },
  };
}

/** What every target of a run shares. */
export interface TargetSetup {
  /** The logs: the floor writes to the first, twopc's shards are every one. */
  readonly logs: readonly [BenchLog, ...BenchLog[]];
  readonly participants: ParticipantSets;
  readonly pki: string;
  /** The coordinator's TWOPC_RETENTION_HOURS, when given. */
  readonly retentionHours: string | undefined;
}

/** A target started for one measured window. */
export interface RunningTarget {
  /** The coordinator's or the floor's process. */
  readonly server: Child;
  readonly address: string;
  readonly pid: number;
  /** The coordinator's metrics endpoint; null for the floor, which has none. */
  readonly metricsUrl: string | null;
  /** The logs it writes to. */
  readonly logs: readonly BenchLog[];
  readonly participants: Participants;
  /** How its client connects. */
  readonly connection: ConnectionOptions;
}

/** Starts `target` over `schema` (new for each window), forced decision writes as in production. */
export async function startTarget(
  target: Target,
  schema: string,
  setup: TargetSetup,
): Promise<RunningTarget> {
  const metricsPort = await freePort();
  const [first] = setup.logs;
  const logs = target === 'floor' ? [first] : setup.logs;
  const server =
    target === 'floor'
      ? await startChild([
          'bench/floor.ts',
          JSON.stringify({ databaseUrl: first.server.url, schema }),
        ])
      : await startCoordinator(first.server.url, schema, {
          ...(await shardsEnv(schema, setup.logs)),
          TWOPC_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
          TWOPC_LOG_LEVEL: 'info',
          ...(setup.retentionHours === undefined
            ? {}
            : { TWOPC_RETENTION_HOURS: setup.retentionHours }),
          ...(target === 'secure' ? secureEnv(setup.pki) : {}),
        });
  return {
    server,
    address: `127.0.0.1:${server.port}`,
    pid: server.child.pid ?? 0,
    metricsUrl: target === 'floor' ? null : `http://127.0.0.1:${metricsPort}/metrics`,
    logs,
    participants:
      target === 'secure'
        ? setup.participants.secure
        : target === 'batched'
          ? setup.participants.batched
          : setup.participants.unary,
    connection: target === 'secure' ? secureClient(setup.pki) : {},
  };
}

/** More than one log: a shards file naming every one, in the first's scratch directory. */
async function shardsEnv(
  schema: string,
  logs: readonly BenchLog[],
): Promise<Record<string, string>> {
  const [first] = logs;
  if (first === undefined || logs.length === 1) {
    return {};
  }
  const file = join(first.dir, `${schema}.shards.json`);
  await writeFile(
    file,
    JSON.stringify({
      shards: logs.map((l, id) => ({ id, url: l.server.url, weight: 1, schema })),
    }),
  );
  return { DATABASE_URL: '', TWOPC_LOG_SHARDS: file };
}

/** The demo PKI, with a registry and identities for the bench's participants p0…pN-1. */
async function writeBenchPki(pki: string, n: number): Promise<void> {
  await writeDemoPki(pki);
  const names = Array.from({ length: n }, (_, i) => `p${i}`);
  await writeFile(
    join(pki, 'bench-participants.json'),
    JSON.stringify({ participants: Object.fromEntries(names.map((p) => [p, ['127.0.0.1:*']])) }),
  );
}

/** The coordinator as a secured deployment runs it. */
function secureEnv(pki: string): Record<string, string> {
  return {
    TWOPC_TLS_CERT: join(pki, 'coordinator.pem'),
    TWOPC_TLS_KEY: join(pki, 'coordinator.key'),
    TWOPC_TLS_CLIENT_CA: join(pki, 'ca.pem'),
    TWOPC_IDENTITIES: join(pki, 'identities.json'),
    TWOPC_PARTICIPANTS: join(pki, 'bench-participants.json'),
    TWOPC_PARTICIPANT_TLS_CA: join(pki, 'ca.pem'),
    TWOPC_PARTICIPANT_TLS_CERT: join(pki, 'coordinator.pem'),
    TWOPC_PARTICIPANT_TLS_KEY: join(pki, 'coordinator.key'),
  };
}

/** The client with the shop's certificate (role client). */
function secureClient(pki: string): ConnectionOptions {
  return {
    tls: {
      caFile: join(pki, 'ca.pem'),
      certFile: join(pki, 'shop.pem'),
      keyFile: join(pki, 'shop.key'),
    },
  };
}
