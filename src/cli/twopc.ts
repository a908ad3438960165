import { startApp, openDatabase, redactUrl } from '../app.ts';
import { ConfigError, loadConfig, settingsHelp } from '../config.ts';
import type { Config } from '../config.ts';
import { armFailpoints } from '../fault/failpoints.ts';
import { ListenError } from '../listen-error.ts';
import { txCommand } from './tx-command.ts';
import { conformanceCommand } from './conformance-command.ts';
import { MigrationError, migrate } from '../store/migrate.ts';
import { LogSessionError } from '../store/pg-session-check.ts';
import { createLogger } from '../telemetry/logger.ts';
import { startTracingSdk } from '../telemetry/otel-sdk.ts';
import { SystemClock } from 'twopc/internal/time/system-clock';
import { printable } from '../shared/printable.ts';

/** Signals within this long of the first are the same request to stop (see serve()). */
const REPEAT_WINDOW_MS = 1000;

const USAGE = `twopc — two-phase-commit coordinator for gRPC services

Usage:
  twopc serve   [options]   start the coordinator (embedded PostgreSQL unless DATABASE_URL is set)
  twopc migrate [options]   apply database migrations and exit
  twopc tx ...              operate a running coordinator: list, show, retry, abort, resolve (twopc tx --help)
  twopc conformance ...     check a participant against the participant contract (twopc conformance --help)
  twopc --help              this text

Options (flag, environment variable, meaning [default]):
${settingsHelp()}

Exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration.`;

/** Exit codes of the CLI. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

function fail(code: number, message: string): number {
  // The message may quote a server's or a file's words: shown escaped.
  process.stderr.write(`twopc: ${printable(message)}\n`);
  return code;
}

async function serve(config: Config): Promise<number> {
  const log = createLogger(config.logLevel);
  const armed = armFailpoints(process.env.TWOPC_FAILPOINTS ?? '');
  if (armed.length > 0) {
    log.warn(
      { failpoints: armed },
      'FAILPOINTS ARMED: this process will fail on purpose (TWOPC_FAILPOINTS); never in production',
    );
  }
  const tracing = await startTracingSdk(process.env, 'twopc');
  if (tracing !== null) {
    log.info(
      {
        endpoint:
          process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
          process.env.OTEL_EXPORTER_OTLP_ENDPOINT ??
          '',
      },
      'exporting traces (OTEL_*)',
    );
  }
  const app = await startApp(config, log, new SystemClock());
  log.info(
    {
      address: app.address,
      metrics: `http://${app.metricsAddress}/metrics`,
      ...(app.consoleUrl === null ? {} : { console: app.consoleUrl }),
      ...(config.logShards === null
        ? { database: redactUrl(app.databaseUrl) }
        : { shards: app.shards() }),
      coordinator: config.coordinatorName,
      id: app.coordinator.id,
      // Where signals go: SIGHUP re-reads the shards file, SIGTERM stops.
      pid: process.pid,
    },
    'twopc serving',
  );
  return new Promise<number>((resolve) => {
    let stoppingSince: number | null = null;
    const onSignal = (signal: NodeJS.Signals | 'npm gone'): void => {
      if (stoppingSince !== null) {
        // A Ctrl-C reaches every process of the terminal's group, and npm
        // and tsx pass theirs on: one request arrives as two or three
        // signals within milliseconds. Only a signal sent again later says
        // "stop now".
        if (performance.now() - stoppingSince < REPEAT_WINDOW_MS) {
          log.info({ signal }, 'already shutting down');
          return;
        }
        log.warn({ signal }, 'signal repeated: exiting now, without waiting for running calls');
        resolve(EXIT.FAILURE);
        return;
      }
      stoppingSince = performance.now();
      log.info({ signal }, 'shutting down (send the signal again after a second to exit at once)');
      app
        .stop()
        .then(() => tracing?.shutdown())
        .then(
          () => {
            log.info('stopped');
            resolve(EXIT.OK);
          },
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            resolve(EXIT.FAILURE);
          },
        );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    stopWhenNpmIsGone(() => {
      log.warn(
        { pid: process.pid },
        'npm, which started this coordinator, is gone (SIGHUP sent to npm, or its terminal closed): stopping; a reload goes to this process',
      );
      onSignal('npm gone');
    });
    // The shards file is re-read on SIGHUP: shards added, drained, removed.
    // Without one, a SIGHUP sent by habit (a reload, a closed terminal) is
    // said and ignored: Node's default action would end the coordinator.
    process.on('SIGHUP', () => {
      if (config.logShards === null) {
        log.info(
          'SIGHUP reloads only the shards file (--log-shards), and there is none: nothing reloaded, still serving',
        );
        return;
      }
      log.info({ file: config.logShards }, 'SIGHUP: re-reading the shards file');
      app.reloadShards().then(
        () => log.info({ shards: app.shards() }, 'shards file applied'),
        (err: unknown) =>
          log.error(
            { err: (err as Error).message },
            'shards file not applied: the shards stay as they were',
          ),
      );
    });
  });
}

/**
 * Started by npm (`npm start`, `npx twopc serve`: npm sets
 * `npm_lifecycle_event`), the coordinator stops as on SIGTERM once npm is
 * gone. npm passes SIGINT and SIGTERM on to it, but dies of SIGHUP (a
 * closed terminal, or a reload meant for the coordinator sent to npm's
 * process) without a word to it: left behind, the coordinator would go on
 * serving unseen, holding its port, on the shards file of before. Only
 * under npm: a coordinator started by a shell that then exits (`nohup`, a
 * service manager) is meant to outlive it.
 */
