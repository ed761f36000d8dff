/**
 * The usage ledger of an account, newest first, filtered and paged by an opaque cursor over the
 * rows' global order — stable while new rows arrive.
 */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Principal } from '@ledger/domain';
import type { GlobalPosition } from '@ledger/event-store';
import type { UsageKind } from '@ledger/projections';
import type { Kysely } from 'kysely';
import type { LedgerDatabase } from '../infrastructure/database';
import { DATABASE } from '../infrastructure/tokens';
import { assertMayRead } from '../read-models/account-access';
import { usageRowView } from '../read-models/formatting';
import { ReadModelFreshness } from '../read-models/freshness';
import { encodeCursor, type UsageCursor } from './usage-cursor';

export interface UsageFilters {
  readonly project?: string;
  readonly kind?: UsageKind;
  readonly run?: string;
  readonly from?: string;
  readonly to?: string;
  readonly cursor?: UsageCursor;
  readonly limit: number;
}

export class UsageLedgerPage {
  constructor(
    readonly principal: Principal,
    readonly accountId: string,
    readonly filters: UsageFilters,
    readonly atLeastPosition: GlobalPosition | undefined,
  ) {}
}

@QueryHandler(UsageLedgerPage)
export class UsageLedgerPageHandler implements IQueryHandler<UsageLedgerPage> {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    private readonly freshness: ReadModelFreshness,
  ) {}

  async execute({ principal, accountId, filters, atLeastPosition }: UsageLedgerPage) {
    assertMayRead(principal, accountId);
    await this.freshness.waitFor(atLeastPosition);
    const { project, kind, run, from, to, cursor, limit } = filters;
    const rows = await this.db
      .selectFrom('usage_ledger')
      .selectAll()
      .where('account_id', '=', accountId)
      .$if(project !== undefined, (q) => q.where('project_id', '=', project!))
      .$if(kind !== undefined, (q) => q.where('kind', '=', kind!))
      .$if(run !== undefined, (q) => q.where('run_id', '=', run!))
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
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      accountId,
      rows: page.map(usageRowView),
      nextCursor:
        rows.length > limit
          ? encodeCursor({ commit: last.position_commit, prepare: last.position_prepare, entry: last.entry_index })
          : null,
    };
  }
}
