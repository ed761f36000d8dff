/** Runs the `ledger` command line in-process, as a shell would, capturing what it prints. */
import { runLedgerCli } from '../src/audit/cli';
import type { CliIo } from '../src/audit/io';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function ledgerCli(argv: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env,
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
  };
  const code = await runLedgerCli(argv, io);
  return { code, stdout, stderr };
}
