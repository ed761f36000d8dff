/** What a `ledger` command talks to: its streams and environment, and how it says it failed. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}

export const processIo = (): CliIo => ({ env: process.env, stdout: process.stdout, stderr: process.stderr });

/** Exit codes: 0 all good, 1 a check found a problem (verify, check-export), 2 the command could not run. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_ERROR = 2;

/** A failure to explain in one sentence, without a stack: bad input, unknown account, no database. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = EXIT_ERROR,
  ) {
    super(message);
  }
}

export const line = (io: CliIo, text = ''): void => void io.stdout.write(`${text}\n`);

/**
 * Progress for long runs: one line rewritten in place on a terminal (stderr), nothing otherwise,
 * so piped output stays clean.
 */
export function progressLine(io: CliIo): { update(text: string): void; done(): void } {
  if (!io.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  let shown = false;
  let lastAt = 0;
  return {
    update(text) {
      const now = Date.now();
      if (shown && now - lastAt < 100) return;
      lastAt = now;
      shown = true;
      io.stderr.write(`\r\x1b[2K${text}`);
    },
    done() {
      if (shown) io.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}
