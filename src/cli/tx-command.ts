import { protoJson } from '../shared/proto-json.ts';
import * as grpc from '@grpc/grpc-js';
import { parseArgs } from 'node:util';
import { ViewState } from 'twopc/internal/contract/tx-state';
import { parseTxId } from 'twopc/internal/contract/limits';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'twopc/internal/connection';
import { TwopcOperator } from 'twopc/internal/twopc-operator';
import { printable } from '../shared/printable.ts';
import { formatList, formatShow } from './tx-format.ts';

export const TX_USAGE = `twopc tx — operate a running coordinator (over gRPC)

Usage:
  twopc tx list   [--state S]... [--stuck] [--heuristic] [--label k=v]... [--participant P] [--min-age SECONDS] [--limit N] [--json]
  twopc tx show    <txn_id> [--json]        state, participants and the timeline
  twopc tx retry   <txn_id>                 re-send phase 2 now
  twopc tx abort   <txn_id> [--reason R]    abort a transaction without a commit decision
  twopc tx resolve <txn_id> --participant P --as committed|aborted [--note N]
                                            record a participant resolved by hand (must match the decision)

Options:
  --address host:port   the coordinator (TWOPC_ADDRESS, default 127.0.0.1:50051); several:
                        IP:port,IP:port or one DNS name (dns:///twopc.svc:50051)
  --tenant T            list: only this tenant's transactions
  --participant P       list: only transactions P is enlisted in
  --tls-ca FILE         TLS: the coordinator's CA (TWOPC_CLI_TLS_CA)
  --tls-cert FILE       mutual TLS: the operator's certificate (TWOPC_CLI_TLS_CERT)
  --tls-key FILE        and its key (TWOPC_CLI_TLS_KEY)
  --token-file FILE     a bearer token, read for every call (TWOPC_CLI_TOKEN_FILE)

Calls go to the twopc.v1.Operator service: the identity needs the operator role.

Exit codes: 0 success, 1 refused or coordinator unreachable, 2 bad usage (or an argument the
coordinator refused), 4 transaction not found.`;

