/** The JSON a caller gets back for an accepted command: what was appended, where, and the balance after. */
import { formatCredits, formatFen, settlementPosition, type AccountState, type Buckets } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';

export type BucketsJson = { [K in keyof Buckets]: string };

export function bucketsJson(buckets: Buckets): BucketsJson {
  return Object.fromEntries(Object.entries(buckets).map(([k, v]) => [k, formatCredits(v)])) as BucketsJson;
}

export function settlementJson(state: AccountState) {
  const position = settlementPosition(state);
  return (
    position && {
      thresholdFen: formatFen(position.thresholdFen),
      heldValueFen: formatFen(position.heldValueFen),
      reached: position.reached,
    }
  );
}

export interface ReceiptJson {
  readonly commandType: string;
  readonly commandId: string;
  readonly accountId: string;
  readonly events: Array<ReturnType<typeof eventJson>>;
  /** The stream's revision after the command (null: the stream does not exist yet). */
  readonly revision: string | null;
  /** Global position of the last event appended, for read-your-writes; null when nothing was appended. */
  readonly position: string | null;
  readonly buckets: BucketsJson;
  readonly settlement: ReturnType<typeof settlementJson>;
}

/** One appended event as a receipt shows it. */
export function eventJson(event: Pick<RecordedEvent, 'type' | 'data' | 'metadata' | 'revision'>) {
  return { eventId: event.metadata.eventId, type: event.type, revision: event.revision.toString(), data: event.data };
}
