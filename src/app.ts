import { buildSecurity, checkSecureByDefault } from './auth/build-security.ts';
import type { OwnEndpoint } from './auth/endpoint-policy.ts';
import { Coordinator } from './coordinator/coordinator.ts';
import { ConfigError } from './config.ts';
import type { Config } from './config.ts';
import { LogShards } from './log-shards.ts';
import { redactUrl } from './store/redact-url.ts';
import type { ShardStatus } from './log-shards.ts';
import { readShards } from './shards-file.ts';
import type { ShardSpec } from './shards-file.ts';
import { startConsoleServer } from './console/console-server.ts';
import { startCoordinatorServer } from './grpc/server.ts';
import type { CoordinatorServer } from './grpc/server.ts';
import { BatchedParticipantClient } from './participant/batched-participant-client.ts';
import { GrpcHealthProbe } from './participant/health-probe.ts';
import { HealthMonitor } from './participant/health-monitor.ts';
import { startEmbeddedPostgres } from './store/embedded-postgres-server.ts';
import type { EmbeddedServer } from './store/embedded-postgres-server.ts';
import { VERSION } from './package-version.ts';
import type { Logger } from './telemetry/logger.ts';
import { TwopcMetrics } from './telemetry/metrics.ts';
import { WarnLimiter } from './telemetry/warn-limiter.ts';
import { startMetricsServer } from './telemetry/metrics-server.ts';
import { rpcServerMetrics } from './telemetry/rpc-server-metrics.ts';
import type { Clock } from 'twopc/internal/time/clock';

/** A running coordinator process's parts. */
export interface App {
  readonly address: string;
  /** host:port of the Prometheus endpoint (GET /metrics). */
  readonly metricsAddress: string;
  /** The operator console's URL, or null without --console-listen. */
  readonly consoleUrl: string | null;
  /** The log's database (with shards: the first the shards file names). */
  readonly databaseUrl: string;
  readonly coordinator: Coordinator;
  readonly server: CoordinatorServer;
  /**
   * Re-reads the shards file and applies it (SIGHUP); no-op with one log.
   * @throws ShardsFileError when the file cannot be used (nothing changes)
   */
  reloadShards(): Promise<void>;
  /** The log's shards: number, weight, whether it answers (for logs). */
  shards(): ShardStatus[];
  /** Graceful stop: stop accepting, let running calls finish, persist, close. */
  stop(): Promise<void>;
}

export { redactUrl };

function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return {
    host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
    port: Number(address.slice(colon + 1)),
  };
}

/** Where this coordinator listens: never dialled as a participant (nor its log, added per shard). */
function ownEndpoints(config: Config, metricsAddress: string): OwnEndpoint[] {
  return [
    { ...hostPort(config.listen), what: 'gRPC listener' },
    { ...hostPort(metricsAddress), what: 'metrics listener' },
  ];
}

/** A shard's PostgreSQL, as an endpoint never dialled as a participant. */
function shardEndpoint(spec: ShardSpec, sharded: boolean): OwnEndpoint {
  const db = new URL(spec.url);
  return {
    host: db.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(db.port || '5432'),
    what: sharded ? `PostgreSQL (log shard ${spec.id})` : 'PostgreSQL',
  };
}

/**
 * The log's databases: the shards file's, DATABASE_URL as shard 0, or the
 * embedded server (started here) as shard 0.
 * @throws ConfigError for a shards file that cannot be used
 */
export async function openDatabase(
  config: Config,
  log: Logger,
): Promise<{ specs: ShardSpec[]; embedded: EmbeddedServer | null }> {
  if (config.logShards !== null) {
    const specs = await readShards(config.logShards, config.dbSchema).catch((err: unknown) => {
      throw new ConfigError(`--log-shards ${(err as Error).message}`);
    });
    return { specs, embedded: null };
  }
  const one = (url: string): ShardSpec[] => [{ id: 0, url, weight: 1, schema: config.dbSchema }];
  if (config.databaseUrl !== null) {
    return { specs: one(config.databaseUrl), embedded: null };
  }
  const embedded = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.embeddedPgPort,
    log: (message) => log.debug({ component: 'embedded-postgres' }, message.trim()),
    warn: (message) => log.warn({ component: 'embedded-postgres' }, message),
  });
  log.info(
    { data_dir: config.dataDir, port: config.embeddedPgPort },
    'embedded PostgreSQL started',
  );
  return { specs: one(embedded.url), embedded };
}

/**
 * Wires the real adapters and starts serving: database (embedded or
 * DATABASE_URL), migrations, store, coordinator, background loops, gRPC.
 */
export async function startApp(config: Config, log: Logger, clock: Clock): Promise<App> {
  checkSecureByDefault(config); // before anything is started
  const { specs, embedded } = await openDatabase(config, log);
  // What has been started so far, undone in reverse if the start fails:
  // a failed start leaves nothing running (the embedded PostgreSQL included).
  const undo: (() => Promise<void> | void)[] = [() => embedded?.stop()];
  try {
    return await startServing(config, log, clock, specs, embedded !== null, undo);
  } catch (err) {
    for (const step of undo.reverse()) {
      await Promise.resolve()
        .then(step)
        .catch(() => undefined);
    }
    throw err;
  }
}

