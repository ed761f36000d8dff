/** `ledger audit verify`: the read models against a replay of the events; non-zero on any difference. */
import type { ReadModelTables } from '@ledger/projections';
import type { Kysely } from 'kysely';
import { parseArgs } from 'node:util';
import { requireAccount } from './args';
import type { AuditConnection } from './connection';
import { CliError, EXIT_FINDINGS, EXIT_OK, line, progressLine, type CliIo } from './io';
import { UnknownAccount, verifyReadModels, type VerifyReport } from './verify';

export const verifyHelp = `ledger audit verify (--account <id> | --all)

Replays the events through the real projections into scratch tables and compares every read-model
row (buckets, accounts, projects, the usage ledger, billing events, runs, settlement holds) with
what the replay produces, each projection at its own checkpoint; then checks the domain itself: the
ledger's invariants on each account's folded state, and that the account's read-model buckets equal
the buckets of that fold. Prints each mismatch with its table, key and differing columns.
Exits 0 when everything matches, 1 when anything differs. The projector pauses for the moments the
final comparison takes. With --all on a terminal, progress shows on one updating line.

  --account <id>   one billing account
  --all            every account
`;

export function printReport(io: CliIo, report: VerifyReport): void {
  for (const mismatch of report.mismatches) {
    const key = Object.entries(mismatch.key)
      .map(([column, value]) => `${column}=${value}`)
      .join(', ');
    line(io, `✗ ${mismatch.table} (${key}) ${mismatch.kind}: ${mismatch.message}`);
  }
  if (report.mismatchCount > report.mismatches.length) {
    line(io, `… and ${report.mismatchCount - report.mismatches.length} more mismatch(es) not listed`);
  }
  for (const warning of report.warnings) line(io, `! ${warning}`);
  const at = Object.entries(report.verifiedAt)
    .map(([name, position]) => `${name} ${position}`)
    .join(' · ');
  const scope = report.accountId === null ? `${report.accounts} account(s)` : `account ${report.accountId}`;
  line(
    io,
    report.mismatchCount === 0
      ? `✓ ${scope}: the read models equal the replay of ${report.eventsReplayed} event(s) (verified at ${at})`
      : `✗ ${scope}: ${report.mismatchCount} mismatch(es) between the read models and the replay of ${report.eventsReplayed} event(s) (verified at ${at})`,
  );
}

export async function auditVerify(argv: string[], io: CliIo, open: () => Promise<AuditConnection>): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { account: { type: 'string' }, all: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.all && values.account !== undefined)
    throw new CliError('audit verify takes --account <id> or --all, not both');
  if (!values.all && values.account === undefined) {
    throw new CliError('audit verify needs --account <id> or --all; see `ledger audit verify --help`');
  }
  const accountId = values.all ? undefined : requireAccount(values.account, 'audit verify');
  const connection = await open();
  const progress = progressLine(io);
  try {
    const report = await verifyReadModels({
      db: connection.db as unknown as Kysely<ReadModelTables>,
      store: connection.store,
      accountId,
      onProgress: values.all
        ? (read, total) =>
            progress.update(
              `replaying ${read.toLocaleString('en')}${total ? ` of ${total.toLocaleString('en')} (${Math.floor((read * 100) / Math.max(total, 1))}%)` : ''} events…`,
            )
        : undefined,
    });
    progress.done();
    printReport(io, report);
    return report.mismatchCount === 0 ? EXIT_OK : EXIT_FINDINGS;
  } catch (error) {
    progress.done();
    if (error instanceof UnknownAccount) throw new CliError(error.message);
    throw error;
  } finally {
    await connection.close();
  }
}
