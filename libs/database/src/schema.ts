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

/**
 * The archived ids of accounts whose snapshots leave them out (ledger archive.ts, `stored`): a
 * fingerprint per id, written by the statement that writes the snapshot.
 */
export interface ArchivedIdsTable {
  stream_id: string;
  /** Below 2^53: exact as a JS number. */
  fingerprint: bigint;
}

// --- webhooks (issue #17): endpoints and the delivery worker's tables ------------------------------

/**
 * A receiver of webhooks. Operational configuration holding a secret, so here and not in the event
 * log (which auditors export). `accounts` null means every account.
 */
export interface WebhookEndpointsTable {
  endpoint_id: string;
  url: string;
  secret: string;
  /** The secret a rotation replaced: deliveries are signed with it too until previous_secret_until. */
  previous_secret: Generated<string | null>;
  previous_secret_until: Generated<Date | null>;
  event_types: string[];
  /** The accounts whose events it receives; null for all of them. */
  accounts: string[] | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  /** Set while it is disabled: nothing is fanned out to it, its pending deliveries wait. */
  disabled_at: Date | null;
}

/** One outbox row for one endpoint, owned by the delivery worker (a rebuild never touches it). */
export interface WebhookDeliveriesTable {
  delivery_id: Generated<string>;
  /** The order the delivery log lists them in. */
  seq: Generated<bigint>;
  event_id: string;
  endpoint_id: string;
  event_type: string;
  account_id: string;
  status: 'pending' | 'delivered' | 'failed';
  /** Attempts started, the one under way included. */
  attempts: Generated<number>;
  next_attempt_at: Date;
  /** While set and in the future, a worker is attempting it; once past, another may take it over. */
  leased_until: Date | null;
  lease_owner: string | null;
  /** The retry horizon counts from here: the first fan-out, or the latest redelivery. */
  horizon_from: Date;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  delivered_at: Date | null;
}

export interface WebhookDeliveryAttemptsTable {
  delivery_id: string;
  attempt: number;
  started_at: Date;
  finished_at: Date | null;
  status_code: number | null;
  error: string | null;
  latency_ms: number | null;
  response_snippet: string | null;
}

/** How far the worker has fanned the outbox out (one row): outbox rows past it are new to it. */
export interface WebhookFanoutTable {
  name: string;
  position_commit: bigint;
  position_prepare: bigint;
  updated_at: Generated<Date>;
}

export interface WebhookTables {
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_delivery_attempts: WebhookDeliveryAttemptsTable;
  webhook_fanout: WebhookFanoutTable;
}

// --- end webhooks ---------------------------------------------------------------------------------

export interface CommandTables {
  idempotency_keys: IdempotencyKeysTable;
  command_owners: CommandOwnersTable;
  account_snapshots: AccountSnapshotsTable;
  archived_ids: ArchivedIdsTable;
}

export type LedgerDatabase = EventStoreTables & CommandTables & ReadModelTables & WebhookTables;
