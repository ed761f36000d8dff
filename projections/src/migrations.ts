/**
 * The read models' schema (the shapes are declared in read-models.ts). Everything a table needs —
 * keys, defaults, checks, indexes — sits on the table itself and no table refers to another, so a
 * rebuild can make a shadow copy with `CREATE TABLE shadow.x (LIKE public.x INCLUDING ALL)` and swap.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { usageKinds } from './read-models';

/** Every read-model table, in creation order. */
export const readModelTableNames = [
  'balance_buckets',
  'billing_accounts',
  'account_projects',
  'usage_ledger',
  'runs',
  'settlement_holds',
  'billing_events',
  'run_totals',
  'usage_totals',
  'credit_grants',
  // alerts (issue #17)
  'alert_rules',
  'alert_firings',
  // webhooks (issue #17)
  'webhook_outbox',
  // daily projection
  'daily_balances',
  'subscription_periods',
  'projection_checkpoints',
] as const;

/** Each table's primary key, in column order: how a row is ordered, dumped and matched to its replayed twin. */
export const readModelPrimaryKeys: Record<(typeof readModelTableNames)[number], readonly string[]> = {
  balance_buckets: ['account_id', 'project_id'],
  billing_accounts: ['account_id'],
  account_projects: ['account_id', 'project_id'],
  usage_ledger: ['event_id', 'entry_index'],
  runs: ['account_id', 'run_id'],
  settlement_holds: ['account_id', 'hold_id'],
  billing_events: ['event_id'],
  run_totals: ['account_id', 'project_id'],
  usage_totals: ['account_id', 'project_id'],
  credit_grants: ['account_id', 'grant_id'],
  // alerts (issue #17)
  alert_rules: ['account_id', 'rule_id'],
  alert_firings: ['event_id'],
  // webhooks (issue #17)
  webhook_outbox: ['event_id'],
  // daily projection
  daily_balances: ['account_id', 'project_id', 'day'],
  subscription_periods: ['account_id', 'period_start'],
  projection_checkpoints: ['projection'],
};

const kinds = sql.join(usageKinds.map((kind) => sql.lit(kind)));

