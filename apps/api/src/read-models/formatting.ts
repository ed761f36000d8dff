/** Read-model rows as the API shows them: money as decimal strings, positions as "commit/prepare". */
import type { ReadModelBuckets, SettlementView, UsageRow } from '@ledger/contract';
import {
  bucketNames,
  creditValueInFen,
  creditValueInYuan,
  formatCredits,
  formatFen,
  formatYuan,
  settlementReached,
  zeroShareBuckets,
  type BucketName,
} from '@ledger/domain';
import { formatPosition } from '@ledger/event-store';
import type { BalanceBucketsTable, UsageLedgerTable } from '@ledger/projections';
import type { Selectable } from 'kysely';

const credits = (value: bigint | null) => (value === null ? null : formatCredits(value));

export const positionOf = (row: { position_commit: bigint; position_prepare: bigint }) =>
  formatPosition({ commit: row.position_commit, prepare: row.position_prepare });

export type BucketsRow = Pick<Selectable<BalanceBucketsTable>, BucketName>;

export const EMPTY_BUCKETS: BucketsRow = { ...zeroShareBuckets(), available: 0n };

/** A read-model row's buckets, in the order every view shows them (a project's row has no available). */
export function bucketsView(row: BucketsRow): ReadModelBuckets {
  return Object.fromEntries(bucketNames.map((name) => [name, credits(row[name])])) as ReadModelBuckets;
}

/** Held credits against the plan's threshold, valued exactly at the plan's price. */
export function settlementView(
  hold: bigint,
  creditPriceFen: bigint | null,
  thresholdFen: bigint | null,
): SettlementView {
  if (creditPriceFen === null || thresholdFen === null) return null;
  return {
    thresholdFen: formatFen(thresholdFen),
    thresholdCny: formatYuan(thresholdFen),
    heldValueFen: formatFen(creditValueInFen(hold, creditPriceFen)),
    heldValueCny: creditValueInYuan(hold, creditPriceFen),
    reached: settlementReached(hold, creditPriceFen, thresholdFen),
  };
}

export function usageRowView(row: Selectable<UsageLedgerTable>): UsageRow {
  return {
    eventId: row.event_id,
    entryIndex: row.entry_index,
    kind: row.kind,
    amount: formatCredits(row.amount),
    projectId: row.project_id,
    runId: row.run_id,
    grantId: row.grant_id,
    grantSource: row.grant_source,
    holdId: row.hold_id,
    reason: row.reason,
    availableAfter: formatCredits(row.available_after),
    eventType: row.event_type,
    streamRevision: row.stream_revision.toString(),
    position: positionOf(row),
    occurredAt: row.occurred_at.toISOString(),
    principal: row.principal,
    commandId: row.command_id,
    correlationId: row.correlation_id,
  };
}
