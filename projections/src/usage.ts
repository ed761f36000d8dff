/**
 * The `usage` projection: the usage ledger (one row per money movement, each traced to its event)
 * and the overview's recent billing events (one row per event that moved money or posture).
 *
 * A movement's effect on the account's available credits: a grant and a release add to it; a
 * reservation, an overrun and an expiry take from it; consuming reserved credits, a commercial
 * exception and settlement holds leave it as it is. Each row records the available credits after
 * its movement, from a running total per account.
 */
import { formatCredits, type GrantSource } from '@ledger/domain';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { RowRecall } from './memory';
import type { Projection, ProjectedEvent } from './projection';
import type { BillingEventsTable, ReadModelTables, UsageKind, UsageLedgerTable } from './read-models';
import { insertRows, occurredAt, writesOf, writtenBy, type Handlers, type RowColumns } from './shared';
import { BatchTotals, usageTotals } from './totals';

/** One money movement, before the batch numbers it and runs the account's available through it. */
export interface UsageEntry {
  readonly kind: UsageKind;
  readonly accountId: string;
  readonly projectId: string | null;
  readonly amount: bigint;
  readonly runId?: string;
  readonly grantId?: string;
  readonly grantSource?: GrantSource;
  readonly holdId?: string;
  readonly reason?: string;
  /** What the movement does to the account's available credits. */
  readonly availableChange: bigint;
}

export type UsageRow = Selectable<UsageLedgerTable>;
type BillingEventRow = Selectable<BillingEventsTable>;

export type UsageWrite =
  | { readonly table: 'usage_ledger'; readonly entry: UsageEntry }
  | { readonly table: 'billing_events'; readonly row: BillingEventRow };

const entry = (movement: UsageEntry): UsageWrite => ({ table: 'usage_ledger', entry: movement });

/** A movement only when it moves something: zero parts of an event are not rows. */
const entryIfAny = (movement: UsageEntry): UsageWrite[] => (movement.amount > 0n ? [entry(movement)] : []);

function billingEvent(
  at: ProjectedEvent,
  accountId: string,
  projectId: string | null,
  summary: string,
  amount: bigint | null,
): UsageWrite {
  return {
    table: 'billing_events',
    row: {
      event_id: at.metadata.eventId,
      account_id: accountId,
      project_id: projectId,
      event_type: at.event.type,
      summary,
      amount,
      occurred_at: occurredAt(at),
      command_id: at.metadata.commandId,
      ...writtenBy(at),
    },
  };
}

const grantSummaries: Record<GrantSource, string> = {
  plan_included: 'Included credits granted',
  top_up: 'Top-up granted',
  manual: 'Credits granted manually',
};

/** Granted credits joining the account's balance: one `grant` row. */
function grantMoved(
  at: ProjectedEvent,
  grant: { accountId: string; projectId: string | null; grantId: string; source: GrantSource; amount: bigint },
  summary: string,
): UsageWrite[] {
  const { accountId, projectId, grantId, source, amount } = grant;
  return [
    entry({ kind: 'grant', accountId, projectId, amount, grantId, grantSource: source, availableChange: amount }),
    billingEvent(at, accountId, projectId, summary, amount),
  ];
}

