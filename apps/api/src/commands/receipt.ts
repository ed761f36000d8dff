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

/**
 * A receipt serialised once, as the key's stored answer (no position yet: the append fills it in
 * beside the body) and as the answer's text once its position is known. The text is exactly
 * `JSON.stringify({ ...receipt, position })`, keys in the receipt's order, without serialising the
 * receipt a second time for the response.
 */
export class ReceiptText {
  private readonly head: string;
  private readonly tail: string;

  constructor(receipt: ReceiptJson) {
    const { commandType, commandId, accountId, events, revision, position: _position, ...rest } = receipt;
    // `rest` always holds the buckets, so its text is never the empty object.
    this.head = JSON.stringify({ commandType, commandId, accountId, events, revision }).slice(0, -1);
    this.tail = `,${JSON.stringify(rest).slice(1)}`;
  }

  /** The receipt's JSON with its position (null: as stored, before the position is known). */
  withPosition(position: string | null): string {
    return `${this.head},"position":${JSON.stringify(position)}${this.tail}`;
  }
}
