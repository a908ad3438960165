import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

/** Everything the coordinator process is configured by. */
export interface Config {
  readonly listen: string;
  readonly databaseUrl: string | null;
  readonly dataDir: string;
  readonly embeddedPgPort: number;
  readonly dbSchema: string;
  readonly dbPoolSize: number;
  readonly coordinatorName: string;
  readonly leaseDefaultMs: number;
  readonly leaseMaxMs: number;
  readonly prepareTimeoutMs: number;
  readonly callTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatMisses: number;
  readonly retryBaseMs: number;
  readonly retryCapMs: number;
  readonly onePhase: boolean;
  readonly sweepIntervalMs: number;
  readonly recoveryIntervalMs: number;
  readonly coordinatorLeaseMs: number;
  readonly retentionHours: number;
  readonly shutdownGraceMs: number;
  readonly metricsListen: string;
  readonly stuckAfterMs: number;
  readonly logLevel: string;
}

type Kind = 'int' | 'string' | 'bool' | 'listen' | 'url' | 'level' | 'schema';
interface Setting {
  readonly key: keyof Config;
  readonly env: string;
  readonly kind: Kind;
  readonly def: string | null;
  readonly min?: number;
  readonly help: string;
}

/** The settings table: flag `--kebab-key`, environment variable, default, meaning. */
export const SETTINGS: readonly Setting[] = [
  { key: 'listen', env: 'TWOPC_LISTEN', kind: 'listen', def: '127.0.0.1:50051', help: 'gRPC address (host:port)' },
  { key: 'databaseUrl', env: 'DATABASE_URL', kind: 'url', def: null, help: 'PostgreSQL URL; unset: embedded PostgreSQL' },
  { key: 'dataDir', env: 'TWOPC_DATA_DIR', kind: 'string', def: '.twopc', help: 'embedded PostgreSQL data directory' },
  { key: 'embeddedPgPort', env: 'TWOPC_EMBEDDED_PG_PORT', kind: 'int', def: '54329', min: 1, help: 'port of the embedded PostgreSQL' },
  { key: 'dbSchema', env: 'TWOPC_DB_SCHEMA', kind: 'schema', def: 'twopc', help: 'schema holding the log tables' },
  { key: 'dbPoolSize', env: 'TWOPC_DB_POOL_SIZE', kind: 'int', def: '10', min: 2, help: 'PostgreSQL connections' },
  { key: 'coordinatorName', env: 'TWOPC_COORDINATOR_NAME', kind: 'string', def: '', help: 'stable name of this coordinator (default host/listen address)' },
  { key: 'leaseDefaultMs', env: 'TWOPC_LEASE_DEFAULT_MS', kind: 'int', def: '60000', min: 1, help: 'transaction lease when Begin gives none (ms)' },
  { key: 'leaseMaxMs', env: 'TWOPC_LEASE_MAX_MS', kind: 'int', def: '3600000', min: 1, help: 'longest lease a client may ask for (ms)' },
  { key: 'prepareTimeoutMs', env: 'TWOPC_PREPARE_TIMEOUT_MS', kind: 'int', def: '10000', min: 1, help: 'time a participant has to vote (ms)' },
  { key: 'callTimeoutMs', env: 'TWOPC_CALL_TIMEOUT_MS', kind: 'int', def: '5000', min: 1, help: 'deadline of each phase-2 call (ms)' },
  { key: 'heartbeatIntervalMs', env: 'TWOPC_HEARTBEAT_INTERVAL_MS', kind: 'int', def: '1000', min: 10, help: 'health check of a waited-on participant, every (ms)' },
  { key: 'heartbeatMisses', env: 'TWOPC_HEARTBEAT_MISSES', kind: 'int', def: '3', min: 1, help: 'missed checks in a row that make a participant DOWN' },
  { key: 'retryBaseMs', env: 'TWOPC_RETRY_BASE_MS', kind: 'int', def: '100', min: 1, help: 'first phase-2 retry delay (ms)' },
  { key: 'retryCapMs', env: 'TWOPC_RETRY_CAP_MS', kind: 'int', def: '30000', min: 1, help: 'longest phase-2 retry delay (ms)' },
  { key: 'onePhase', env: 'TWOPC_ONE_PHASE', kind: 'bool', def: 'true', help: 'commit a lone participant in one phase' },
  { key: 'sweepIntervalMs', env: 'TWOPC_SWEEP_INTERVAL_MS', kind: 'int', def: '1000', min: 10, help: 'how often expired leases are aborted (ms)' },
  { key: 'recoveryIntervalMs', env: 'TWOPC_RECOVERY_INTERVAL_MS', kind: 'int', def: '5000', min: 10, help: 'how often dead coordinators\' work is taken over (ms)' },
  { key: 'coordinatorLeaseMs', env: 'TWOPC_COORDINATOR_LEASE_MS', kind: 'int', def: '15000', min: 30, help: 'a coordinator silent this long is dead (ms)' },
  { key: 'retentionHours', env: 'TWOPC_RETENTION_HOURS', kind: 'int', def: '168', min: 0, help: 'finished transactions are kept this long (h)' },
  { key: 'shutdownGraceMs', env: 'TWOPC_SHUTDOWN_GRACE_MS', kind: 'int', def: '10000', min: 0, help: 'time running calls get on SIGTERM (ms)' },
  { key: 'metricsListen', env: 'TWOPC_METRICS_LISTEN', kind: 'listen', def: '127.0.0.1:9464', help: 'Prometheus /metrics address (host:port)' },
  { key: 'stuckAfterMs', env: 'TWOPC_STUCK_AFTER_MS', kind: 'int', def: '60000', min: 1, help: 'phase 2 unfinished this long after the decision: stuck (ms)' },
  { key: 'logLevel', env: 'TWOPC_LOG_LEVEL', kind: 'level', def: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
];

/** A configuration problem, told in one line. */
export class ConfigError extends Error {}

/** `--kebab-case` flag of a setting. */
export function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function parseValue(s: Setting, raw: string, from: string): string | number | boolean | null {
  const bad = (what: string): never => {
    throw new ConfigError(`${from}: '${raw}' is not ${what}`);
  };
  switch (s.kind) {
    case 'int': {
      const n = /^\d+$/.test(raw) ? Number(raw) : bad('a whole number');
      return n >= (s.min ?? 0) && Number.isSafeInteger(n) ? n : bad(`a whole number >= ${s.min ?? 0}`);
    }
    case 'bool':
      return ['true', '1', 'yes'].includes(raw) ? true : ['false', '0', 'no'].includes(raw) ? false : bad('true or false');
    case 'listen': {
      const port = Number(raw.slice(raw.lastIndexOf(':') + 1));
      const ok = raw.lastIndexOf(':') > 0 && /^\d+$/.test(raw.slice(raw.lastIndexOf(':') + 1)) && port <= 65535;
      return ok ? raw : bad('host:port with a port from 0 to 65535');
    }
    case 'url':
      return raw === '' ? null : /^postgres(ql)?:\/\//.test(raw) ? raw : bad('a postgres:// URL');
    case 'level':
      return LEVELS.has(raw) ? raw : bad([...LEVELS].join(', '));
    case 'schema':
      return /^[a-z_][a-z0-9_]{0,62}$/.test(raw) ? raw : bad('a schema name (lowercase letters, digits, _)');
    case 'string':
      return raw;
  }
}

/**
 * Builds the configuration from flags (first) and environment variables.
 * @throws ConfigError naming the flag or variable to fix
 */
export function loadConfig(args: readonly string[], env: NodeJS.ProcessEnv): Config {
  const options = Object.fromEntries(SETTINGS.map((s) => [flagOf(s.key), { type: 'string' as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}; see twopc --help`);
  }
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const flag = values[flagOf(s.key)];
    const raw = typeof flag === 'string' ? flag : env[s.env];
    const from = typeof flag === 'string' ? `--${flagOf(s.key)}` : s.env;
    out[s.key] = raw === undefined ? (s.def === null ? null : parseValue(s, s.def, 'default')) : parseValue(s, raw, from);
  }
  const config = out as unknown as Config;
  if (config.leaseDefaultMs > config.leaseMaxMs) {
    throw new ConfigError(`lease default ${config.leaseDefaultMs} ms is over the maximum ${config.leaseMaxMs} ms`);
  }
  if (config.retryBaseMs > config.retryCapMs) {
    throw new ConfigError(`retry base ${config.retryBaseMs} ms is over the cap ${config.retryCapMs} ms`);
  }
  const name = config.coordinatorName === '' ? `${hostname()}/${config.listen}` : config.coordinatorName;
  return Object.freeze({ ...config, coordinatorName: name });
}

/** The settings table as help text. */
export function settingsHelp(): string {
  return SETTINGS.map((s) => `  --${flagOf(s.key).padEnd(22)} ${s.env.padEnd(27)} ${s.help}${s.def ? ` [${s.def}]` : ''}`).join('\n');
}
