/**
 * How the ledger's domain events live in the store: one stream per billing account, the event's
 * data encoded by its schema (money as decimal strings), the schema version and command facts in
 * the metadata.
 */
import { decodeEvent, encodeEventData, eventSchemaVersions, type LedgerEvent } from '@ledger/domain';
import type { EventMetadata, EventToAppend, RecordedEvent } from './port';

export const ACCOUNT_STREAM_PREFIX = 'billing-account-';

export const accountStreamId = (accountId: string): string => `${ACCOUNT_STREAM_PREFIX}${accountId}`;

export const accountIdOfStream = (streamId: string): string | undefined =>
  streamId.startsWith(ACCOUNT_STREAM_PREFIX) ? streamId.slice(ACCOUNT_STREAM_PREFIX.length) : undefined;

export type CommandFacts = Omit<EventMetadata, 'eventId' | 'schemaVersion'>;

export function toEventToAppend(event: LedgerEvent, eventId: string, facts: CommandFacts): EventToAppend {
  return {
    type: event.type,
    data: encodeEventData(event),
    metadata: { ...facts, eventId, schemaVersion: eventSchemaVersions[event.type] },
  };
}

/**
 * A stored event as the domain sees it, in its current shape: an event stored at an older schema
 * version (metadata.schemaVersion) is upcast on the way. Metadata without a version is version 1;
 * no metadata at all means the data is already current (events built in memory). An event the
 * store could not read (RecordedEvent.undecodable) is refused.
 */
export function toLedgerEvent(
  recorded: Pick<RecordedEvent, 'type' | 'data' | 'undecodable'> & {
    readonly metadata?: Partial<Pick<EventMetadata, 'schemaVersion'>>;
  },
): LedgerEvent {
  if (recorded.undecodable) {
    throw new Error(`stored ${recorded.type} cannot be read as a ledger event: ${recorded.undecodable.reason}`);
  }
  const version = recorded.metadata ? (recorded.metadata.schemaVersion ?? 1) : undefined;
  return decodeEvent(recorded.type, recorded.data, version);
}
