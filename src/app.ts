import { buildSecurity, checkSecureByDefault } from './auth/build-security.ts';
import type { OwnEndpoint } from './auth/endpoint-policy.ts';
import { Coordinator } from './coordinator/coordinator.ts';
import { Maintenance } from './coordinator/maintenance.ts';
import type { Config } from './config.ts';
import { startConsoleServer } from './console/console-server.ts';
import { startCoordinatorServer } from './grpc/server.ts';
import type { CoordinatorServer } from './grpc/server.ts';
import { BatchedParticipantClient } from './participant/batched-participant-client.ts';
import { GrpcHealthProbe } from './participant/health-probe.ts';
import { HealthMonitor } from './participant/health-monitor.ts';
import { startEmbeddedPostgres } from './store/embedded-postgres-server.ts';
import type { EmbeddedServer } from './store/embedded-postgres-server.ts';
import { MigrationError, migrateLog } from './store/migrate.ts';
import { isConnectionError } from './store/pg-errors.ts';
import { VERSION } from './package-version.ts';
import { createPools } from './store/pg-pools.ts';
import { PgTransactionStore } from './store/pg-transaction-store.ts';
import type { Logger } from './telemetry/logger.ts';
import { TwopcMetrics } from './telemetry/metrics.ts';
import { WarnLimiter } from './telemetry/warn-limiter.ts';
import { startMetricsServer } from './telemetry/metrics-server.ts';
import { rpcServerMetrics } from './telemetry/rpc-server-metrics.ts';
import type { Clock } from 'twopc/internal/time/clock';
import { setTimeout as delay } from 'node:timers/promises';
import { backoffMs } from 'twopc/internal/shared/backoff';

/** A running coordinator process's parts. */
export interface App {
  readonly address: string;
  /** host:port of the Prometheus endpoint (GET /metrics). */
  readonly metricsAddress: string;
  /** The operator console's URL, or null without --console-listen. */
  readonly consoleUrl: string | null;
  readonly databaseUrl: string;
  readonly coordinator: Coordinator;
  readonly server: CoordinatorServer;
  /** Graceful stop: stop accepting, let running calls finish, persist, close. */
  stop(): Promise<void>;
}

/** Redacts the password of a database URL for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return {
    host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
    port: Number(address.slice(colon + 1)),
  };
}

/** Where this coordinator listens and what it connects to: never dialled as a participant. */
function ownEndpoints(config: Config, databaseUrl: string, metricsAddress: string): OwnEndpoint[] {
  const db = new URL(databaseUrl);
  return [
    { ...hostPort(config.listen), what: 'gRPC listener' },
    { ...hostPort(metricsAddress), what: 'metrics listener' },
    {
      host: db.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(db.port || '5432'),
      what: 'PostgreSQL',
    },
  ];
}

