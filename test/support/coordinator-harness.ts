import { startApp } from '../../src/app.ts';
import type { App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { Config } from '../../src/config.ts';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { createLogger } from '../../src/telemetry/logger.ts';
import { SystemClock } from 'twopc/internal/time/system-clock';
import { testDatabaseUrl } from './db.ts';

export interface Harness {
  readonly app: App;
  readonly client: TwopcClient;
  readonly config: Config;
  stop(): Promise<void>;
}

/**
 * A real coordinator in this process on a free loopback port, against the
 * test PostgreSQL in its own schema. Set TWOPC_TEST_LOG=debug to see its log.
 */
export async function startCoordinator(
  schema: string,
  overrides: Partial<Config> = {},
): Promise<Harness> {
  const base = loadConfig([], {});
  const config: Config = {
    ...base,
    listen: '127.0.0.1:0',
    metricsListen: '127.0.0.1:0',
    databaseUrl: await testDatabaseUrl(),
    dbSchema: schema,
    dbPoolSize: 6,
    retryBaseMs: 20,
    retryCapMs: 200,
    prepareTimeoutMs: 3_000,
    callTimeoutMs: 2_000,
    sweepIntervalMs: 100,
    recoveryIntervalMs: 500,
    shutdownGraceMs: 1_000,
    logLevel: process.env.TWOPC_TEST_LOG ?? 'silent',
    ...overrides,
  };
  const app = await startApp(config, createLogger(config.logLevel), new SystemClock());
  const client = new TwopcClient(app.address, { attempts: 1 });
  return {
    app,
    client,
    config,
    stop: async () => {
      client.close();
      await app.stop();
    },
  };
}
