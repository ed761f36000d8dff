/** The JSON a caller gets back for an accepted command: what was appended, where, and the balance after. */
import type * as contract from '@ledger/contract';
import { bucketNames, formatCredits, formatFen, settlementPosition, type Buckets } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';

/** The receipt's shape is the contract's (libs/contract). */
export type ReceiptJson = contract.Receipt;
export type BucketsJson = contract.Buckets;

export function bucketsJson(buckets: Buckets): BucketsJson {
  return Object.fromEntries(bucketNames.map((name) => [name, formatCredits(buckets[name])])) as BucketsJson;
}

export function settlementJson(position: ReturnType<typeof settlementPosition>): ReceiptJson['settlement'] {
  return (
    position && {
      thresholdFen: formatFen(position.thresholdFen),
      heldValueFen: formatFen(position.heldValueFen),
      reached: position.reached,
    }
  );
}

/** One appended event as a receipt shows it. */
export function eventJson(
  event: Pick<RecordedEvent, 'type' | 'data' | 'metadata' | 'revision'>,
): contract.ReceiptEvent {
  return { eventId: event.metadata.eventId, type: event.type, revision: event.revision.toString(), data: event.data };
}
