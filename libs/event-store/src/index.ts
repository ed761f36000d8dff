export * from './port';
export * from './postgres/migrations';
export * from './postgres/postgres-event-store';
export type { EventStoreTables, EventStreamsTable, EventsTable } from './postgres/schema';
export * from './account-stream';