async function startServing(
  config: Config,
  log: Logger,
  clock: Clock,
  specs: ShardSpec[],
  embedded: boolean,
  undo: (() => Promise<void> | void)[],
): Promise<App> {
  const shards = new LogShards(config, log, clock);
  undo.push(() => shards.close());
  // An embedded log is started right here: there is nothing to wait for.
  await shards.open(specs, !embedded);
  const store = shards.log;
  const metricsServer = await startMetricsServer(config.metricsListen);
  undo.push(() => metricsServer.close());
  const room = await buildSecurity(
    config,
    store,
    ownEndpoints(config, metricsServer.address),
    clock,
    log,
  );
  undo.push(() => room.close());
  const metrics = new TwopcMetrics(metricsServer.meter);
  const participants = new BatchedParticipantClient(room.participantCredentials, {
    enabled: config.participantBatching,
    sent: (transport, calls) => metrics.participantCalls(transport, calls),
  });
  const probe = new GrpcHealthProbe(room.participantCredentials);
  const health = new HealthMonitor(probe, clock, {
    intervalMs: config.heartbeatIntervalMs,
    missLimit: config.heartbeatMisses,
  });
  const coordinator = new Coordinator(
    {
      store,
      participants,
      health,
      clock,
      log,
      metrics,
      warnings: new WarnLimiter(clock),
      random: Math.random,
      config: {
        prepareTimeoutMs: config.prepareTimeoutMs,
        callTimeoutMs: config.callTimeoutMs,
        retry: { baseMs: config.retryBaseMs, capMs: config.retryCapMs },
        onePhase: config.onePhase,
        earlyPrepare: config.earlyPrepare,
        // A sharded log's ids name their shard: only one log takes client-made ids.
        clientTxnIds: config.clientTxnIds && config.logShards === null,
        abortAttempts: config.abortAttempts,
      },
    },
    {
      defaultMs: config.leaseDefaultMs,
      maxMs: config.leaseMaxMs,
      stuckAfterMs: config.stuckAfterMs,
    },
  );
  let server: CoordinatorServer | null = null;
  metrics.observe(metricsServer.meter, {
    inFlight: () => coordinator.inFlight,
    backlog: () => shards.backlog,
    participantHealth: () => health.states(),
    pools: () => shards.poolStats(),
    admission: () => shards.admissionStats(),
    shards: () => shards.status(),
    build: () => ({ version: VERSION, logSchema: shards.logSchema }),
    unknownShardCalls: () => store.unknownShardCalls,
  });
  await shards.start(coordinator, {
    reachability: () => server?.setServing(store.anyUp),
    recovered: (taken) => metrics.recovery(taken),
    opened: (spec) => room.endpoints.addOwn(shardEndpoint(spec, config.logShards !== null)),
  });
  undo.push(() => shards.stopMaintenance(true));
  undo.push(() => {
    health.close();
    probe.close();
    participants.close();
  });
  server = await startCoordinatorServer(
    {
      listen: config.listen,
      credentials: room.serverCredentials,
      maxMessageBytes: config.maxMessageBytes,
      maxConcurrentStreams: config.maxConcurrentStreams,
      interceptors: [rpcServerMetrics(metricsServer.meter)],
    },
    coordinator,
    room.security,
    clock,
    log,
  );
  const grpcServer = server;
  undo.push(() => grpcServer.shutdown(0));
  room.endpoints.addOwn({ ...hostPort(grpcServer.address), what: 'gRPC listener' });
  const consoleServer =
    config.consoleListen === null
      ? null
      : await startConsoleServer(
          {
            listen: config.consoleListen,
            hosts: config.consoleHosts,
            tls:
              room.serverCertificates === null
                ? null
                : { certificates: room.serverCertificates, clientCa: config.tlsClientCa !== null },
          },
          { coordinator, security: room.security, clock, traceUrl: config.traceUrl },
          log,
        );
  const consoleUrl =
    consoleServer === null ? null : `${consoleServer.scheme}://${consoleServer.address}/`;
  if (consoleServer !== null) {
    room.endpoints.addOwn({ ...hostPort(consoleServer.address), what: 'console listener' });
  }
  log.info(room.summary, 'security');
  return {
    address: grpcServer.address,
    metricsAddress: metricsServer.address,
    consoleUrl,
    databaseUrl: specs[0]!.url,
    coordinator,
    shards: () => shards.status(),
    reloadShards: async () => {
      if (config.logShards === null) {
        return;
      }
      await shards.reload(await readShards(config.logShards, config.dbSchema));
    },
    server: grpcServer,
    stop: async () => {
      await consoleServer?.close();
      await grpcServer.shutdown(config.shutdownGraceMs);
      await coordinator.shutdown(Math.min(2_000, config.shutdownGraceMs));
      await shards.stopMaintenance(true);
      health.close();
      probe.close();
      participants.close();
      await shards.close();
      await metricsServer.close();
      room.close();
      await undo[0]?.(); // the embedded PostgreSQL
    },
  };
}