function stopWhenNpmIsGone(stop: () => void): void {
  if (process.env.npm_lifecycle_event === undefined) {
    return;
  }
  const npm = process.ppid;
  const timer = setInterval(() => {
    // Orphaned, the process is adopted by init or a subreaper: a new parent.
    if (process.ppid !== npm) {
      clearInterval(timer);
      stop();
    }
  }, 200);
  timer.unref();
}

async function runMigrate(config: Config): Promise<number> {
  const log = createLogger(config.logLevel);
  const { specs, embedded } = await openDatabase(config, log);
  try {
    for (const spec of specs) {
      const applied = await migrate(spec.url, spec.schema, (m) => log.warn(m));
      const what = config.logShards === null ? 'database' : `log shard ${spec.id}`;
      process.stdout.write(
        applied.length === 0
          ? `${what} is up to date\n`
          : `${config.logShards === null ? '' : `${what}: `}applied ${applied.join(', ')}\n`,
      );
    }
    return EXIT.OK;
  } finally {
    await embedded?.stop();
  }
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (command === 'tx') {
    return txCommand(
      rest,
      process.env,
      (s) => process.stdout.write(`${s}\n`),
      (s) => process.stderr.write(`${s}\n`),
    );
  }
  if (command === 'conformance') {
    return conformanceCommand(
      rest,
      (s) => process.stdout.write(`${s}\n`),
      (s) => process.stderr.write(`${s}\n`),
    );
  }
  if (command !== 'serve' && command !== 'migrate') {
    return fail(EXIT.USAGE, `unknown command '${command}'; see twopc --help`);
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.OK;
  }
  let config: Config;
  try {
    config = loadConfig(rest, process.env);
  } catch (err) {
    return fail(EXIT.USAGE, err instanceof ConfigError ? err.message : String(err));
  }
  try {
    return command === 'serve' ? await serve(config) : await runMigrate(config);
  } catch (err) {
    return fail(EXIT.FAILURE, describeStartupError(err, config));
  }
}

function describeStartupError(err: unknown, config: Config): string {
  if (err instanceof MigrationError || err instanceof LogSessionError) {
    return err.message;
  }
  const e = err as NodeJS.ErrnoException;
  const where =
    config.databaseUrl === null
      ? 'the embedded PostgreSQL'
      : `DATABASE_URL (${redactUrl(config.databaseUrl)})`;
  if (
    e.code === 'ECONNREFUSED' ||
    e.code === 'ECONNRESET' ||
    e.code === 'ENOTFOUND' ||
    e.code === 'EAI_AGAIN' ||
    e.code === 'ETIMEDOUT' ||
    /timeout|terminated/i.test(e.message ?? '')
  ) {
    return `cannot reach ${where}: ${e.code ?? e.message}${config.databaseUrl === null ? '' : ` (tried for ${config.startupWaitMs} ms: --startup-wait-ms)`}`;
  }
  if (e.code === '28P01' || e.code === '3D000') {
    return `cannot use ${where}: ${e.message}`;
  }
  if (err instanceof ListenError) {
    return err.message;
  }
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
  return `${e.message ?? String(err)}${cause}`;
}
