import { main } from './cli/twopc.ts';

// The process entry point: everything else is importable without side effects.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`twopc: ${String(err)}\n`);
    process.exit(1);
  },
);
