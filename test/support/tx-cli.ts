import { txCommand } from '../../src/cli/tx-command.ts';

/** `twopc tx …` run in this process: its exit code and what it printed. */
export async function txCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await txCommand(
    args,
    env,
    (s) => (out += `${s}\n`),
    (s) => (err += `${s}\n`),
  );
  return { code, out, err };
}
