/** The ledger database's shape, declared once: its tables' types and the migrations that make them. */
import type { EventStoreTables } from '@ledger/event-store';
import { eventStoreMigrations } from '@ledger/event-store';
import { readModelMigrations, type ReadModelTables } from '@ledger/projections';
import { sql, type Migration } from 'kysely';
import type { Generated } from 'kysely';

export interface IdempotencyKeysTable {
  principal_id: string;
  idempotency_key: string;
  request_hash: string;
  command_type: string;
  /** null while the command is being decided. */
  response_status: number | null;
  response_body: unknown;
  created_at: Generated<Date>;
  completed_at: Date | null;
}

export interface CommandTables {
  idempotency_keys: IdempotencyKeysTable;
}

export type LedgerDatabase = EventStoreTables & CommandTables & ReadModelTables;

const commandMigrations: Record<string, Migration> = {
  '2026-11-28T01-idempotency-keys': {
    async up(db) {
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('command_type', 'text', (c) => c.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('response_body', 'jsonb')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('completed_at', 'timestamptz')
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['principal_id', 'idempotency_key'])
        .execute();
      await db.schema.createIndex('idempotency_keys_created_at').on('idempotency_keys').column('created_at').execute();
    },
  },
};

/** Every migration of the ledger's database, whichever process (API, projector, CLI) runs them first. */
export const ledgerMigrations: Record<string, Migration> = {
  ...eventStoreMigrations,
  ...commandMigrations,
  ...readModelMigrations,
};