/** Starts the embedded server unless a URL is configured. */
export async function openDatabase(
  config: Config,
  log: Logger,
): Promise<{ url: string; embedded: EmbeddedServer | null }> {
  if (config.databaseUrl !== null) {
    return { url: config.databaseUrl, embedded: null };
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
  return { url: embedded.url, embedded };
}

/**
 * Wires the real adapters and starts serving: database (embedded or
 * DATABASE_URL), migrations, store, coordinator, background loops, gRPC.
 */
export async function startApp(config: Config, log: Logger, clock: Clock): Promise<App> {
  checkSecureByDefault(config); // before anything is started
  const { url, embedded } = await openDatabase(config, log);
  // What has been started so far, undone in reverse if the start fails:
  // a failed start leaves nothing running (the embedded PostgreSQL included).
  const undo: (() => Promise<void> | void)[] = [() => embedded?.stop()];
  try {
    return await startServing(config, log, clock, url, undo);
  } catch (err) {
    for (const step of undo.reverse()) {
      await Promise.resolve()
        .then(step)
        .catch(() => undefined);
    }
    throw err;
  }
}

/**
 * Migrates the log, waiting for it first: a coordinator started with its
 * PostgreSQL (a compose stack coming up cold, HAProxy with no primary yet,
 * a database still starting) keeps trying for `startupWaitMs` instead of
 * exiting, saying each time what it waits for.
 */
async function migrateWhenReachable(
  config: Config,
  log: Logger,
  clock: Clock,
  url: string,
): Promise<{ applied: string[]; logSchema: number }> {
  const started = clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateLog(url, config.dbSchema, (m) => log.warn(m));
    } catch (err) {
      const waited = clock.now() - started;
      if (
        config.databaseUrl === null ||
        err instanceof MigrationError ||
        !isConnectionError(err) ||
        waited >= config.startupWaitMs
      ) {
        throw err;
      }
      const e = err as NodeJS.ErrnoException;
      log.warn(
        {
          database: redactUrl(config.databaseUrl),
          err: e.code ?? e.message,
          attempt,
          waited_ms: Math.round(waited),
          startup_wait_ms: config.startupWaitMs,
        },
        'the log (DATABASE_URL) does not answer yet; trying again',
      );
      // A timer that keeps the process alive (the Clock's do not): nothing
      // else runs yet.
      await delay(
        Math.min(backoffMs(STARTUP_RETRY, attempt, Math.random), config.startupWaitMs - waited),
      );
    }
  }
}

const STARTUP_RETRY = { baseMs: 250, capMs: 5_000 };

async function startServing(
  config: Config,
  log: Logger,
  clock: Clock,
  url: string,
  undo: (() => Promise<void> | void)[],
): Promise<App> {
  const { applied, logSchema } = await migrateWhenReachable(config, log, clock, url);
  if (applied.length > 0) {
    log.info({ applied }, 'migrations applied');
  }
  const pools = createPools({
    url,
    schema: config.dbSchema,
    maxConnections: config.dbPoolSize,
    onError: (err) => log.warn({ err: err.message }, 'idle PostgreSQL connection failed'),
  });
  const store = new PgTransactionStore(pools, clock, {
    maxPending: config.storeMaxPending,
    stallMs: config.storeStallMs,
  });
  undo.push(() => store.close());
  const metricsServer = await startMetricsServer(config.metricsListen);
  undo.push(() => metricsServer.close());
  const room = await buildSecurity(
    config,
    store,
    ownEndpoints(config, url, metricsServer.address),
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
  let storeUp = true;
  const maintenance = new Maintenance(
    store,
    coordinator,
    clock,
    log,
    {
      sweepIntervalMs: config.sweepIntervalMs,
      recoveryIntervalMs: config.recoveryIntervalMs,
      coordinatorLeaseMs: config.coordinatorLeaseMs,
      retentionMs: config.retentionHours * 3_600_000,
      retentionIntervalMs: 60_000,
      coordinatorName: config.coordinatorName,
      stuckAfterMs: config.stuckAfterMs,
    },
    {
      storeReachable: (ok) => {
        storeUp = ok;
        server?.setServing(ok);
      },
      recovered: (taken) => metrics.recovery(taken),
    },
  );
  metrics.observe(metricsServer.meter, {
    inFlight: () => coordinator.inFlight,
    backlog: () => maintenance.backlog,
    participantHealth: () => health.states(),
    pools: () => store.poolStats(),
    admission: () => store.admissionStats(),
    storeUp: () => storeUp,
    build: () => ({ version: VERSION, logSchema }),
  });
  await maintenance.start();
  undo.push(() => maintenance.stop(true));
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
    databaseUrl: url,
    coordinator,
    server: grpcServer,
    stop: async () => {
      await consoleServer?.close();
      await grpcServer.shutdown(config.shutdownGraceMs);
      await coordinator.shutdown(Math.min(2_000, config.shutdownGraceMs));
      await maintenance.stop(true);
      health.close();
      probe.close();
      participants.close();
      await store.close();
      await metricsServer.close();
      room.close();
      await undo[0]?.(); // the embedded PostgreSQL
    },
  };
}
