// The ground floor of the configuration: what the process is configured by and how
// one setting is described. It imports nothing, so the settings tables and the loader
// above it form a line, not a circle.

/** Everything the coordinator process is configured by. */
export interface Config {
  readonly listen: string;
  readonly databaseUrl: string | null;
  /** The shards file (null: one log, DATABASE_URL or embedded). */
  readonly logShards: string | null;
  /** What stands between the coordinator and the log's PostgreSQL (see createPools). */
  readonly logPooler: 'none' | 'transaction';
  readonly dataDir: string;
  readonly embeddedPgPort: number;
  readonly dbSchema: string;
  readonly dbPoolSize: number;
  readonly storeMaxPending: number;
  readonly storeStallMs: number;
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
  readonly participantBatching: boolean;
  readonly earlyPrepare: boolean;
  readonly clientTxnIds: boolean;
  readonly sweepIntervalMs: number;
  readonly recoveryIntervalMs: number;
  readonly coordinatorLeaseMs: number;
  readonly retentionHours: number;
  /** At start-up, how long a DATABASE_URL that does not answer yet is tried (ms). */
  readonly startupWaitMs: number;
  readonly shutdownGraceMs: number;
  readonly metricsListen: string;
  readonly consoleListen: string | null;
  /** Host names the console answers besides IP literals and localhost (lowercase). */
  readonly consoleHosts: readonly string[];
  readonly traceUrl: string;
  readonly stuckAfterMs: number;
  readonly logLevel: string;
  readonly insecure: boolean;
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  readonly tlsClientCa: string | null;
  readonly tlsReloadMs: number;
  readonly auth: 'auto' | 'required' | 'off';
  readonly identitiesFile: string | null;
  readonly tokenKeys: string | null;
  readonly tokenIssuer: string;
  readonly tokenAudience: string;
  readonly tokenClockSkewS: number;
  readonly participantsFile: string | null;
  readonly participantTlsCa: string | null;
  readonly participantTlsCert: string | null;
  readonly participantTlsKey: string | null;
  readonly auditLog: string | null;
  readonly maxOpenTransactions: number;
  readonly maxOpenTransactionsPerTenant: number;
  readonly maxMessageBytes: number;
  readonly maxMetadataBytes: number;
  readonly maxConcurrentStreams: number;
  readonly abortAttempts: number;
}

/** How a setting's text is read. */
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
/** One row of the settings table: flag `--kebab-key`, environment variable, default, meaning. */
export interface Setting {
  readonly key: keyof Config;
  readonly env: string;
  readonly kind: Kind;
  readonly def: string | null;
  readonly min?: number;
  readonly help: string;
}
