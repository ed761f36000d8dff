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

const hex = (c: string): string => c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');

/**
 * Control characters as visible escapes (\u001B…): an event's text (a reason, an id from before
 * the API refused them) must not erase an auditor's screen or retitle the terminal.
 */
export const escapeControls = (text: string): string =>
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${hex(c)}`);

/** A line of output; control characters in it are escaped, its own line breaks kept. */
export const line = (io: CliIo, text = ''): void =>
  void io.stdout.write(`${text.split('\n').map(escapeControls).join('\n')}\n`);

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
