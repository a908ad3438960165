import type { Config } from './config.ts';
import { SECURITY_SETTINGS } from './config-security-settings.ts';

export type Kind =
  | 'int'
  | 'string'
  | 'bool'
  | 'flag'
  | 'file'
  | `choice:${string}`
  | 'listen'
  | 'listen-or-off'
  | 'url'
  | 'level'
  | 'schema';
export interface Setting {
  readonly key: keyof Config;
  readonly env: string;
  readonly kind: Kind;
  readonly def: string | null;
  readonly min?: number;
  readonly help: string;
}

/** The settings table: flag `--kebab-key`, environment variable, default, meaning. */
const CORE_SETTINGS: readonly Setting[] = [
  {
    key: 'listen',
    env: 'TWOPC_LISTEN',
    kind: 'listen',
    def: '127.0.0.1:50051',
    help: 'gRPC address (host:port)',
  },
  {
    key: 'databaseUrl',
    env: 'DATABASE_URL',
    kind: 'url',
    def: null,
    help: 'PostgreSQL URL; unset: embedded PostgreSQL',
  },
  {
    key: 'logShards',
    env: 'TWOPC_LOG_SHARDS',
    kind: 'file',
    def: '',
    help: 'shards of the log: JSON file of {id, url, weight}; re-read on SIGHUP (unset: one log)',
  },
  {
    key: 'dataDir',
    env: 'TWOPC_DATA_DIR',
    kind: 'string',
    def: '.twopc',
    help: 'embedded PostgreSQL data directory',
  },
  {
    key: 'embeddedPgPort',
    env: 'TWOPC_EMBEDDED_PG_PORT',
    kind: 'int',
    def: '54329',
    min: 1,
    help: 'port of the embedded PostgreSQL',
  },
  {
    key: 'dbSchema',
    env: 'TWOPC_DB_SCHEMA',
    kind: 'schema',
    def: 'twopc',
    help: 'schema holding the log tables',
  },
  {
    key: 'dbPoolSize',
    env: 'TWOPC_DB_POOL_SIZE',
    kind: 'int',
    def: '10',
    min: 2,
    help: 'PostgreSQL connections',
  },
  {
    key: 'storeMaxPending',
    env: 'TWOPC_STORE_MAX_PENDING',
    kind: 'int',
    def: '10000',
    min: 1,
    help: 'new-work operations waiting on PostgreSQL at once; more get RESOURCE_EXHAUSTED',
  },
  {
    key: 'storeStallMs',
    env: 'TWOPC_STORE_STALL_MS',
    kind: 'int',
    def: '5000',
    min: 1,
    help: 'new work gets RESOURCE_EXHAUSTED while PostgreSQL has not answered for this long (ms)',
  },
  {
    key: 'coordinatorName',
    env: 'TWOPC_COORDINATOR_NAME',
    kind: 'string',
    def: '',
    help: 'stable name of this coordinator (default host/listen address)',
  },
  {
    key: 'leaseDefaultMs',
    env: 'TWOPC_LEASE_DEFAULT_MS',
    kind: 'int',
    def: '60000',
    min: 1,
    help: 'transaction lease when Begin gives none (ms)',
  },
  {
    key: 'leaseMaxMs',
    env: 'TWOPC_LEASE_MAX_MS',
    kind: 'int',
    def: '3600000',
    min: 1,
    help: 'longest lease a client may ask for (ms)',
  },
  {
    key: 'prepareTimeoutMs',
    env: 'TWOPC_PREPARE_TIMEOUT_MS',
    kind: 'int',
    def: '10000',
    min: 1,
    help: 'time a participant has to vote (ms)',
  },
  {
    key: 'callTimeoutMs',
    env: 'TWOPC_CALL_TIMEOUT_MS',
    kind: 'int',
    def: '5000',
    min: 1,
    help: 'deadline of each phase-2 call (ms)',
  },
  {
    key: 'heartbeatIntervalMs',
    env: 'TWOPC_HEARTBEAT_INTERVAL_MS',
    kind: 'int',
    def: '1000',
    min: 10,
    help: 'health check of a waited-on participant, every (ms)',
  },
  {
    key: 'heartbeatMisses',
    env: 'TWOPC_HEARTBEAT_MISSES',
    kind: 'int',
    def: '3',
    min: 1,
    help: 'missed checks in a row that make a participant DOWN',
  },
  {
    key: 'retryBaseMs',
    env: 'TWOPC_RETRY_BASE_MS',
    kind: 'int',
    def: '100',
    min: 1,
    help: 'first phase-2 retry delay (ms)',
  },
  {
    key: 'retryCapMs',
    env: 'TWOPC_RETRY_CAP_MS',
    kind: 'int',
    def: '30000',
    min: 1,
    help: 'longest phase-2 retry delay (ms)',
  },
  {
    key: 'onePhase',
    env: 'TWOPC_ONE_PHASE',
    kind: 'bool',
    def: 'true',
    help: 'commit a lone participant in one phase',
  },
  {
    key: 'earlyPrepare',
    env: 'TWOPC_EARLY_PREPARE',
    kind: 'bool',
    def: 'true',
    help: 'send Prepare while the commit claim is written, for transactions begun here (participants ask GetTransaction about branches prepared long without an outcome)',
  },
  {
    key: 'participantBatching',
    env: 'TWOPC_PARTICIPANT_BATCHING',
    kind: 'bool',
    def: 'true',
    help: 'send phase messages in batches on one stream to participants that offer twopc.v1.BatchedParticipant',
  },
  {
    key: 'sweepIntervalMs',
    env: 'TWOPC_SWEEP_INTERVAL_MS',
    kind: 'int',
    def: '1000',
    min: 10,
    help: 'how often expired leases are aborted (ms)',
  },
  {
    key: 'recoveryIntervalMs',
    env: 'TWOPC_RECOVERY_INTERVAL_MS',
    kind: 'int',
    def: '5000',
    min: 10,
    help: "how often dead coordinators' work is taken over (ms)",
  },
  {
    key: 'coordinatorLeaseMs',
    env: 'TWOPC_COORDINATOR_LEASE_MS',
    kind: 'int',
    def: '15000',
    min: 30,
    help: 'a coordinator silent this long is dead (ms)',
  },
  {
    key: 'retentionHours',
    env: 'TWOPC_RETENTION_HOURS',
    kind: 'int',
    def: '168',
    min: 0,
    help: 'finished transactions are kept this long (h)',
  },
  {
    key: 'startupWaitMs',
    env: 'TWOPC_STARTUP_WAIT_MS',
    kind: 'int',
    def: '60000',
    min: 0,
    help: 'at start-up, how long to keep trying a DATABASE_URL that does not answer yet (ms)',
  },
  {
    key: 'shutdownGraceMs',
    env: 'TWOPC_SHUTDOWN_GRACE_MS',
    kind: 'int',
    def: '10000',
    min: 0,
    help: 'time running calls get on SIGTERM (ms)',
  },
  {
    key: 'metricsListen',
    env: 'TWOPC_METRICS_LISTEN',
    kind: 'listen',
    def: '127.0.0.1:9464',
    help: 'Prometheus /metrics address (host:port)',
  },
  {
    key: 'consoleListen',
    env: 'TWOPC_CONSOLE_LISTEN',
    kind: 'listen-or-off',
    def: null,
    help: 'operator console address (host:port; HTTPS with --tls-cert); unset: no console',
  },
  {
    key: 'consoleHosts',
    env: 'TWOPC_CONSOLE_HOSTS',
    kind: 'string',
    def: '',
    help: 'host names the console is served under, comma-separated, besides IP addresses and localhost (requests naming another host are refused: DNS rebinding)',
  },
  {
    key: 'traceUrl',
    env: 'TWOPC_TRACE_URL',
    kind: 'string',
    def: '',
    help: "the console's link to a transaction's trace, {traceId} replaced (e.g. http://localhost:16686/trace/{traceId})",
  },
  {
    key: 'stuckAfterMs',
    env: 'TWOPC_STUCK_AFTER_MS',
    kind: 'int',
    def: '60000',
    min: 1,
    help: 'phase 2 unfinished this long after the decision: stuck (ms)',
  },
  {
    key: 'logLevel',
    env: 'TWOPC_LOG_LEVEL',
    kind: 'level',
    def: 'info',
    help: 'fatal, error, warn, info, debug, trace or silent',
  },
];

/** The settings table: flag `--kebab-key`, environment variable, default, meaning. */
export const SETTINGS: readonly Setting[] = [...CORE_SETTINGS, ...SECURITY_SETTINGS];
