/**
 * The read models' shape, declared once: what the projector writes and the query API reads.
 * Money columns are Postgres bigint (credits in 10^-4 units, CNY in fen), read back as bigint.
 * Every row names the global position of the event that last wrote it (commit/prepare).
 */
import type { UsageKind, WebhookEventType } from '@ledger/contract';
import type { AlertKind } from '@ledger/domain';
import type { ColumnType, Generated, GeneratedAlways } from 'kysely';

/** Positions are (commit, prepare) pairs, ordered lexicographically; see libs/event-store/src/port.ts. */
interface WrittenAt {
  position_commit: bigint;
  position_prepare: bigint;
}

/** The buckets of one account ('' as project_id) or of one project of it. */
export interface BalanceBucketsTable extends WrittenAt {
  account_id: string;
  /** '' for the whole account; a project id for that project's share. */
  project_id: string;
  included: bigint;
  bonus: bigint;
  reserved: bigint;
  consumed: bigint;
  hold: bigint;
  expired: bigint;
  /** Only the account row has one: the wallet is account-owned, projects do not own spendable credits. */
  available: bigint | null;
  updated_at: Date;
}

/** Subscription posture and plan terms of an account: the overview's "subscription posture" card. */
export interface BillingAccountsTable extends WrittenAt {
  account_id: string;
  name: string;
  status: 'active' | 'suspended' | 'closed';
  plan_id: string | null;
  plan_name: string | null;
  capability_bands: string[];
  /** The plan's rate card as stored in the event (JSON, money as decimal strings). */
  rate_card: ColumnType<unknown, string, string>;
  included_per_period: bigint | null;
  credit_price_fen: bigint | null;
  settlement_threshold_fen: bigint | null;
  period_start: Date | null;
  period_end: Date | null;
  opened_at: Date;
  updated_at: Date;
}

export interface AccountProjectsTable extends WrittenAt {
  account_id: string;
  project_id: string;
  name: string | null;
  attached_at: Date;
}

/** The usage ledger's kinds are the contract's: the rows' `kind` and the API's filter take them. */
export { usageKinds, type UsageKind } from '@ledger/contract';

/**
 * One row per money movement, each from exactly one event (an event may move money more than once:
 * a completion consumes the reservation and may overrun it). Summing the rows reproduces every bucket.
 */
export interface UsageLedgerTable extends WrittenAt {
  event_id: string;
  /** Which movement of the event this is, from 0. */
  entry_index: number;
  account_id: string;
  project_id: string | null;
  kind: UsageKind;
  /** Always positive; the kind says which buckets it moved. */
  amount: bigint;
  run_id: string | null;
  grant_id: string | null;
  /** For grants: plan_included, manual or top_up. */
  grant_source: string | null;
  hold_id: string | null;
  /** For releases: completed/failed/cancelled; for released holds: paid_out/reversed. */
  reason: string | null;
  /** The account's available credits after this movement. */
  available_after: bigint;
  event_type: string;
  stream_revision: bigint;
  occurred_at: Date;
  principal: string;
  command_id: string;
  correlation_id: string;
}

export interface RunsTable extends WrittenAt {
  account_id: string;
  run_id: string;
  project_id: string;
  action: string;
  capability_band: string;
  status: 'accepted' | 'completed' | 'failed' | 'cancelled';
  estimated_cost: bigint;
  reserved: bigint;
  actual_cost: bigint | null;
  consumed: bigint;
  held: bigint;
  /** Credits the run cost beyond every balance (a commercial exception). */
  shortfall: bigint;
  accepted_at: Date;
  finished_at: Date | null;
}

export interface SettlementHoldsTable extends WrittenAt {
  account_id: string;
  hold_id: string;
  run_id: string;
  project_id: string;
  provider: string;
  amount: bigint;
  status: 'held' | 'paid_out' | 'reversed';
  placed_at: Date;
  released_at: Date | null;
}

/** The overview's "Recent billing events": one row per event that moved money or changed posture. */
export interface BillingEventsTable extends WrittenAt {
  event_id: string;
  account_id: string;
  project_id: string | null;
  event_type: string;
  /** A short human label, e.g. "Run run-002 completed". */
  summary: string;
  /** The money it moved, if any. */
  amount: bigint | null;
  occurred_at: Date;
  /** The command that appended it: its usage rows are the rows with this command_id. */
  command_id: string | null;
}

/** Runs per account ('' as project_id) and per project: the overview's accepted-execution facts. */
export interface RunTotalsTable extends WrittenAt {
  account_id: string;
  project_id: string;
  /** Every run ever accepted. */
  accepted: bigint;
  /** Runs accepted and not yet finished. */
  open: bigint;
}

/** Usage-ledger rows per account ('' as project_id) and per project: the overview's ledger facts. */
export interface UsageTotalsTable extends WrittenAt {
  account_id: string;
  project_id: string;
  rows: bigint;
  last_movement_at: Date | null;
}

