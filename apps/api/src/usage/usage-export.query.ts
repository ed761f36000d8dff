/**
 * The usage ledger as CSV: every row the filters select, newest first, read page by page so an
 * export of a long ledger never sits in memory whole. Money stays a decimal string.
 */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Principal } from '@ledger/domain';
import type { GlobalPosition } from '@ledger/event-store';
import { csvField } from '@ledger/platform';
import type { Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import { DATABASE } from '../infrastructure/tokens';
import { assertMayRead } from '../read-models/account-access';
import { usageRowView } from '../read-models/formatting';
import { ReadModelFreshness } from '../read-models/freshness';
import type { UsageCursor } from './usage-cursor';
import { cursorAfter, selectUsageRows, type UsageFilters } from './usage-rows';

const PAGE = 1_000;

/** The CSV's columns, in file order: the usage ledger page's fields. */
export const USAGE_CSV_COLUMNS = [
  'occurredAt',
  'kind',
  'amount',
  'availableAfter',
  'projectId',
  'runId',
  'grantId',
  'grantSource',
  'holdId',
  'reason',
  'principal',
  'eventType',
  'eventId',
  'entryIndex',
  'streamRevision',
  'position',
  'commandId',
  'correlationId',
] as const satisfies ReadonlyArray<keyof ReturnType<typeof usageRowView>>;

export class UsageLedgerExport {
  constructor(
    readonly principal: Principal,
    readonly accountId: string,
    readonly filters: UsageFilters,
    readonly atLeastPosition: GlobalPosition | undefined,
  ) {}
}

export interface UsageCsv {
  readonly filename: string;
  readonly lines: AsyncIterable<string>;
}

@QueryHandler(UsageLedgerExport)
export class UsageLedgerExportHandler implements IQueryHandler<UsageLedgerExport, UsageCsv> {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    private readonly freshness: ReadModelFreshness,
  ) {}

  /** Checks access and freshness before the first byte, so a refusal is still a JSON error. */
  async execute({ principal, accountId, filters, atLeastPosition }: UsageLedgerExport): Promise<UsageCsv> {
    assertMayRead(principal, accountId);
    await this.freshness.waitFor(atLeastPosition);
    return { filename: `usage-${accountId}.csv`, lines: this.lines(accountId, filters) };
  }

  private async *lines(accountId: string, filters: UsageFilters): AsyncIterable<string> {
    yield `${USAGE_CSV_COLUMNS.join(',')}\r\n`;
    let cursor: UsageCursor | undefined;
    for (;;) {
      const rows = await selectUsageRows(this.db, accountId, filters, cursor, PAGE);
      if (rows.length === 0) return;
      yield rows
        .map((row) => {
          const view = usageRowView(row);
          return `${USAGE_CSV_COLUMNS.map((column) => csvField(view[column] === null ? null : String(view[column]))).join(',')}\r\n`;
        })
        .join('');
      const last = rows.at(-1);
      if (rows.length < PAGE || !last) return;
      cursor = cursorAfter(last);
    }
  }
}
