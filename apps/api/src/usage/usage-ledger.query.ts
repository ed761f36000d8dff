/**
 * The usage ledger of an account, newest first, filtered and paged by an opaque cursor over the
 * rows' global order — stable while new rows arrive.
 */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { UsagePage } from '@ledger/contract';
import type { Principal } from '@ledger/domain';
import type { GlobalPosition } from '@ledger/event-store';
import type { Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import { DATABASE } from '../infrastructure/tokens';
import { assertMayRead } from '../read-models/account-access';
import { usageRowView } from '../read-models/formatting';
import { ReadModelFreshness } from '../read-models/freshness';
import { encodeCursor, type UsageCursor } from './usage-cursor';
import { cursorAfter, selectUsageRows, type UsageFilters } from './usage-rows';

export class UsageLedgerPage {
  constructor(
    readonly principal: Principal,
    readonly accountId: string,
    readonly filters: UsageFilters & { readonly cursor?: UsageCursor; readonly limit: number },
    readonly atLeastPosition: GlobalPosition | undefined,
  ) {}
}

@QueryHandler(UsageLedgerPage)
export class UsageLedgerPageHandler implements IQueryHandler<UsageLedgerPage> {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    private readonly freshness: ReadModelFreshness,
  ) {}

  async execute({ principal, accountId, filters, atLeastPosition }: UsageLedgerPage): Promise<UsagePage> {
    assertMayRead(principal, accountId);
    await this.freshness.waitFor(atLeastPosition);
    const { cursor, limit, ...selection } = filters;
    const rows = await selectUsageRows(this.db, accountId, selection, cursor, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      accountId,
      rows: page.map(usageRowView),
      nextCursor: rows.length > limit && last ? encodeCursor(cursorAfter(last)) : null,
    };
  }
}
