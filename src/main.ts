import { main } from './cli/twopc.ts';
import { quietIpServerNameWarning } from './telemetry/ip-servername-warning.ts';

// The process entry point: everything else is importable without side effects.
quietIpServerNameWarning();
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`twopc: ${String(err)}\n`);
    process.exit(1);
  },
);