export const usageHandlers: Handlers<UsageWrite> = {
  CreditsGranted: ({ accountId, projectId, grantId, source, amount, effectiveAt }, at) =>
    effectiveAt === null
      ? grantMoved(at, { accountId, projectId, grantId, source, amount }, grantSummaries[source])
      : // A scheduled grant moves no money yet: the overview names it, the ledger row comes when it takes effect.
        [
          billingEvent(
            at,
            accountId,
            projectId,
            `${grantSummaries[source]}, in effect from ${effectiveAt.slice(0, 10)}`,
            amount,
          ),
        ],
  CreditsBecameEffective: (data, at) => grantMoved(at, data, `${grantSummaries[data.source]}: now in effect`),
  CreditsExpired: ({ accountId, projectId, grantId, amount, reason }, at) => [
    entry({ kind: 'expiry', accountId, projectId, amount, grantId, reason, availableChange: -amount }),
    billingEvent(
      at,
      accountId,
      projectId,
      reason === 'account_closed'
        ? `Credits of grant ${grantId} expired as the account closed`
        : `Credits of grant ${grantId} expired`,
      amount,
    ),
  ],
  RunAccepted: ({ accountId, projectId, runId, estimatedCost }, at) => [
    billingEvent(at, accountId, projectId, `Run ${runId} accepted`, estimatedCost),
  ],
  CreditsReserved: ({ accountId, projectId, runId, amount }) => [
    entry({ kind: 'reservation', accountId, projectId, amount, runId, availableChange: -amount }),
  ],
  CreditsConsumed: ({ accountId, projectId, runId, fromReservation, overrun }) => [
    ...entryIfAny({ kind: 'consumption', accountId, projectId, amount: fromReservation, runId, availableChange: 0n }),
    ...entryIfAny({ kind: 'overrun', accountId, projectId, amount: overrun, runId, availableChange: -overrun }),
  ],
  ReservationReleased: ({ accountId, projectId, runId, amount, reason }) => [
    entry({ kind: 'release', accountId, projectId, amount, runId, reason, availableChange: amount }),
  ],
  CommercialExceptionRecorded: ({ accountId, projectId, runId, amount, kind }, at) => [
    entry({ kind: 'commercial_exception', accountId, projectId, amount, runId, reason: kind, availableChange: 0n }),
    billingEvent(at, accountId, projectId, `Run ${runId} cost more than the balance covered`, amount),
  ],
  RunCompleted: ({ accountId, projectId, runId, actualCost }, at) => [
    billingEvent(at, accountId, projectId, `Run ${runId} completed`, actualCost),
  ],
  RunFailed: ({ accountId, projectId, runId }, at) => [
    billingEvent(at, accountId, projectId, `Run ${runId} failed`, null),
  ],
  RunCancelled: ({ accountId, projectId, runId }, at) => [
    billingEvent(at, accountId, projectId, `Run ${runId} cancelled`, null),
  ],
  SettlementHoldPlaced: ({ accountId, projectId, runId, holdId, provider, amount }, at) => [
    entry({ kind: 'hold_placed', accountId, projectId, amount, runId, holdId, availableChange: 0n }),
    billingEvent(at, accountId, projectId, `Settlement hold for ${provider}`, amount),
  ],
  SettlementHoldReleased: ({ accountId, projectId, runId, holdId, provider, amount, outcome }, at) => [
    entry({ kind: 'hold_released', accountId, projectId, amount, runId, holdId, reason: outcome, availableChange: 0n }),
    billingEvent(
      at,
      accountId,
      projectId,
      outcome === 'paid_out' ? `Settlement hold paid out to ${provider}` : `Settlement hold for ${provider} reversed`,
      amount,
    ),
  ],
  SubscriptionStarted: ({ accountId, plan }, at) => [
    billingEvent(at, accountId, null, `Subscribed to ${plan.name}`, null),
  ],
  PlanChanged: ({ accountId, plan }, at) => [billingEvent(at, accountId, null, `Plan changed to ${plan.name}`, null)],
  SubscriptionPeriodRenewed: ({ accountId, period }, at) => [
    billingEvent(at, accountId, null, `Subscription renewed until ${period.end.slice(0, 10)}`, null),
  ],
  AccountSuspended: ({ accountId }, at) => [billingEvent(at, accountId, null, 'Account suspended', null)],
  AccountReactivated: ({ accountId }, at) => [billingEvent(at, accountId, null, 'Account reactivated', null)],
  BillingAccountClosed: ({ accountId }, at) => [billingEvent(at, accountId, null, 'Account closed', null)],
};

/** Where memory keeps an account's available credits after its latest ledger row. */
const AVAILABLE_NOW = 'usage_ledger.available_after';

/**
 * Each account's available credits after its latest ledger row, or 0 for an account without
 * one: remembered from the batch that wrote that row, else one index probe per account
 * (usage_ledger_account_position), however long its history.
 */
async function availableNow(
  db: Kysely<ReadModelTables>,
  accountIds: string[],
  memory: RowRecall | undefined,
): Promise<Map<string, bigint>> {
  const available = new Map<string, bigint>();
  const unknown: string[] = [];
  for (const accountId of accountIds) {
    const remembered = memory?.recall(AVAILABLE_NOW, accountId);
    if (typeof remembered === 'bigint') available.set(accountId, remembered);
    else {
      available.set(accountId, 0n);
      unknown.push(accountId);
    }
  }
  if (unknown.length === 0) return available;
  const rows = await db
    .selectFrom(sql<{ account_id: string }>`unnest(${unknown}::text[])`.as<'a'>(sql`a(account_id)`))
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('usage_ledger')
          .select('available_after')
          .whereRef('usage_ledger.account_id', '=', 'a.account_id')
          .orderBy('position_commit', 'desc')
          .orderBy('position_prepare', 'desc')
          .orderBy('entry_index', 'desc')
          .limit(1)
          .as('latest'),
      (join) => join.onTrue(),
    )
    .select(['a.account_id', 'latest.available_after'])
    .execute();
  for (const row of rows) available.set(row.account_id, row.available_after);
  return available;
}

