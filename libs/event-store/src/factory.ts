/** Picks the event store the configuration names: Postgres (the default) or EventStoreDB. */
import type pg from 'pg';
import {
  EventStoreDbEventStore,
  type EventStoreDbConnectionSettings,
  type EventStoreDbOptions,
} from './eventstoredb/eventstoredb-event-store';
import type { EventStore } from './port';
import { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres-event-store';

export type EventStoreKind = 'postgres' | 'eventstoredb';

export interface EventStoreSelection {
  readonly eventStore: EventStoreKind;
  /** Required for eventstoredb, e.g. `esdb://localhost:2113?tls=false`. */
  readonly eventStoreConnectionString: string | undefined;
  /** EventStoreDB's deadline, keepalive and recovery settings (the configuration's; defaults when absent). */
  readonly eventStoreDb?: EventStoreDbSettings;
}

export interface EventStoreDbSettings extends EventStoreDbConnectionSettings {
  readonly resubscribeDelayMs?: readonly [number, number];
  readonly appendAttempts?: number;
}

export interface EventStoreTuning {
  /** Events per page, for either store. */
  readonly pageSize?: number;
  readonly postgres?: Omit<PostgresEventStoreOptions, 'pageSize'>;
  readonly eventStoreDb?: Omit<EventStoreDbOptions, 'pageSize'>;
}

/**
 * The store for this process. The Postgres store uses the given pool (the ledger database); with
 * EventStoreDB the pool still holds everything else (read models, checkpoints, idempotency keys).
 */
export function createEventStore(
  selection: EventStoreSelection,
  pool: pg.Pool,
  tuning: EventStoreTuning = {},
): EventStore {
  switch (selection.eventStore) {
    case 'postgres':
      return new PostgresEventStore(pool, { ...tuning.postgres, pageSize: tuning.pageSize });
    case 'eventstoredb': {
      if (!selection.eventStoreConnectionString) {
        throw new Error(
          'EVENT_STORE=eventstoredb needs EVENTSTORE_CONNECTION_STRING, e.g. esdb://localhost:2113?tls=false',
        );
      }
      const { resubscribeDelayMs, appendAttempts, ...connection } = selection.eventStoreDb ?? {};
      return EventStoreDbEventStore.connect(selection.eventStoreConnectionString, {
        ...(resubscribeDelayMs && { resubscribeDelayMs }),
        ...(appendAttempts && { appendAttempts }),
        ...tuning.eventStoreDb,
        connection: { ...connection, ...tuning.eventStoreDb?.connection },
        pageSize: tuning.pageSize,
      });
    }
    default: {
      const unknown: never = selection.eventStore;
      throw new Error(`unknown event store "${String(unknown)}"`);
    }
  }
}