const readModels: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      CREATE TABLE balance_buckets (
        account_id text NOT NULL,
        project_id text NOT NULL DEFAULT '',
        included bigint NOT NULL DEFAULT 0,
        bonus bigint NOT NULL DEFAULT 0,
        reserved bigint NOT NULL DEFAULT 0,
        consumed bigint NOT NULL DEFAULT 0,
        hold bigint NOT NULL DEFAULT 0,
        expired bigint NOT NULL DEFAULT 0,
        available bigint,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, project_id),
        -- No non-negative checks here: a batch's deltas are upserted, and Postgres checks the row
        -- proposed for insertion (a negative delta) before it finds the conflict.
        CONSTRAINT balance_buckets_available_on_account_rows CHECK ((project_id = '') = (available IS NOT NULL))
      )
    `.execute(db);

    await sql`
      CREATE TABLE billing_accounts (
        account_id text PRIMARY KEY,
        name text NOT NULL,
        status text NOT NULL CHECK (status IN ('active', 'suspended', 'closed')),
        plan_id text,
        plan_name text,
        capability_bands text[] NOT NULL DEFAULT '{}',
        rate_card jsonb NOT NULL DEFAULT '[]',
        included_per_period bigint,
        credit_price_fen bigint,
        settlement_threshold_fen bigint,
        period_start timestamptz,
        period_end timestamptz,
        opened_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL
      )
    `.execute(db);

    await sql`
      CREATE TABLE account_projects (
        account_id text NOT NULL,
        project_id text NOT NULL,
        name text,
        attached_at timestamptz NOT NULL,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        PRIMARY KEY (account_id, project_id)
      )
    `.execute(db);

    await sql`
      CREATE TABLE usage_ledger (
        event_id uuid NOT NULL,
        entry_index integer NOT NULL CHECK (entry_index >= 0),
        account_id text NOT NULL,
        project_id text,
        kind text NOT NULL CHECK (kind IN (${kinds})),
        amount bigint NOT NULL CHECK (amount > 0),
        run_id text,
        grant_id text,
        grant_source text,
        hold_id text,
        reason text,
        available_after bigint NOT NULL CHECK (available_after >= 0),
        event_type text NOT NULL,
        stream_revision bigint NOT NULL,
        occurred_at timestamptz NOT NULL,
        principal text NOT NULL,
        command_id text NOT NULL,
        correlation_id text NOT NULL,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        PRIMARY KEY (event_id, entry_index)
      )
    `.execute(db);
    await sql`
      CREATE INDEX usage_ledger_account_time
        ON usage_ledger (account_id, occurred_at, position_commit, position_prepare, entry_index)
    `.execute(db);
    await sql`
      CREATE INDEX usage_ledger_account_project_time
        ON usage_ledger (account_id, project_id, occurred_at, position_commit, position_prepare, entry_index)
    `.execute(db);
    await sql`
      CREATE INDEX usage_ledger_account_position
        ON usage_ledger (account_id, position_commit, position_prepare, entry_index)
    `.execute(db);

    await sql`
      CREATE TABLE runs (
        account_id text NOT NULL,
        run_id text NOT NULL,
        project_id text NOT NULL,
        action text NOT NULL,
        capability_band text NOT NULL,
        status text NOT NULL CHECK (status IN ('accepted', 'completed', 'failed', 'cancelled')),
        estimated_cost bigint NOT NULL DEFAULT 0,
        reserved bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
        actual_cost bigint,
        consumed bigint NOT NULL DEFAULT 0 CHECK (consumed >= 0),
        held bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
        shortfall bigint NOT NULL DEFAULT 0 CHECK (shortfall >= 0),
        accepted_at timestamptz NOT NULL,
        finished_at timestamptz,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        PRIMARY KEY (account_id, run_id)
      )
    `.execute(db);
    await sql`CREATE INDEX runs_account_project ON runs (account_id, project_id)`.execute(db);

    await sql`
      CREATE TABLE settlement_holds (
        account_id text NOT NULL,
        hold_id text NOT NULL,
        run_id text NOT NULL,
        project_id text NOT NULL,
        provider text NOT NULL,
        amount bigint NOT NULL DEFAULT 0 CHECK (amount >= 0),
        status text NOT NULL CHECK (status IN ('held', 'paid_out', 'reversed')),
        placed_at timestamptz NOT NULL,
        released_at timestamptz,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        PRIMARY KEY (account_id, hold_id)
      )
    `.execute(db);

    await sql`
      CREATE TABLE billing_events (
        event_id uuid PRIMARY KEY,
        account_id text NOT NULL,
        project_id text,
        event_type text NOT NULL,
        summary text NOT NULL,
        amount bigint,
        occurred_at timestamptz NOT NULL,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL
      )
    `.execute(db);
    await sql`
      CREATE INDEX billing_events_account_recent
        ON billing_events (account_id, position_commit DESC, position_prepare DESC)
    `.execute(db);
    // The overview filtered by project reads the same "most recent" order within one project.
    await sql`
      CREATE INDEX billing_events_account_project_recent
        ON billing_events (account_id, project_id, position_commit DESC, position_prepare DESC)
    `.execute(db);

    await sql`
      CREATE TABLE projection_checkpoints (
        projection text PRIMARY KEY,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        events_applied bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        failed_position text,
        failure text,
        failed_at timestamptz
      )
    `.execute(db);
  },

  async down(db: Kysely<unknown>) {
    for (const table of [...readModelTableNames].reverse()) {
      await sql`DROP TABLE ${sql.table(table)}`.execute(db);
    }
  },
};

/**
 * A billing event names the command that appended it, so the overview can open exactly the usage
 * rows that command moved (an accepted run's money moves in its CreditsReserved event, beside it).
 * Rows projected before this migration have none until the projection is rebuilt.
 */
const billingEventCommands: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE billing_events ADD COLUMN command_id uuid`.execute(db);
    await sql`CREATE INDEX usage_ledger_account_command ON usage_ledger (account_id, command_id)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP INDEX usage_ledger_account_command`.execute(db);
    await sql`ALTER TABLE billing_events DROP COLUMN command_id`.execute(db);
  },
};

/**
 * Running totals for the overview, so it reads counters instead of counting runs and ledger rows.
 * Filled here from the rows the projections have written so far, in the same transaction, so an
 * existing database shows the right counts at once; only the rows' positions (the event that last
 * changed them) are approximate until `npm run rebuild`, which `ledger audit verify` would point out.
 */
