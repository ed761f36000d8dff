/**
 * The `balances` projection: the buckets of every account and of each of its projects
 * (balance_buckets), the account's subscription posture (billing_accounts) and its projects
 * (account_projects).
 *
 * Buckets move as evolve.ts moves them: included/bonus by grants, reserved by reservations,
 * releases and the reserved part of consumptions, consumed by consumptions, hold by holds placed
 * and released, expired by expiries. The account row (project '') takes every movement and keeps
 * available = included + bonus − reserved − consumed − expired; a project row takes the movements
 * attributed to it (a grant's or expiry's project, a run's project) and has no available.
 */
import {
  formatCredits,
  shareBucketNames,
  zeroShareBuckets,
  type GrantSource,
  type PlanTerms,
  type ShareBucketName,
} from '@ledger/domain';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Projection, ProjectedEvent } from './projection';
import type { AccountProjectsTable, BalanceBucketsTable, BillingAccountsTable, ReadModelTables } from './read-models';
import {
  applyPatches,
  inSlices,
  keyOf,
  occurredAt,
  writesOf,
  writtenBy,
  type Handlers,
  type LatestStateTable,
  type RowPatch,
  writeDocument,
} from './shared';

/** A movement of the kept buckets (`available` follows from them). */
export type BucketDelta = Partial<Record<ShareBucketName, bigint>>;

/** The rate card is stored as the event carries it on the wire: money as decimal strings. */
type BillingAccountRow = Omit<Selectable<BillingAccountsTable>, 'rate_card'> & { rate_card: string };
type AccountProjectRow = Selectable<AccountProjectsTable>;

export type BalanceWrite =
  | {
      readonly table: 'balance_buckets';
      readonly accountId: string;
      /** '' for the account's row. */
      readonly projectId: string;
      readonly delta: BucketDelta;
      readonly at: ProjectedEvent;
    }
  | ({ readonly table: 'billing_accounts' } & RowPatch<BillingAccountRow>)
  | { readonly table: 'account_projects'; readonly row: AccountProjectRow };

/** A movement of the account's buckets, and of the project's when one is named. */
const move = (at: ProjectedEvent, accountId: string, projectId: string | null, delta: BucketDelta): BalanceWrite[] => [
  { table: 'balance_buckets', accountId, projectId: '', delta, at },
  ...(projectId === null ? [] : [{ table: 'balance_buckets' as const, accountId, projectId, delta, at }]),
];

function planColumns(plan: PlanTerms): Partial<BillingAccountRow> {
  return {
    plan_id: plan.planId,
    plan_name: plan.name,
    capability_bands: [...plan.capabilityBands],
    rate_card: JSON.stringify(
      plan.rateCard.map((entry) => ({
        action: entry.action,
        capabilityBand: entry.capabilityBand,
        minimumCost: formatCredits(entry.minimumCost),
      })),
    ),
    included_per_period: plan.includedCredits,
    credit_price_fen: plan.creditPriceFen,
    settlement_threshold_fen: plan.settlementThresholdFen,
  };
}

/** A change to the account's posture row. */
const posture = (at: ProjectedEvent, accountId: string, set: Partial<BillingAccountRow>): BalanceWrite[] => [
  { table: 'billing_accounts', id: [accountId], set: { ...set, updated_at: occurredAt(at) }, at },
];

const grantBuckets = (source: GrantSource, amount: bigint): BucketDelta =>
  source === 'plan_included' ? { included: amount } : { bonus: amount };

export const balanceHandlers: Handlers<BalanceWrite> = {
  BillingAccountOpened: ({ accountId, name }, at) => [
    {
      table: 'billing_accounts',
      id: [accountId],
      create: {
        account_id: accountId,
        name,
        status: 'active',
        plan_id: null,
        plan_name: null,
        capability_bands: [],
        rate_card: '[]',
        included_per_period: null,
        credit_price_fen: null,
        settlement_threshold_fen: null,
        period_start: null,
        period_end: null,
        opened_at: occurredAt(at),
        updated_at: occurredAt(at),
        ...writtenBy(at),
      },
      at,
    },
    ...move(at, accountId, null, {}),
  ],
  SubscriptionStarted: ({ accountId, plan, period }, at) =>
    posture(at, accountId, {
      ...planColumns(plan),
      period_start: new Date(period.start),
      period_end: new Date(period.end),
    }),
  PlanChanged: ({ accountId, plan }, at) => posture(at, accountId, planColumns(plan)),
  SubscriptionPeriodRenewed: ({ accountId, period }, at) =>
    posture(at, accountId, { period_start: new Date(period.start), period_end: new Date(period.end) }),
  AccountSuspended: ({ accountId }, at) => posture(at, accountId, { status: 'suspended' }),
  AccountReactivated: ({ accountId }, at) => posture(at, accountId, { status: 'active' }),
  BillingAccountClosed: ({ accountId }, at) => posture(at, accountId, { status: 'closed' }),
  ProjectAttached: ({ accountId, projectId, name }, at) => [
    {
      table: 'account_projects',
      row: { account_id: accountId, project_id: projectId, name, attached_at: occurredAt(at), ...writtenBy(at) },
    },
    // The project's buckets exist, at zero, from the moment it is attached.
    { table: 'balance_buckets', accountId, projectId, delta: {}, at },
  ],
  // A scheduled grant joins the buckets when it takes effect, not when it is recorded.
  CreditsGranted: ({ accountId, projectId, source, amount, effectiveAt }, at) =>
    effectiveAt === null ? move(at, accountId, projectId, grantBuckets(source, amount)) : [],
  CreditsBecameEffective: ({ accountId, projectId, source, amount }, at) =>
    move(at, accountId, projectId, grantBuckets(source, amount)),
  CreditsExpired: ({ accountId, projectId, amount }, at) => move(at, accountId, projectId, { expired: amount }),
  CreditsReserved: ({ accountId, projectId, amount }, at) => move(at, accountId, projectId, { reserved: amount }),
  ReservationReleased: ({ accountId, projectId, amount }, at) => move(at, accountId, projectId, { reserved: -amount }),
  CreditsConsumed: ({ accountId, projectId, amount, fromReservation }, at) =>
    move(at, accountId, projectId, { reserved: -fromReservation, consumed: amount }),
  SettlementHoldPlaced: ({ accountId, projectId, amount }, at) => move(at, accountId, projectId, { hold: amount }),
  SettlementHoldReleased: ({ accountId, projectId, amount }, at) => move(at, accountId, projectId, { hold: -amount }),
};

