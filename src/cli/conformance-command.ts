import { parseArgs } from 'node:util';
import { checkParticipant, formatReport } from 'twopc/internal/conformance';
import { printable } from '../shared/printable.ts';

export const CONFORMANCE_USAGE = `twopc conformance — check a participant against the twopc participant contract

Usage:
  twopc conformance --participant HOST:PORT [--name NAME] [--timeout-ms MS]
                    [--tls-ca FILE [--tls-cert FILE --tls-key FILE]] [--json]

Drives the participant over gRPC as a coordinator would (fresh transaction
ids, known to no coordinator) and prints each rule kept or broken, with what
to fix. The check that prepared work survives a restart needs hooks into the
application: use checkParticipant() from the package in a test.

Exit codes: 0 every check passed or was skipped, 1 a check failed, 2 bad usage.`;

const OPTIONS = {
  participant: { type: 'string' },
  name: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `twopc conformance`; resolves to the exit code. */
export async function conformanceCommand(
  args: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    values = parseArgs({ args: [...args], options: OPTIONS, strict: true }).values;
  } catch (e) {
    err(`twopc conformance: ${(e as Error).message}; see twopc conformance --help`);
    return 2;
  }
  if (values.help === true) {
    out(CONFORMANCE_USAGE);
    return 0;
  }
  const participant = values.participant;
  if (participant === undefined) {
    err(
      'twopc conformance: --participant HOST:PORT is required (e.g. --participant 127.0.0.1:50061)',
    );
    return 2;
  }
  if (!/^[^:\s]+:\d+$|^\[[0-9a-f:]+\]:\d+$/i.test(participant)) {
    err(
      `twopc conformance: --participant ${participant}: expected HOST:PORT (e.g. 127.0.0.1:50061)`,
    );
    return 2;
  }
  const timeout = values['timeout-ms'] === undefined ? 5_000 : Number(values['timeout-ms']);
  if (!Number.isInteger(timeout) || timeout < 1) {
    err('twopc conformance: --timeout-ms takes a whole number of milliseconds');
    return 2;
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    err('twopc conformance: --tls-cert and --tls-key go together');
    return 2;
  }
  const tls =
    values['tls-ca'] === undefined && values['tls-cert'] === undefined
      ? undefined
      : {
          caFile: values['tls-ca'] ?? null,
          certFile: values['tls-cert'] ?? null,
          keyFile: values['tls-key'] ?? null,
        };
  const results = await checkParticipant({
    participant,
    ...(values.name === undefined ? {} : { name: values.name }),
    callTimeoutMs: timeout,
    ...(tls === undefined ? {} : { tls }),
  });
  out(
    values.json === true
      ? JSON.stringify({ participant, results }, null, 2)
      : // The participant's own words are in the report: shown escaped, line by line.
        formatReport(participant, results).trimEnd().split('\n').map(printable).join('\n'),
  );
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