const totals: Migration = {
  async up(db: Kysely<unknown>) {
    // No non-negative checks: like balance_buckets, a batch's deltas are upserted, and Postgres
    // checks the delta row itself before it finds the conflict.
    await sql`
      CREATE TABLE run_totals (
        account_id text NOT NULL,
        project_id text NOT NULL DEFAULT '',
        accepted bigint NOT NULL DEFAULT 0,
        open bigint NOT NULL DEFAULT 0,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        PRIMARY KEY (account_id, project_id)
      )
    `.execute(db);
    await sql`
      CREATE TABLE usage_totals (
        account_id text NOT NULL,
        project_id text NOT NULL DEFAULT '',
        rows bigint NOT NULL DEFAULT 0,
        last_movement_at timestamptz,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        PRIMARY KEY (account_id, project_id)
      )
    `.execute(db);
    await sql`
      INSERT INTO run_totals (account_id, project_id, accepted, open, position_commit, position_prepare)
      SELECT account_id, coalesce(project_id, ''), count(*), count(*) FILTER (WHERE status = 'accepted'),
             (array_agg(position_commit ORDER BY position_commit DESC, position_prepare DESC))[1],
             (array_agg(position_prepare ORDER BY position_commit DESC, position_prepare DESC))[1]
        FROM runs
       GROUP BY GROUPING SETS ((account_id), (account_id, project_id))
    `.execute(db);
    await sql`
      INSERT INTO usage_totals (account_id, project_id, rows, last_movement_at, position_commit, position_prepare)
      SELECT account_id, coalesce(project_id, ''), count(*), max(occurred_at),
             (array_agg(position_commit ORDER BY position_commit DESC, position_prepare DESC))[1],
             (array_agg(position_prepare ORDER BY position_commit DESC, position_prepare DESC))[1]
        FROM usage_ledger
       GROUP BY GROUPING SETS ((account_id), (account_id, project_id))
      HAVING GROUPING(project_id) = 1 OR project_id IS NOT NULL
    `.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP TABLE usage_totals`.execute(db);
    await sql`DROP TABLE run_totals`.execute(db);
  },
};

/**
 * Every grant with its validity window and where its credits are, for the grant scheduler and
 * auditors. Its own projection (`grants`), so an existing database fills it by catching up from
 * position zero, while the other projections go on from their checkpoints.
 */
const creditGrants: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      CREATE TABLE credit_grants (
        account_id text NOT NULL,
        grant_id text NOT NULL,
        source text NOT NULL,
        project_id text,
        amount bigint NOT NULL,
        status text NOT NULL CHECK (status IN ('scheduled', 'effective')),
        granted_at timestamptz NOT NULL,
        effective_at timestamptz NOT NULL,
        expires_at timestamptz,
        free bigint NOT NULL,
        reserved bigint NOT NULL,
        consumed bigint NOT NULL,
        expired bigint NOT NULL,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        PRIMARY KEY (account_id, grant_id)
      )
    `.execute(db);
    // What the scheduler asks: which grants fall due, soonest first.
    await sql`CREATE INDEX credit_grants_taking_effect ON credit_grants (effective_at) WHERE status = 'scheduled'`.execute(
      db,
    );
    await sql`CREATE INDEX credit_grants_lapsing ON credit_grants (expires_at) WHERE free > 0`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP TABLE credit_grants`.execute(db);
  },
};

/**
 * The daily projection's tables, behind the overview's charts. Its own projection (`daily`), so an
 * existing database fills them by catching up from position zero.
 */
const dailyFigures: Migration = {
  async up(db: Kysely<unknown>) {
    // No non-negative checks, as on balance_buckets: the rows hold running totals of deltas.
    await sql`
      CREATE TABLE daily_balances (
        account_id text NOT NULL,
        project_id text NOT NULL DEFAULT '',
        day date NOT NULL,
        included bigint NOT NULL,
        bonus bigint NOT NULL,
        reserved bigint NOT NULL,
        consumed bigint NOT NULL,
        hold bigint NOT NULL,
        expired bigint NOT NULL,
        available bigint,
        consumed_in_day bigint NOT NULL,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        PRIMARY KEY (account_id, project_id, day),
        CONSTRAINT daily_balances_available_on_account_rows CHECK ((project_id = '') = (available IS NOT NULL))
      )
    `.execute(db);
    await sql`
      CREATE TABLE subscription_periods (
        account_id text NOT NULL,
        period_start timestamptz NOT NULL,
        period_end timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        PRIMARY KEY (account_id, period_start)
      )
    `.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP TABLE subscription_periods`.execute(db);
    await sql`DROP TABLE daily_balances`.execute(db);
  },
};

// --- alerts (issue #17) ---------------------------------------------------------------------------

/**
 * Alert rules and their firings, the `alerts` projection's own tables: an existing database fills
 * them by catching that projection up from position zero.
 */
