/** The ledger database's shape, declared once: the tables of the event store, the command path and the read models. */
import type { EventStoreTables } from '@ledger/event-store';
import type { ReadModelTables } from '@ledger/projections';
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
