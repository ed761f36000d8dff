/** The event store's tables as kysely sees them; migrations.ts creates them. */
import type { ColumnType, GeneratedAlways, Selectable } from 'kysely';
import type { EventMetadata } from '../port';

/** int8 and xid8 are parsed as bigint by the platform pool; they may be sent as bigint or text. */
type Int8 = ColumnType<bigint, bigint | string, bigint | string>;

/** One row per stream: its last revision, the row that appends to the stream lock and check. */
export interface EventStreamsTable {
  stream_id: string;
  revision: Int8;
}

export interface EventsTable {
  /** The order of inserts, assigned when the row is written (not when it commits). */
  position: GeneratedAlways<bigint>;
  /** The appending transaction (pg_current_xact_id()): the major key of the global order. */
  transaction_id: ColumnType<bigint, never, never>;
  stream_id: string;
  revision: Int8;
  /** metadata.eventId, kept in its own column to make it unique. */
  event_id: string;
  type: string;
  data: ColumnType<Record<string, unknown>, string, never>;
  metadata: ColumnType<EventMetadata, string, never>;
  recorded_at: ColumnType<Date, never, never>;
}

export interface EventStoreTables {
  event_streams: EventStreamsTable;
  events: EventsTable;
}

export type EventRow = Selectable<EventsTable>;