/** Every credit grant: its validity window, and where its credits are now. */
export interface CreditGrantsTable extends WrittenAt {
  account_id: string;
  grant_id: string;
  source: 'plan_included' | 'manual' | 'top_up';
  project_id: string | null;
  amount: bigint;
  /** `scheduled` until its validity window begins, then `effective`. */
  status: 'scheduled' | 'effective';
  granted_at: Date;
  /** When its credits became (or become) spendable. */
  effective_at: Date;
  expires_at: Date | null;
  free: bigint;
  reserved: bigint;
  consumed: bigint;
  expired: bigint;
  /** free > 0, kept by Postgres: what the lapsing index names instead of `free` (migrations.ts). */
  has_free: GeneratedAlways<boolean>;
}

// --- alerts (issue #17): the `alerts` projection's tables -------------------------------------

/**
 * Every alert rule an account defined: its definition, whether it is firing now, and its history
 * in figures. A removed rule stays, marked removed, until it is defined again.
 */
export interface AlertRulesTable extends WrittenAt {
  account_id: string;
  rule_id: string;
  kind: AlertKind;
  /** The kind's parameter as defined (credits, a share, days); null for the kinds without one. */
  threshold: string | null;
  status: 'active' | 'removed';
  /** A condition rule whose condition holds now: it fired and has not cleared. */
  firing: boolean;
  defined_at: Date;
  removed_at: Date | null;
  fired_count: bigint;
  last_fired_at: Date | null;
  last_cleared_at: Date | null;
  /** What the last firing observed (credits, or fen of held value), and what it was about. */
  last_observed: string | null;
  last_subject: string | null;
}

/** One row per AlertFired and per AlertCleared. */
export interface AlertFiringsTable extends WrittenAt {
  event_id: string;
  account_id: string;
  rule_id: string;
  kind: AlertKind;
  status: 'fired' | 'cleared';
  threshold: string | null;
  observed: string | null;
  subject: string | null;
  occurred_at: Date;
  /** The command that appended it: the usage rows with this command_id are the movement that crossed. */
  command_id: string;
  stream_revision: bigint;
}

// --- end alerts ----------------------------------------------------------------------------------
// --- webhooks (issue #17): the outbox the delivery worker fans out -------------------------------

/** One row per event a webhook receiver may subscribe to, holding the exact body every delivery sends. */
export interface WebhookOutboxTable extends WrittenAt {
  /** The event's id: the delivery body's `id`. */
  event_id: string;
  event_type: WebhookEventType;
  account_id: string;
  rule_id: string;
  /** The JSON text sent and signed, byte for byte. */
  body: string;
  occurred_at: Date;
}

// --- end webhooks ---------------------------------------------------------------------------------
// ── daily projection (figures over time) ───────────────────────────────────────────────────────
/**
 * The buckets of an account ('' as project_id) or of one project of it as they stood at the end of
 * a UTC day on which the account had events; days without events have no row (a reader carries
 * the last row forward). Written by the `daily` projection.
 */
export interface DailyBalancesTable extends WrittenAt {
  account_id: string;
  /** '' for the whole account; a project id for that project's share. */
  project_id: string;
  /**
   * The UTC day, as 'YYYY-MM-DD'. Postgres `date`: select it as text (`day::text`), since the
   * driver would read a bare date as midnight in the process's own time zone.
   */
  day: ColumnType<string, string, string>;
  included: bigint;
  bonus: bigint;
  reserved: bigint;
  consumed: bigint;
  hold: bigint;
  expired: bigint;
  /** Only the account row has one, as in balance_buckets. */
  available: bigint | null;
  /** Credits consumed during the day: the day's growth of `consumed`. */
  consumed_in_day: bigint;
}

/** Every subscription period an account has had: the boundaries the overview's charts mark. */
export interface SubscriptionPeriodsTable extends WrittenAt {
  account_id: string;
  period_start: Date;
  period_end: Date;
  /** When the period was started or renewed. */
  recorded_at: Date;
}
// ── end of the daily projection's tables ───────────────────────────────────────────────────────

export interface ProjectionCheckpointsTable {
  projection: string;
  position_commit: bigint;
  position_prepare: bigint;
  events_applied: bigint;
  updated_at: Generated<Date>;
  /** Set when a handler threw: the projection stopped before this event. */
  failed_position: string | null;
  failure: string | null;
  failed_at: Date | null;
}

export interface ReadModelTables {
  balance_buckets: BalanceBucketsTable;
  billing_accounts: BillingAccountsTable;
  account_projects: AccountProjectsTable;
  usage_ledger: UsageLedgerTable;
  runs: RunsTable;
  settlement_holds: SettlementHoldsTable;
  billing_events: BillingEventsTable;
  run_totals: RunTotalsTable;
  usage_totals: UsageTotalsTable;
  credit_grants: CreditGrantsTable;
  alert_rules: AlertRulesTable;
  alert_firings: AlertFiringsTable;
  webhook_outbox: WebhookOutboxTable;
  daily_balances: DailyBalancesTable;
  subscription_periods: SubscriptionPeriodsTable;
  projection_checkpoints: ProjectionCheckpointsTable;
}