const alerts: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      CREATE TABLE alert_rules (
        account_id text NOT NULL,
        rule_id text NOT NULL,
        kind text NOT NULL,
        threshold numeric,
        status text NOT NULL CHECK (status IN ('active', 'removed')),
        firing boolean NOT NULL,
        defined_at timestamptz NOT NULL,
        removed_at timestamptz,
        fired_count bigint NOT NULL,
        last_fired_at timestamptz,
        last_cleared_at timestamptz,
        last_observed numeric,
        last_subject text,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL,
        PRIMARY KEY (account_id, rule_id)
      )
    `.execute(db);
    // What the grant scheduler asks: which credits_expiring rules wait for their due point.
    await sql`CREATE INDEX alert_rules_expiry_watch ON alert_rules (account_id)
      WHERE kind = 'credits_expiring' AND status = 'active' AND NOT firing`.execute(db);
    await sql`
      CREATE TABLE alert_firings (
        event_id uuid PRIMARY KEY,
        account_id text NOT NULL,
        rule_id text NOT NULL,
        kind text NOT NULL,
        status text NOT NULL CHECK (status IN ('fired', 'cleared')),
        threshold numeric,
        observed numeric,
        subject text,
        occurred_at timestamptz NOT NULL,
        -- text, as usage_ledger.command_id is: the usage filter compares the two
        command_id text NOT NULL,
        stream_revision bigint NOT NULL,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL
      )
    `.execute(db);
    await sql`
      CREATE INDEX alert_firings_account_recent
        ON alert_firings (account_id, position_commit DESC, position_prepare DESC)
    `.execute(db);
    // The usage ledger's "fired an alert" filter: the commands of an account that fired one.
    await sql`
      CREATE INDEX alert_firings_account_command ON alert_firings (account_id, command_id) WHERE status = 'fired'
    `.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP TABLE alert_firings`.execute(db);
    await sql`DROP TABLE alert_rules`.execute(db);
  },
};

// --- end alerts -----------------------------------------------------------------------------------

// --- webhooks (issue #17) -------------------------------------------------------------------------

/**
 * The webhook outbox (projection `webhooks`): its own projection, so an existing database fills it
 * by catching up from position zero. The delivery worker reads it in position order.
 */
const webhookOutbox: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      CREATE TABLE webhook_outbox (
        event_id uuid PRIMARY KEY,
        event_type text NOT NULL,
        account_id text NOT NULL,
        rule_id text NOT NULL,
        body text NOT NULL,
        occurred_at timestamptz NOT NULL,
        position_commit bigint NOT NULL,
        position_prepare bigint NOT NULL
      )
    `.execute(db);
    await sql`CREATE INDEX webhook_outbox_position ON webhook_outbox (position_commit, position_prepare)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP TABLE webhook_outbox`.execute(db);
  },
};

// --- end webhooks ---------------------------------------------------------------------------------

// --- updates in place ------------------------------------------------------------------------------

/**
 * Room for the projector's updates on the page of the row they replace (heap-only updates: no new
 * entry in any index, and the old version is reclaimed by the next visit to its page).
 *
 * credit_grants had none at all: `free` changes with every reservation, and the lapsing index's
 * predicate (`free > 0`) named it, which forbids an in-place update. The index now names a stored
 * `has_free` that changes only when a grant's free credits run out or come back, so it serves the
 * grant scheduler's question as before. runs are inserted and then updated (reserved, completed):
 * on full pages a third of those updates moved to another page.
 *
 * Existing pages keep what they hold; the room appears as pages are written anew.
 */
const inPlaceUpdates: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE credit_grants ADD COLUMN has_free boolean GENERATED ALWAYS AS (free > 0) STORED`.execute(db);
    await sql`DROP INDEX credit_grants_lapsing`.execute(db);
    await sql`CREATE INDEX credit_grants_lapsing ON credit_grants (expires_at) WHERE has_free`.execute(db);
    await sql`ALTER TABLE credit_grants SET (fillfactor = 80)`.execute(db);
    await sql`ALTER TABLE runs SET (fillfactor = 80)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`ALTER TABLE runs RESET (fillfactor)`.execute(db);
    await sql`ALTER TABLE credit_grants RESET (fillfactor)`.execute(db);
    await sql`DROP INDEX credit_grants_lapsing`.execute(db);
    await sql`ALTER TABLE credit_grants DROP COLUMN has_free`.execute(db);
    await sql`CREATE INDEX credit_grants_lapsing ON credit_grants (expires_at) WHERE free > 0`.execute(db);
  },
};

export const readModelMigrations: Record<string, Migration> = {
  '2026-11-28T02-read-models': readModels,
  '2026-11-29T01-billing-event-commands': billingEventCommands,
  '2026-11-29T02-totals': totals,
  '2026-12-01T01-credit-grants': creditGrants,
  // alerts (issue #17)
  '2026-12-02T11-alerts': alerts,
  '2026-12-02T10-webhook-outbox': webhookOutbox,
  // daily projection
  '2026-12-02T03-daily-figures': dailyFigures,
  '2026-12-03T05-in-place-updates': inPlaceUpdates,
};
