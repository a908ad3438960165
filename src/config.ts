import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config, Setting } from './config-shape.ts';
import { SETTINGS } from './config-settings.ts';

export { SETTINGS } from './config-settings.ts';
export type { Config } from './config-shape.ts';

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
      return n >= (s.min ?? 0) && Number.isSafeInteger(n)
        ? n
        : bad(`a whole number >= ${s.min ?? 0}`);
    }
    case 'file':
      return raw === '' ? null : raw;
    case 'flag':
    case 'bool':
      return ['true', '1', 'yes'].includes(raw)
        ? true
        : ['false', '0', 'no'].includes(raw)
          ? false
          : bad('true or false');
    case 'listen-or-off':
      return raw === '' ? null : parseValue({ ...s, kind: 'listen' }, raw, from);
    case 'listen': {
      const port = Number(raw.slice(raw.lastIndexOf(':') + 1));
      const ok =
        raw.lastIndexOf(':') > 0 &&
        /^\d+$/.test(raw.slice(raw.lastIndexOf(':') + 1)) &&
        port <= 65535;
      return ok ? raw : bad('host:port with a port from 0 to 65535');
    }
    case 'url':
      return raw === '' ? null : /^postgres(ql)?:\/\//.test(raw) ? raw : bad('a postgres:// URL');
    case 'level':
      return LEVELS.has(raw) ? raw : bad([...LEVELS].join(', '));
    case 'schema':
      return /^[a-z_][a-z0-9_]{0,62}$/.test(raw)
        ? raw
        : bad('a schema name (lowercase letters, digits, _)');
    case 'string':
      return raw;
    default: {
      const choices = s.kind.slice('choice:'.length).split(',');
      return choices.includes(raw) ? raw : bad(`one of ${choices.join(', ')}`);
    }
  }
}

/**
 * Builds the configuration from flags (first) and environment variables.
 * @throws ConfigError naming the flag or variable to fix
 */
export function loadConfig(args: readonly string[], env: NodeJS.ProcessEnv): Config {
  const options = Object.fromEntries(
    SETTINGS.map(
      (s) => [flagOf(s.key), { type: s.kind === 'flag' ? 'boolean' : 'string' }] as const,
    ),
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}; see twopc --help`);
  }
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const given = values[flagOf(s.key)];
    const flag = typeof given === 'boolean' ? String(given) : given;
    const raw = typeof flag === 'string' ? flag : env[s.env];
    const from = typeof flag === 'string' ? `--${flagOf(s.key)}` : s.env;
    out[s.key] =
      raw === undefined
        ? s.def === null
          ? null
          : parseValue(s, s.def, 'default')
        : parseValue(s, raw, from);
  }
  const config = out as unknown as Config;
  if (config.leaseDefaultMs > config.leaseMaxMs) {
    throw new ConfigError(
      `lease default ${config.leaseDefaultMs} ms is over the maximum ${config.leaseMaxMs} ms`,
    );
  }
  if (config.logShards !== null && config.databaseUrl !== null) {
    throw new ConfigError(
      '--log-shards and DATABASE_URL both name the log: put every database in the shards file (shard 0 is the log DATABASE_URL named)',
    );
  }
  if (config.retryBaseMs > config.retryCapMs) {
    throw new ConfigError(
      `retry base ${config.retryBaseMs} ms is over the cap ${config.retryCapMs} ms`,
    );
  }
  if ((config.tlsCert === null) !== (config.tlsKey === null)) {
    throw new ConfigError('TLS needs both --tls-cert and --tls-key');
  }
  if (config.tlsClientCa !== null && config.tlsCert === null) {
    throw new ConfigError('--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key');
  }
  if ((config.participantTlsCert === null) !== (config.participantTlsKey === null)) {
    throw new ConfigError('a participant client certificate needs both its cert and key');
  }
  if (config.tokenKeys !== null && config.tokenIssuer === '') {
    throw new ConfigError('--token-keys needs --token-issuer (the iss every token must carry)');
  }
  if (config.traceUrl !== '' && !/^https?:\/\/[^{}]*\{traceId\}/.test(config.traceUrl)) {
    throw new ConfigError(
      `--trace-url ${config.traceUrl}: an http(s) URL with {traceId} where the trace id goes (e.g. http://localhost:16686/trace/{traceId})`,
    );
  }
  const name =
    config.coordinatorName === '' ? `${hostname()}/${config.listen}` : config.coordinatorName;
  return Object.freeze({
    ...config,
    coordinatorName: name,
    consoleHosts: parseHostList(out.consoleHosts as string),
  });
}

/** Host names, comma-separated (--console-hosts). @throws ConfigError naming the bad one */
function parseHostList(raw: string): readonly string[] {
  const names = raw
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  for (const h of names) {
    if (
      !/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/.test(
        h,
      )
    ) {
      throw new ConfigError(`--console-hosts: '${h}' is not a host name`);
    }
  }
  return Object.freeze(names);
}

/** The settings table as help text. */
export function settingsHelp(): string {
  return SETTINGS.map(
    (s) =>
      `  --${flagOf(s.key).padEnd(22)} ${s.env.padEnd(27)} ${s.help}${s.def ? ` [${s.def}]` : ''}`,
  ).join('\n');
}
