/** The ledger database's shape, declared once: the tables of the event store, the command path and the read models. */
import type { EventStoreTables } from '@ledger/event-store';
import type { ReadModelTables } from '@ledger/projections';
import type { Generated } from 'kysely';

export interface IdempotencyKeysTable {
  principal_id: string;
  idempotency_key: string;
  request_hash: string;
  command_type: string;
  /** The process deciding the command (command_owners), while it is unanswered. */
  owner: string | null;
  /** null while the command is being decided. */
  response_status: number | null;
  /** The answer's JSON, as text. */
  response_body: string | null;
  /** The global position of the command's last event, when it appended any (the receipt's `position`). */
  response_position: string | null;
  created_at: Generated<Date>;
  completed_at: Date | null;
}

/** API processes and the lease each renews while it lives: a claim of a process without one is taken over. */
export interface CommandOwnersTable {
  owner_id: string;
  lease_until: Date;
  started_at: Generated<Date>;
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
  command_owners: CommandOwnersTable;
  account_snapshots: AccountSnapshotsTable;
}

export type LedgerDatabase = EventStoreTables & CommandTables & ReadModelTables;
