/** `ledger audit balance`: the buckets at an instant or position, from the account's events alone. */
import { formatPosition } from '@ledger/event-store';
import { auditBalanceOf, bucketsText, replayAccountStream } from '@ledger/projections';
import { parseArgs } from 'node:util';
import { checkId, describeAsOf, parseAsOf, requireAccount } from './args';
import type { AuditConnection } from './connection';
import { bucketLines } from './format';
import { CliError, EXIT_OK, line, type CliIo } from './io';

export const balanceHelp = `ledger audit balance --account <id> [--project <id>] [--as-of <time|position>] [--json]

The account's buckets as of an instant, computed by replaying the account's events alone (never
the read models): every event decided at or before that time, or recorded at or before that
global position.

  --account <id>      the billing account
  --project <id>      that project's share of the buckets instead (beside the account's available)
  --as-of <when>      an ISO-8601 instant (2026-11-05T12:00:00Z; a bare date is its midnight UTC)
                      or a position as receipts show it ("812/3"); default: now
  --json              print JSON instead of a table
`;

export async function auditBalance(argv: string[], io: CliIo, open: () => Promise<AuditConnection>): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      account: { type: 'string' },
      project: { type: 'string' },
      'as-of': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const accountId = requireAccount(values.account, 'audit balance');
  const projectId = values.project === undefined ? undefined : checkId(values.project, '--project');
  const asOf = parseAsOf(values['as-of']);
  const connection = await open();
  try {
    const { replay, exists } = await replayAccountStream(connection.store, accountId, { asOf });
    if (!exists) throw new CliError(`there is no billing account "${accountId}" (its stream has no events)`);
    const buckets = replay.buckets();
    const share = projectId === undefined ? undefined : replay.share(projectId);
    if (projectId !== undefined && !share) {
      throw new CliError(
        `project "${projectId}" is not attached to account "${accountId}" as of ${describeAsOf(asOf)}`,
      );
    }
    const last = replay.last;
    if (values.json) {
      // The API's audit balance answer, to the byte: one builder, one schema (@ledger/contract).
      line(io, JSON.stringify(auditBalanceOf(accountId, asOf, replay, projectId)));
      return EXIT_OK;
    }
    line(io, `account ${accountId}${projectId ? `, project ${projectId}` : ''} as of ${describeAsOf(asOf)}`);
    line(
      io,
      last
        ? `  replayed ${replay.events} event(s); the last: revision ${last.revision}, ${last.event.type}, ` +
            `${last.metadata.occurredAt}, position ${formatPosition(last.position)}`
        : '  no events yet at that point: the account was opened later',
    );
    if (share) {
      for (const text of bucketLines(share)) line(io, text);
      line(io, `  (account available ${bucketsText(buckets).available})`);
    } else {
      for (const text of bucketLines(buckets)) line(io, text);
    }
    return EXIT_OK;
  } finally {
    await connection.close();
  }
}
