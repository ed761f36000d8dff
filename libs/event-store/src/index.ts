export * from './port';
export * from './postgres/migrations';
export * from './postgres/postgres-event-store';
export type { AlongsideWrite, AppendManyOutcome, StoredPart } from './postgres/append-many';
export type { EventStoreTables, EventStreamsTable, EventsTable } from './postgres/schema';
export * from './account-stream';
export * from './eventstoredb/eventstoredb-event-store';
export * from './factory';
