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

/** The latest snapshot of each account stream (see commands/account-snapshots.ts). */
export interface AccountSnapshotsTable {
  stream_id: string;
  /** The stream revision the snapshot's state is at. */
  revision: bigint;
  /** Snapshots of another version were folded by another evolve: never used. */
  version: string;
  /** The encoded state and idempotency record. */
  body: string;
  taken_at: Date;
}

export interface CommandTables {
  idempotency_keys: IdempotencyKeysTable;
  account_snapshots: AccountSnapshotsTable;
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

const snapshotMigrations: Record<string, Migration> = {
  '2026-11-29T00-account-snapshots': {
    async up(db) {
      await db.schema
        .createTable('account_snapshots')
        .addColumn('stream_id', 'text', (c) => c.primaryKey())
        .addColumn('revision', 'bigint', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('taken_at', 'timestamptz', (c) => c.notNull())
        .execute();
    },
  },
};

/** Every migration of the ledger's database, whichever process (API, projector, CLI) runs them first. */
export const ledgerMigrations: Record<string, Migration> = {
  ...eventStoreMigrations,
  ...commandMigrations,
  ...readModelMigrations,
  ...snapshotMigrations,
};
