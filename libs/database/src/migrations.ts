/**
 * Every migration of the ledger's database in one list: the event store's, the command path's
 * (idempotency keys, snapshots) and the read models'. kysely's Migrator refuses to run when the
 * database holds a migration its list lacks, so every process that migrates this database (the API,
 * the projector, the rebuild, the launcher, the CLI's tests) passes this same list.
 */
import { eventStoreMigrations } from '@ledger/event-store';
import { readModelMigrations } from '@ledger/projections';
import { sql, type Migration } from 'kysely';

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
  /**
   * One idempotency story (docs/idempotency.md): a claim names the process that owns it, and a
   * process holds a lease it renews, so a retry after its death is answered within seconds, not
   * after a fixed wait. Answers are kept as JSON text, never re-parsed by Postgres: an answer that
   * echoes text jsonb refuses (a NUL escape) can no longer fail the statement it shares with others.
   */
  '2026-12-02T00-idempotency-owners': {
    async up(db) {
      await sql`
        ALTER TABLE idempotency_keys
          ADD COLUMN owner text,
          ADD COLUMN response_position text,
          ALTER COLUMN response_body TYPE text USING response_body::text
      `.execute(db);
      await db.schema
        .createTable('command_owners')
        .addColumn('owner_id', 'text', (c) => c.primaryKey())
        .addColumn('lease_until', 'timestamptz', (c) => c.notNull())
        .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  /**
   * Every key is written twice: claimed, then answered. Room left on each page lets the answer be
   * a heap-only update (no new entry in either index), which a full page forbids.
   */
  '2026-12-02T01-idempotency-fillfactor': {
    async up(db) {
      await sql`ALTER TABLE idempotency_keys SET (fillfactor = 70)`.execute(db);
    },
  },
  /**
   * On Postgres a key's row is now written once, with its answer, by the statement that appends
   * the command's events; a claim row left unanswered by an older version (its process gone)
   * would hold its key in flight until pruned. Claims are transient: dropping them frees the keys,
   * and a retry of a command that did append is still recognised from its stream.
   */
  '2026-12-03T10-answers-written-whole': {
    async up(db) {
      await sql`DELETE FROM idempotency_keys WHERE response_status IS NULL`.execute(db);
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
  '2026-12-03T00-archived-ids': {
    async up(db) {
      // Never pruned: each row is what refuses a finished id's reuse for the account's whole life.
      await sql`
        CREATE TABLE archived_ids (
          stream_id text NOT NULL,
          fingerprint bigint NOT NULL CHECK (fingerprint >= 0 AND fingerprint < 9007199254740992),
          PRIMARY KEY (stream_id, fingerprint)
        )
      `.execute(db);
    },
  },
};

// --- webhooks (issue #17) -------------------------------------------------------------------------

/**
 * Webhook endpoints and the delivery worker's state. Deliveries are keyed by (event, endpoint), so
 * fanning an outbox row out twice makes nothing new; attempts are the delivery log.
 */
const webhookMigrations: Record<string, Migration> = {
  '2026-12-02T11-webhook-deliveries': {
    async up(db) {
      await sql`
        CREATE TABLE webhook_endpoints (
          endpoint_id text PRIMARY KEY,
          url text NOT NULL,
          secret text NOT NULL,
          event_types text[] NOT NULL,
          accounts text[],
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          disabled_at timestamptz
        )
      `.execute(db);
      await sql`
        CREATE TABLE webhook_deliveries (
          delivery_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          -- The order the delivery log lists them in (newest first) and pages by.
          seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
          event_id uuid NOT NULL,
          endpoint_id text NOT NULL,
          event_type text NOT NULL,
          account_id text NOT NULL,
          status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
          attempts integer NOT NULL DEFAULT 0,
          next_attempt_at timestamptz NOT NULL,
          leased_until timestamptz,
          lease_owner text,
          horizon_from timestamptz NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          delivered_at timestamptz,
          UNIQUE (event_id, endpoint_id)
        )
      `.execute(db);
      // What the worker claims: pending deliveries, soonest due first.
      await sql`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`.execute(
        db,
      );
      // What the delivery log lists: newest first, per endpoint or account.
      await sql`CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, seq)`.execute(db);
      await sql`CREATE INDEX webhook_deliveries_account ON webhook_deliveries (account_id, seq)`.execute(db);
      await sql`
        CREATE TABLE webhook_delivery_attempts (
          delivery_id uuid NOT NULL,
          attempt integer NOT NULL,
          started_at timestamptz NOT NULL,
          finished_at timestamptz,
          status_code integer,
          error text,
          latency_ms integer,
          response_snippet text,
          PRIMARY KEY (delivery_id, attempt)
        )
      `.execute(db);
      await sql`
        CREATE TABLE webhook_fanout (
          name text PRIMARY KEY,
          position_commit bigint NOT NULL,
          position_prepare bigint NOT NULL,
          updated_at timestamptz NOT NULL DEFAULT now()
        )
      `.execute(db);
    },
  },
};

const webhookRotationMigrations: Record<string, Migration> = {
  '2026-12-03T01-webhook-secret-rotation': {
    async up(db) {
      await sql`
        ALTER TABLE webhook_endpoints
          ADD COLUMN previous_secret text,
          ADD COLUMN previous_secret_until timestamptz
      `.execute(db);
    },
  },
  '2026-12-03T02-webhook-log-retention': {
    async up(db) {
      // What the worker prunes: deliveries that ended, oldest first.
      await sql`CREATE INDEX webhook_deliveries_ended ON webhook_deliveries (updated_at) WHERE status <> 'pending'`.execute(
        db,
      );
    },
  },
};

// --- end webhooks ---------------------------------------------------------------------------------

/** Every migration of the ledger's database, whichever process (API, projector, CLI) runs them first. */
export const ledgerMigrations: Record<string, Migration> = {
  ...eventStoreMigrations,
  ...commandMigrations,
  ...readModelMigrations,
  ...snapshotMigrations,
  ...webhookMigrations,
  ...webhookRotationMigrations,
};