const OPTIONS = {
  address: { type: 'string' },
  tenant: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'token-file': { type: 'string' },
  state: { type: 'string', multiple: true },
  stuck: { type: 'boolean' },
  heuristic: { type: 'boolean' },
  label: { type: 'string', multiple: true },
  'min-age': { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  reason: { type: 'string' },
  participant: { type: 'string' },
  as: { type: 'string' },
  note: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A usage problem, told in one line (exit 2). */
class UsageError extends Error {}

function isTxId(value: string): boolean {
  try {
    parseTxId(value);
    return true;
  } catch {
    return false;
  }
}

/** Options whose values are free text, where a quote is just a character. */
const FREE_TEXT = new Set(['reason', 'note', 'label']);

/**
 * A quote inside a word the CLI reads as a name, an id or an address is a
 * quote the shell was not given a partner for (`--participant 'ledger`
 * closed later, or a quote pasted from a document): said plainly, at once.
 */
function refuseStrayQuotes(values: Values, positionals: readonly string[]): void {
  const words = [
    ...positionals.map((p) => ['', p] as const),
    ...Object.entries(values)
      .filter(([name]) => !FREE_TEXT.has(name))
      .flatMap(([name, v]) =>
        (Array.isArray(v) ? v : [v])
          .filter((x): x is string => typeof x === 'string')
          .map((x) => [`--${name} `, x] as const),
      ),
  ];
  for (const [flag, word] of words) {
    if (/['"`]/.test(word)) {
      throw new UsageError(
        `${flag}${word}: holds a quote character; a quote left unbalanced? Quote whole arguments, e.g. --note "it's done"`,
      );
    }
  }
}

type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

function parse(args: readonly string[]): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; see twopc tx --help`);
  }
}

function labels(values: readonly string[] | undefined): Record<string, string> {
  return Object.fromEntries(
    (values ?? []).map((l) => {
      const eq = l.indexOf('=');
      if (eq <= 0) {
        throw new UsageError(`--label ${l}: expected key=value`);
      }
      return [l.slice(0, eq), l.slice(eq + 1)];
    }),
  );
}

function states(values: readonly string[] | undefined): ViewState[] {
  return (values ?? []).map((s) => {
    const state = s.toUpperCase();
    if (!(state in ViewState)) {
      throw new UsageError(`--state ${s}: one of ${Object.keys(ViewState).join(', ')}`);
    }
    return state as ViewState;
  });
}

function whole(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  if (!/^\d+$/.test(value)) {
    throw new UsageError(`${flag} ${value}: expected a whole number`);
  }
  return Number(value);
}

async function run(
  client: TwopcOperator,
  sub: string,
  id: string | undefined,
  v: Values,
  out: (s: string) => void,
): Promise<void> {
  const need = (): string => {
    if (id === undefined) {
      throw new UsageError(`twopc tx ${sub} needs a transaction id`);
    }
    if (!isTxId(id)) {
      throw new UsageError(`'${id}' is not a transaction id (a UUID, as twopc tx list prints)`);
    }
    return id;
  };
  const print = (value: unknown, text: () => string): void =>
    out(v.json ? JSON.stringify(value, protoJson, 2) : text());
  switch (sub) {
    case 'list': {
      const { transactions } = await client.list({
        states: states(v.state),
        stuckOnly: v.stuck ?? false,
        heuristicOnly: v.heuristic ?? false,
        labels: labels(v.label),
        minAgeSeconds: whole(v['min-age'], '--min-age', 0),
        pageSize: whole(v.limit, '--limit', 50),
        ...(v.tenant === undefined ? {} : { tenant: v.tenant }),
        ...(v.participant === undefined ? {} : { participant: v.participant }),
      });
      print(transactions, () => formatList(transactions, new Date()));
      return;
    }
    case 'show': {
      const tx = await client.get(need());
      print(tx, () => formatShow(tx));
      return;
    }
    case 'retry': {
      const tx = await client.retryNow(need());
      print(tx, () => `phase 2 re-sent now for ${tx.txnId} (${tx.state})`);
      return;
    }
    case 'abort': {
      const res = await client.abort(need(), v.reason ?? 'operator abort');
      print(res, () => `${need()}: ${res.outcome} (${res.state})`);
      return;
    }
    case 'resolve': {
      const as = (v.as ?? '').toUpperCase();
      if (v.participant === undefined || (as !== 'COMMITTED' && as !== 'ABORTED')) {
        throw new UsageError('twopc tx resolve needs --participant P and --as committed|aborted');
      }
      const tx = await client.resolveParticipant(need(), v.participant, as, v.note ?? '');
      print(
        tx,
        () =>
          `${v.participant} of ${tx.txnId} recorded as resolved (${as}); transaction ${tx.state}`,
      );
      return;
    }
    default:
      throw new UsageError(`unknown tx command '${sub}'; see twopc tx --help`);
  }
}

/** TLS files and token from flags or the environment. */
function connection(v: Values, env: NodeJS.ProcessEnv): ConnectionOptions {
  const ca = v['tls-ca'] ?? env.TWOPC_CLI_TLS_CA;
  const cert = v['tls-cert'] ?? env.TWOPC_CLI_TLS_CERT;
  const key = v['tls-key'] ?? env.TWOPC_CLI_TLS_KEY;
  const tokenFile = v['token-file'] ?? env.TWOPC_CLI_TOKEN_FILE;
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  const tls =
    ca === undefined && cert === undefined
      ? {}
      : { tls: { caFile: ca ?? null, certFile: cert ?? null, keyFile: key ?? null } };
  if (tokenFile !== undefined && ca === undefined && cert === undefined) {
    throw new UsageError(
      '--token-file needs TLS (a token is never sent in plaintext): add --tls-ca with the CA of the coordinator (and --tls-cert/--tls-key for mutual TLS)',
    );
  }
  const token =
    tokenFile === undefined ? {} : { token: () => readFileSync(tokenFile, 'utf8').trim() };
  return { ...tls, ...token };
}

/** `twopc tx …`: resolves to the exit code. */
export async function txCommand(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    out(TX_USAGE);
    return sub === undefined ? 2 : 0;
  }
  let client: TwopcOperator | null = null;
  try {
    const { values, positionals } = parse(rest);
    if (values.help) {
      out(TX_USAGE);
      return 0;
    }
    refuseStrayQuotes(values, [sub, ...positionals]);
    // Several coordinators: a comma-separated list (any of them answers).
    const raw = values.address ?? env.TWOPC_ADDRESS ?? '127.0.0.1:50051';
    const address = /^(dns|ipv4|ipv6|unix):/.test(raw) ? raw : raw.split(',');
    client = new TwopcOperator(address, {
      attempts: 2,
      callTimeoutMs: 10_000,
      ...connection(values, env),
    });
    await run(client, sub, positionals[0], values, out);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`twopc: ${e.message}`);
      return 2;
    }
    const g = e as grpc.ServiceError;
    // The coordinator's words may quote stored text: escaped like all of it.
    err(
      `twopc: ${printable(g.details ?? g.message)}${typeof g.code === 'number' ? ` (${grpc.status[g.code]})` : ''}`,
    );
    if (g.code === grpc.status.UNAVAILABLE && /cannot reach the coordinator/.test(g.details)) {
      err('       (the address comes from --address, else TWOPC_ADDRESS, else 127.0.0.1:50051)');
    }
    // An argument the coordinator refused is bad usage too.
    return g.code === grpc.status.NOT_FOUND ? 4 : g.code === grpc.status.INVALID_ARGUMENT ? 2 : 1;
  } finally {
    client?.close();
  }
}
