/**
 * The usage ledger's rows an account's filters select, newest first in global order — the one
 * query behind the paged ledger and its CSV export.
 */
import { sql, type Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import type { z } from 'zod';
import type { UsageCursor } from './usage-cursor';
import type { usageExportQuery } from './usage-params';

/** What the usage query string selects (paging and read-your-writes aside), as its schema decodes it. */
export type UsageFilters = Omit<z.output<typeof usageExportQuery>, 'atLeastPosition'>;

/** Rows after `cursor` (older than it), at most `limit`. */
export function selectUsageRows(
  db: Kysely<LedgerDatabase>,
  accountId: string,
  { project, kind, run, command, alerts, from, to }: UsageFilters,
  cursor: UsageCursor | undefined,
  limit: number,
) {
  return (
    db
      .selectFrom('usage_ledger')
      .selectAll()
      .where('account_id', '=', accountId)
      .$if(project !== undefined, (q) => q.where('project_id', '=', project!))
      .$if(kind !== undefined, (q) => q.where('kind', '=', kind!))
      .$if(run !== undefined, (q) => q.where('run_id', '=', run!))
      .$if(command !== undefined, (q) => q.where('command_id', '=', command!))
      // The rows of commands that fired an alert: a firing is appended by the command whose movement crossed.
      .$if(alerts === 'fired', (q) =>
        q.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('alert_firings')
              .select(sql<number>`1`.as('one'))
              .whereRef('alert_firings.account_id', '=', 'usage_ledger.account_id')
              .whereRef('alert_firings.command_id', '=', 'usage_ledger.command_id')
              .where('alert_firings.status', '=', 'fired'),
          ),
        ),
      )
      .$if(from !== undefined, (q) => q.where('occurred_at', '>=', new Date(from!)))
      .$if(to !== undefined, (q) => q.where('occurred_at', '<', new Date(to!)))
      .$if(cursor !== undefined, (q) =>
        q.where((eb) =>
          eb(
            eb.refTuple('position_commit', 'position_prepare', 'entry_index'),
            '<',
            eb.tuple(cursor!.commit, cursor!.prepare, cursor!.entry),
          ),
        ),
      )
      .orderBy('position_commit', 'desc')
      .orderBy('position_prepare', 'desc')
      .orderBy('entry_index', 'desc')
      .limit(limit)
      .execute()
  );
}

export const cursorAfter = (row: { position_commit: bigint; position_prepare: bigint; entry_index: number }) => ({
  commit: row.position_commit,
  prepare: row.position_prepare,
  entry: row.entry_index,
});
