/**
 * The `ledger` command line: `ledger audit <command>`. Every command has --help; errors are one
 * clear sentence on stderr with a non-zero exit (2), and a check that finds a problem exits 1.
 */
import { auditBalance, balanceHelp } from './balance';
import { auditCheckExport, checkExportHelp } from './check-export';
import { openAuditConnection, type AuditConnection } from './connection';
import { auditExport, exportHelp } from './export';
import { auditHistory, historyHelp } from './history';
import { CliError, escapeControls, EXIT_ERROR, EXIT_OK, type CliIo } from './io';
import { auditVerify, verifyHelp } from './verify-command';

type Open = () => Promise<AuditConnection>;

const auditCommands: Record<string, { help: string; run: (argv: string[], io: CliIo, open: Open) => Promise<number> }> =
  {
    balance: { help: balanceHelp, run: auditBalance },
    history: { help: historyHelp, run: auditHistory },
    verify: { help: verifyHelp, run: auditVerify },
    export: { help: exportHelp, run: auditExport },
    'check-export': { help: checkExportHelp, run: (argv, io) => auditCheckExport(argv, io) },
  };

export const ledgerHelp = `ledger — the credit ledger's command line

  ledger audit balance       buckets as of any instant or position, replayed from events
  ledger audit history       an account's timeline: each event, what moved, balances, who
  ledger audit verify        read models against a replay of the events (non-zero on a difference)
  ledger audit export        the ledger rows as hash-chained CSV or JSON lines, with a digest
  ledger audit check-export  recompute an export's chain; name the first edited/missing/moved row

Each reads the event store and read models the service uses: DATABASE_URL, or the embedded
Postgres of \`npm start\` (which must be running). \`ledger audit <command> --help\` for details.
Exit codes: 0 fine, 1 a check found a problem, 2 the command could not run.
`;

const wantsHelp = (argv: readonly string[]) => argv.includes('--help') || argv.includes('-h');

export async function runLedgerCli(argv: readonly string[], io: CliIo, open?: Open): Promise<number> {
  const connect: Open = open ?? (() => openAuditConnection(io.env));
  const [group, command, ...rest] = argv;
  try {
    if (group === undefined || ((group === '--help' || group === '-h' || group === 'help') && !command)) {
      io.stdout.write(ledgerHelp);
      return group === undefined ? EXIT_ERROR : EXIT_OK;
    }
    if (group !== 'audit') throw new CliError(`unknown command "${group}"; try \`ledger --help\``);
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(ledgerHelp);
      return command === undefined ? EXIT_ERROR : EXIT_OK;
    }
    const found = Object.hasOwn(auditCommands, command) ? auditCommands[command] : undefined;
    if (!found) {
      throw new CliError(
        `unknown command "audit ${command}"; the audit commands are ${Object.keys(auditCommands).join(', ')}`,
      );
    }
    if (wantsHelp(rest)) {
      io.stdout.write(found.help);
      return EXIT_OK;
    }
    return await found.run(rest, io, connect);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`ledger: ${escapeControls(error.message)}\n`);
      return error.exitCode;
    }
    // parseArgs's own errors name the flag: pass them on, with where to look.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(
        `ledger: ${escapeControls((error as Error).message)}; see \`ledger ${argv.slice(0, 2).join(' ')} --help\`\n`,
      );
      return EXIT_ERROR;
    }
    io.stderr.write(`ledger: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_ERROR;
  }
}