/**
 * One row's accumulated change, in the row's own shape: the bucket deltas (available null on project
 * rows, which have none), and the event that last wrote it.
 */
type BucketRowDelta = Selectable<BalanceBucketsTable>;

const availableDelta = (d: BucketDelta): bigint =>
  (d.included ?? 0n) + (d.bonus ?? 0n) - (d.reserved ?? 0n) - (d.consumed ?? 0n) - (d.expired ?? 0n);

function accumulate(
  rows: Map<string, BucketRowDelta>,
  accountId: string,
  projectId: string,
  delta: BucketDelta,
  at: ProjectedEvent,
) {
  const key = keyOf([accountId, projectId]);
  let row = rows.get(key);
  if (!row) {
    row = {
      account_id: accountId,
      project_id: projectId,
      ...zeroShareBuckets(),
      available: projectId === '' ? 0n : null,
      position_commit: 0n,
      position_prepare: 0n,
      updated_at: occurredAt(at),
    };
    rows.set(key, row);
  }
  for (const name of shareBucketNames) row[name] += delta[name] ?? 0n;
  if (row.available !== null) row.available += availableDelta(delta);
  Object.assign(row, writtenBy(at), { updated_at: occurredAt(at) });
}

async function applyBuckets(db: Kysely<ReadModelTables>, rows: BucketRowDelta[]): Promise<void> {
  const [first] = rows;
  if (!first) return;
  const columns = Object.keys(first) as Array<keyof BucketRowDelta & string>;
  await writeDocument(db, 'balance_buckets', 'add', columns, rows, (insert) =>
    insert.onConflict((conflict) =>
      conflict.columns(['account_id', 'project_id']).doUpdateSet((eb) => ({
        included: sql<bigint>`${eb.ref('balance_buckets.included')} + ${eb.ref('excluded.included')}`,
        bonus: sql<bigint>`${eb.ref('balance_buckets.bonus')} + ${eb.ref('excluded.bonus')}`,
        reserved: sql<bigint>`${eb.ref('balance_buckets.reserved')} + ${eb.ref('excluded.reserved')}`,
        consumed: sql<bigint>`${eb.ref('balance_buckets.consumed')} + ${eb.ref('excluded.consumed')}`,
        hold: sql<bigint>`${eb.ref('balance_buckets.hold')} + ${eb.ref('excluded.hold')}`,
        expired: sql<bigint>`${eb.ref('balance_buckets.expired')} + ${eb.ref('excluded.expired')}`,
        available: sql<bigint | null>`${eb.ref('balance_buckets.available')} + ${eb.ref('excluded.available')}`,
        position_commit: eb.ref('excluded.position_commit'),
        position_prepare: eb.ref('excluded.position_prepare'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    ),
  );
}

const accountsTable: LatestStateTable<BillingAccountRow> = {
  name: 'billing_accounts',
  key: ['account_id'],
  // jsonb comes back parsed; rows keep it as JSON text, and the document carries it as JSON.
  fromLoaded: (row) => ({ ...row, rate_card: JSON.stringify(row.rate_card) }),
  toDocument: (row) => ({ ...row, rate_card: JSON.parse(row.rate_card) as unknown }),
};

async function applyProjects(db: Kysely<ReadModelTables>, rows: AccountProjectRow[]): Promise<void> {
  for (const slice of inSlices(rows, 6)) {
    await db
      .insertInto('account_projects')
      .values(slice)
      .onConflict((conflict) =>
        conflict.columns(['account_id', 'project_id']).doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'),
          attached_at: eb.ref('excluded.attached_at'),
          position_commit: eb.ref('excluded.position_commit'),
          position_prepare: eb.ref('excluded.position_prepare'),
        })),
      )
      .execute();
  }
}

export const balancesProjection: Projection = {
  name: 'balances',
  tables: ['balance_buckets', 'billing_accounts', 'account_projects'],
  async applyBatch(events, db, memory) {
    const buckets = new Map<string, BucketRowDelta>();
    const accounts: RowPatch<BillingAccountRow>[] = [];
    const projects = new Map<string, AccountProjectRow>();
    for (const recorded of events) {
      for (const write of writesOf(balanceHandlers, recorded)) {
        switch (write.table) {
          case 'balance_buckets':
            accumulate(buckets, write.accountId, write.projectId, write.delta, write.at);
            break;
          case 'billing_accounts':
            accounts.push(write);
            break;
          case 'account_projects':
            projects.set(keyOf([write.row.account_id, write.row.project_id]), write.row);
            break;
        }
      }
    }
    await applyPatches(db, accountsTable, accounts, memory);
    await applyProjects(db, [...projects.values()]);
    await applyBuckets(db, [...buckets.values()]);
  },
};
