/** A recorded event, decoded to the domain's current shape, as the projections take it. */
import { toLedgerEvent, type RecordedEvent } from '@ledger/event-store';
import type { ProjectedEvent } from './projection';

export function toProjectedEvent(recorded: RecordedEvent): ProjectedEvent {
  return {
    event: toLedgerEvent(recorded),
    streamId: recorded.streamId,
    revision: recorded.revision,
    position: recorded.position,
    metadata: recorded.metadata,
  };
}