/** The usage_ledger row of one movement: the `entry`-th of its event, leaving `availableAfter`. */
export function usageRowOf(at: ProjectedEvent, movement: UsageEntry, entry: number, availableAfter: bigint): UsageRow {
  return {
    event_id: at.metadata.eventId,
    entry_index: entry,
    account_id: movement.accountId,
    project_id: movement.projectId,
    kind: movement.kind,
    amount: movement.amount,
    run_id: movement.runId ?? null,
    grant_id: movement.grantId ?? null,
    grant_source: movement.grantSource ?? null,
    hold_id: movement.holdId ?? null,
    reason: movement.reason ?? null,
    available_after: availableAfter,
    event_type: at.event.type,
    stream_revision: at.revision,
    occurred_at: occurredAt(at),
    principal: at.metadata.principal,
    command_id: at.metadata.commandId,
    correlation_id: at.metadata.correlationId,
    ...writtenBy(at),
  };
}

function describeAt(at: ProjectedEvent): string {
  return `${at.event.type} ${at.metadata.eventId} at ${at.position.commit}/${at.position.prepare}`;
}

const USAGE_COLUMNS: RowColumns<UsageRow> = {
  event_id: true,
  entry_index: true,
  account_id: true,
  project_id: true,
  kind: true,
  amount: true,
  run_id: true,
  grant_id: true,
  grant_source: true,
  hold_id: true,
  reason: true,
  available_after: true,
  event_type: true,
  stream_revision: true,
  occurred_at: true,
  principal: true,
  command_id: true,
  correlation_id: true,
  position_commit: true,
  position_prepare: true,
};

const BILLING_EVENT_COLUMNS: RowColumns<BillingEventRow> = {
  event_id: true,
  account_id: true,
  project_id: true,
  event_type: true,
  summary: true,
  amount: true,
  occurred_at: true,
  position_commit: true,
  position_prepare: true,
  command_id: true,
};

export const usageProjection: Projection = {
  name: 'usage',
  tables: ['usage_ledger', 'billing_events', 'usage_totals'],
  // availableNow reads usage_ledger_account_position: that one stays while rebuilding.
  queryOnlyIndexes: [
    'usage_ledger_account_time',
    'usage_ledger_account_project_time',
    'usage_ledger_account_command',
    'billing_events_account_recent',
    'billing_events_account_project_recent',
  ],
  async applyBatch(events, db, memory) {
    const movements: Array<{ at: ProjectedEvent; entries: UsageEntry[] }> = [];
    const billingEvents: BillingEventRow[] = [];
    const accounts = new Set<string>();
    for (const recorded of events) {
      const entries: UsageEntry[] = [];
      for (const write of writesOf(usageHandlers, recorded)) {
        if (write.table === 'usage_ledger') {
          entries.push(write.entry);
          accounts.add(write.entry.accountId);
        } else {
          billingEvents.push(write.row);
        }
      }
      if (entries.length > 0) movements.push({ at: recorded, entries });
    }

    const available = await availableNow(db, [...accounts], memory);
    const rows: UsageRow[] = [];
    const totals = new BatchTotals(usageTotals);
    for (const { at, entries } of movements) {
      entries.forEach((movement, index) => {
        const after = available.get(movement.accountId)! + movement.availableChange;
        if (after < 0n) {
          throw new Error(
            `${describeAt(at)} leaves account ${movement.accountId} with ${formatCredits(after)} available credits`,
          );
        }
        available.set(movement.accountId, after);
        const row = usageRowOf(at, movement, index, after);
        rows.push(row);
        totals.add(row.account_id, row.project_id, { rows: 1n }, at, { last_movement_at: row.occurred_at });
      });
    }

    await insertRows(db, 'usage_ledger', USAGE_COLUMNS, rows);
    await insertRows(db, 'billing_events', BILLING_EVENT_COLUMNS, billingEvents);
    await totals.write(db);
    for (const accountId of accounts) memory?.remember(AVAILABLE_NOW, accountId, available.get(accountId));
  },
};
