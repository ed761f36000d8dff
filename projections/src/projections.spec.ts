/**
 * The projections against a real Postgres, fed histories the real domain decided: the seed
 * page's account, and a second account that reaches every corner (overruns, commercial exceptions,
 * expiries on release, renewals, posture changes), interleaved with it.
 */
import type { CommandOf, CommandType, Instant, LedgerCommand } from '@ledger/domain';
import { sql } from 'kysely';
import {
  balancesProjection,
  projectionNamed,
  projections,
  readModelMigrations,
  readModelTableNames,
  runsProjection,
  grantsProjection,
  usageProjection,
} from './index';
import {
  applyInBatches,
  credits,
  dumpTables,
  growthPlan,
  openReadModelDatabase,
  RecordingLedger,
  truncateReadModels,
  verifyReadModels,
  type ReadModelDatabase,
} from './test-support';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const T0: Instant = '2026-11-15T09:00:00.000Z';
const PERIOD = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
const NEXT_PERIOD = { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' };
const tables = readModelTableNames.filter((t) => t !== 'projection_checkpoints');

const at = (ms: number): Instant => new Date(Date.parse(T0) + ms).toISOString();

function command<T extends CommandType>(type: T, accountId: string, fields: Omit<CommandOf<T>, 'type' | 'accountId'>) {
  return { ...fields, type, accountId } as CommandOf<T>;
}

/** The seed page's account through domain commands (libs/client/src/seed-scenario.ts). */
function seedCommands(accountId: string) {
  const run = (runId: string, projectId: string, action: string, capabilityBand: string, estimatedCost: string) =>
    command('AcceptRun', accountId, {
      runId,
      projectId,
      action,
      capabilityBand,
      estimatedCost: credits(estimatedCost),
    });
  return [
    command('OpenBillingAccount', accountId, { name: 'Demo workspace' }),
    command('StartSubscription', accountId, { plan: growthPlan(), period: PERIOD }),
    command('AttachProject', accountId, { projectId: 'proj-research', name: 'Research assistant' }),
    command('AttachProject', accountId, { projectId: 'proj-support', name: 'Support triage' }),
    command('AttachProject', accountId, { projectId: 'proj-ops', name: 'Ops automation' }),
    run('run-001', 'proj-research', 'workflow.run', 'standard', '20'),
    command('CompleteRun', accountId, { runId: 'run-001', actualCost: credits('18') }),
    run('run-002', 'proj-support', 'agent.run', 'advanced', '30'),
    command('CompleteRun', accountId, { runId: 'run-002', actualCost: credits('26') }),
    command('PlaceSettlementHold', accountId, {
      holdId: 'hold-001',
      runId: 'run-002',
      provider: 'model-provider-a',
      amount: credits('8'),
    }),
    run('run-003', 'proj-research', 'workflow.run', 'standard', '10'),
    command('FailRun', accountId, { runId: 'run-003', reason: 'workflow step timed out' }),
    run('run-004', 'proj-ops', 'workflow.run', 'standard', '5'),
    command('CancelRun', accountId, { runId: 'run-004', reason: 'cancelled by operator' }),
    run('run-005', 'proj-research', 'workflow.run', 'standard', '12'),
    run('run-006', 'proj-ops', 'agent.run', 'advanced', '12'),
  ];
}

/** An account that goes everywhere: (command, minutes after T0). */
function eventfulCommands(accountId: string): Array<[LedgerCommand, number]> {
  const c = <T extends CommandType>(type: T, fields: Omit<CommandOf<T>, 'type' | 'accountId'>) =>
    command(type, accountId, fields);
  const accept = (runId: string, projectId: string, estimatedCost: string) =>
    c('AcceptRun', {
      runId,
      projectId,
      action: 'workflow.run',
      capabilityBand: 'standard',
      estimatedCost: credits(estimatedCost),
    });
  return [
    [c('OpenBillingAccount', { name: 'Globex' }), 0],
    [c('StartSubscription', { plan: growthPlan({ includedCredits: credits('100') }), period: PERIOD }), 1],
    [c('AttachProject', { projectId: 'p-alpha', name: 'Alpha' }), 2],
    [c('AttachProject', { projectId: 'p-beta' }), 3],
    // A top-up for alpha that lapses in two days, and a manual grant for the account.
    [
      c('GrantCredits', {
        grantId: 'topup-1',
        source: 'top_up',
        amount: credits('50.25'),
        projectId: 'p-alpha',
        expiresAt: at(2 * DAY),
      }),
      4,
    ],
    [c('GrantCredits', { grantId: 'manual-1', source: 'manual', amount: credits('20'), reason: 'goodwill' }), 5],
    // Drawn earliest expiry first: the top-up, then included.
    [accept('r-1', 'p-alpha', '30'), 10],
    [c('CompleteRun', { runId: 'r-1', actualCost: credits('45.5') }), 20], // overrun of 15.5
    [c('PlaceSettlementHold', { holdId: 'h-1', runId: 'r-1', provider: 'provider-x', amount: credits('10') }), 21],
    [c('PlaceSettlementHold', { holdId: 'h-2', runId: 'r-1', provider: 'provider-y', amount: credits('5') }), 22],
    [c('ReleaseSettlementHold', { holdId: 'h-1', outcome: 'paid_out' }), 23],
    [c('ReleaseSettlementHold', { holdId: 'h-2', outcome: 'reversed' }), 24],
    // Reserved from the top-up, released after it lapsed: those credits expire on release.
    [accept('r-2', 'p-beta', '4.75'), 30],
    [c('FailRun', { runId: 'r-2' }), 3 * 24 * 60],
    // More than anything covers: a commercial exception.
    [accept('r-3', 'p-beta', '50'), 3 * 24 * 60 + 1],
    [c('CompleteRun', { runId: 'r-3', actualCost: credits('500') }), 3 * 24 * 60 + 2],
    [c('SuspendAccount', { reason: 'unpaid invoice' }), 3 * 24 * 60 + 3],
    [c('ReactivateAccount', {}), 3 * 24 * 60 + 4],
    [
      c('ChangePlan', { plan: growthPlan({ planId: 'scale', name: 'Scale plan', includedCredits: credits('80') }) }),
      3 * 24 * 60 + 5,
    ],
    [c('RenewSubscriptionPeriod', { period: NEXT_PERIOD }), 17 * 24 * 60],
    [accept('r-4', 'p-alpha', '7'), 17 * 24 * 60 + 1],
    [c('CancelRun', { runId: 'r-4' }), 17 * 24 * 60 + 2],
    [accept('r-5', 'p-alpha', '3'), 17 * 24 * 60 + 3],
    [c('CompleteRun', { runId: 'r-5', actualCost: 0n }), 17 * 24 * 60 + 4],
    [accept('r-6', 'p-beta', '9'), 17 * 24 * 60 + 5],
  ];
}

/** Both accounts, their commands interleaved in time. */
function recordBoth(): RecordingLedger {
  const ledger = new RecordingLedger();
  const seed = seedCommands('acme').map((cmd, i): [typeof cmd, number] => [cmd, i * 7]);
  const timeline = [
    ...seed.map(([cmd, minutes]) => ({ cmd, minutes })),
    ...eventfulCommands('globex').map(([cmd, minutes]) => ({ cmd, minutes })),
  ].sort((a, b) => a.minutes - b.minutes);
  for (const { cmd, minutes } of timeline) ledger.must(cmd, at(minutes * MINUTE));
  return ledger;
}

let database: ReadModelDatabase;
beforeAll(async () => {
  database = await openReadModelDatabase();
});
afterAll(async () => {
  await database?.close();
});
beforeEach(async () => {
  await truncateReadModels(database.db);
});

describe('the seed account', () => {
  const ledger = new RecordingLedger();
  seedCommands('acme').forEach((cmd, i) => ledger.must(cmd, at(i * MINUTE)));

  it.each([[1], [3], [ledger.events.length]])(
    'is projected in batches of %i as the seed page shows it',
    async (size) => {
      const { db } = database;
      await applyInBatches(db, projections, ledger.events, [size]);
      await verifyReadModels(db, ledger);

      const buckets = await db
        .selectFrom('balance_buckets')
        .select(['project_id', 'included', 'bonus', 'reserved', 'consumed', 'hold', 'expired', 'available'])
        .where('account_id', '=', 'acme')
        .orderBy('project_id')
        .execute();
      const c = credits;
      expect(buckets).toEqual([
        {
          project_id: '',
          included: c('500'),
          bonus: 0n,
          reserved: c('24'),
          consumed: c('44'),
          hold: c('8'),
          expired: 0n,
          available: c('432'),
        },
        {
          project_id: 'proj-ops',
          included: 0n,
          bonus: 0n,
          reserved: c('12'),
          consumed: 0n,
          hold: 0n,
          expired: 0n,
          available: null,
        },
        {
          project_id: 'proj-research',
          included: 0n,
          bonus: 0n,
          reserved: c('12'),
          consumed: c('18'),
          hold: 0n,
          expired: 0n,
          available: null,
        },
        {
          project_id: 'proj-support',
          included: 0n,
          bonus: 0n,
          reserved: 0n,
          consumed: c('26'),
          hold: c('8'),
          expired: 0n,
          available: null,
        },
      ]);

      const account = await db.selectFrom('billing_accounts').selectAll().executeTakeFirstOrThrow();
      expect(account).toMatchObject({
        account_id: 'acme',
        name: 'Demo workspace',
        status: 'active',
        plan_id: 'growth-launch',
        plan_name: 'Growth launch plan',
        capability_bands: ['standard', 'advanced'],
        rate_card: [
          { action: 'workflow.run', capabilityBand: 'standard', minimumCost: '1' },
          { action: 'agent.run', capabilityBand: 'advanced', minimumCost: '0.5' },
        ],
        included_per_period: c('500'),
        credit_price_fen: 100n,
        settlement_threshold_fen: 10000n,
        period_start: new Date(PERIOD.start),
        period_end: new Date(PERIOD.end),
        opened_at: new Date(at(0)),
      });

      const runs = await db
        .selectFrom('runs')
        .select(['run_id', 'status', 'reserved', 'consumed', 'held', 'actual_cost'])
        .orderBy('run_id')
        .execute();
      expect(runs).toEqual([
        { run_id: 'run-001', status: 'completed', reserved: 0n, consumed: c('18'), held: 0n, actual_cost: c('18') },
        { run_id: 'run-002', status: 'completed', reserved: 0n, consumed: c('26'), held: c('8'), actual_cost: c('26') },
        { run_id: 'run-003', status: 'failed', reserved: 0n, consumed: 0n, held: 0n, actual_cost: null },
        { run_id: 'run-004', status: 'cancelled', reserved: 0n, consumed: 0n, held: 0n, actual_cost: null },
        { run_id: 'run-005', status: 'accepted', reserved: c('12'), consumed: 0n, held: 0n, actual_cost: null },
        { run_id: 'run-006', status: 'accepted', reserved: c('12'), consumed: 0n, held: 0n, actual_cost: null },
      ]);
      expect(await db.selectFrom('settlement_holds').select(['hold_id', 'status', 'amount']).execute()).toEqual([
        { hold_id: 'hold-001', status: 'held', amount: c('8') },
      ]);

      const recent = await db
        .selectFrom('billing_events')
        .select(['summary', 'amount', 'project_id'])
        .where('account_id', '=', 'acme')
        .orderBy('position_commit', 'desc')
        .orderBy('position_prepare', 'desc')
        .execute();
      expect(recent.map((e) => e.summary)).toEqual([
        'Run run-006 accepted',
        'Run run-005 accepted',
        'Run run-004 cancelled',
        'Run run-004 accepted',
        'Run run-003 failed',
        'Run run-003 accepted',
        'Settlement hold for model-provider-a',
        'Run run-002 completed',
        'Run run-002 accepted',
        'Run run-001 completed',
        'Run run-001 accepted',
        'Included credits granted',
        'Subscribed to Growth launch plan',
      ]);
      expect(recent[6]).toEqual({
        summary: 'Settlement hold for model-provider-a',
        amount: c('8'),
        project_id: 'proj-support',
      });

      const kinds = await db
        .selectFrom('usage_ledger')
        .select(['kind', 'amount', 'run_id', 'reason', 'available_after'])
        .orderBy('position_commit')
        .orderBy('position_prepare')
        .orderBy('entry_index')
        .execute();
      expect(kinds.map((row) => [row.kind, row.run_id, row.reason, row.amount, row.available_after])).toEqual([
        ['grant', null, null, c('500'), c('500')],
        ['reservation', 'run-001', null, c('20'), c('480')],
        ['consumption', 'run-001', null, c('18'), c('480')],
        ['release', 'run-001', 'completed', c('2'), c('482')],
        ['reservation', 'run-002', null, c('30'), c('452')],
        ['consumption', 'run-002', null, c('26'), c('452')],
        ['release', 'run-002', 'completed', c('4'), c('456')],
        ['hold_placed', 'run-002', null, c('8'), c('456')],
        ['reservation', 'run-003', null, c('10'), c('446')],
        ['release', 'run-003', 'failed', c('10'), c('456')],
        ['reservation', 'run-004', null, c('5'), c('451')],
        ['release', 'run-004', 'cancelled', c('5'), c('456')],
        ['reservation', 'run-005', null, c('12'), c('444')],
        ['reservation', 'run-006', null, c('12'), c('432')],
      ]);
    },
  );
});

describe('two accounts, interleaved, through every kind of movement', () => {
  const ledger = recordBoth();

  it('reached every event type and every ledger kind', () => {
    const types = new Set(ledger.events.map((e) => e.event.type));
    expect([...types].sort()).toEqual(
      [
        'AccountReactivated',
        'AccountSuspended',
        'BillingAccountOpened',
        'CommercialExceptionRecorded',
        'CreditsConsumed',
        'CreditsExpired',
        'CreditsGranted',
        'CreditsReserved',
        'PlanChanged',
        'ProjectAttached',
        'ReservationReleased',
        'RunAccepted',
        'RunCancelled',
        'RunCompleted',
        'RunFailed',
        'SettlementHoldPlaced',
        'SettlementHoldReleased',
        'SubscriptionPeriodRenewed',
        'SubscriptionStarted',
      ].sort(),
    );
  });

  it('gives the same tables in batches of 1, 3, 7 and all, each equal to the domain fold', async () => {
    const { db } = database;
    const dumps = [];
    for (const sizes of [[1], [3], [7, 1, 2], [ledger.events.length]]) {
      await truncateReadModels(db);
      await applyInBatches(db, projections, ledger.events, sizes);
      await verifyReadModels(db, ledger);
      dumps.push(await dumpTables(db, tables));
    }
    for (const dump of dumps.slice(1)) expect(dump).toEqual(dumps[0]);

    const kinds = await db
      .selectFrom('usage_ledger')
      .select('kind')
      .distinct()
      .where('account_id', '=', 'globex')
      .orderBy('kind')
      .execute();
    expect(kinds.map((k) => k.kind)).toEqual(
      [
        'commercial_exception',
        'consumption',
        'expiry',
        'grant',
        'hold_placed',
        'hold_released',
        'overrun',
        'release',
        'reservation',
      ].sort(),
    );
    const globex = await db
      .selectFrom('billing_accounts')
      .select(['status', 'plan_id', 'period_start', 'included_per_period'])
      .where('account_id', '=', 'globex')
      .executeTakeFirstOrThrow();
    expect(globex).toEqual({
      status: 'active',
      plan_id: 'scale',
      period_start: new Date(NEXT_PERIOD.start),
      included_per_period: credits('80'),
    });
    const r3 = await db
      .selectFrom('runs')
      .select(['status', 'shortfall', 'consumed'])
      .where('account_id', '=', 'globex')
      .where('run_id', '=', 'r-3')
      .executeTakeFirstOrThrow();
    expect(r3.status).toBe('completed');
    expect(r3.shortfall).toBeGreaterThan(0n);
    expect(r3.consumed + r3.shortfall).toBe(credits('500'));
    const holds = await db
      .selectFrom('settlement_holds')
      .select(['hold_id', 'status'])
      .where('account_id', '=', 'globex')
      .orderBy('hold_id')
      .execute();
    expect(holds).toEqual([
      { hold_id: 'h-1', status: 'paid_out' },
      { hold_id: 'h-2', status: 'reversed' },
    ]);
  });

  it('stamps every row with the position of the event that last wrote it', async () => {
    const { db } = database;
    await applyInBatches(db, projections, ledger.events, [5]);
    const writesRun = new Set([
      'RunAccepted',
      'CreditsReserved',
      'CreditsConsumed',
      'ReservationReleased',
      'CommercialExceptionRecorded',
      'RunCompleted',
      'RunFailed',
      'RunCancelled',
      'SettlementHoldPlaced',
    ]);
    const last = new Map<string, bigint>();
    for (const e of ledger.events) {
      const data = e.event.data as { accountId: string; runId?: string };
      const reversed = e.event.type === 'SettlementHoldReleased' && e.event.data.outcome === 'reversed';
      if (writesRun.has(e.event.type) || reversed) last.set(`${data.accountId}/${data.runId}`, e.position.prepare);
    }
    const runs = await db.selectFrom('runs').select(['account_id', 'run_id', 'position_prepare']).execute();
    for (const run of runs) expect(run.position_prepare).toBe(last.get(`${run.account_id}/${run.run_id}`));

    const acme = await db
      .selectFrom('balance_buckets')
      .select(['position_commit', 'position_prepare', 'updated_at'])
      .where('account_id', '=', 'acme')
      .where('project_id', '=', '')
      .executeTakeFirstOrThrow();
    const lastAcmeMove = ledger.events
      .filter((e) => e.streamId === 'billing-account-acme' && e.event.type === 'CreditsReserved')
      .at(-1)!;
    expect(acme).toEqual({
      position_commit: lastAcmeMove.position.commit,
      position_prepare: lastAcmeMove.position.prepare,
      updated_at: new Date(lastAcmeMove.metadata.occurredAt),
    });
  });

  it('continues from the rows an earlier batch left, each projection at its own pace', async () => {
    const { db } = database;
    const cut = Math.floor(ledger.events.length / 2);
    await balancesProjection.applyBatch(ledger.events.slice(0, cut), db);
    await usageProjection.applyBatch(ledger.events.slice(0, cut + 5), db);
    await runsProjection.applyBatch(ledger.events.slice(0, 3), db);
    await balancesProjection.applyBatch(ledger.events.slice(cut), db);
    await usageProjection.applyBatch(ledger.events.slice(cut + 5), db);
    await runsProjection.applyBatch(ledger.events.slice(3), db);
    await grantsProjection.applyBatch(ledger.events.slice(0, 7), db);
    await grantsProjection.applyBatch(ledger.events.slice(7), db);
    await verifyReadModels(db, ledger);
  });

  it('fills the totals from the rows already projected when a database gains them by migration', async () => {
    const { db } = database;
    await truncateReadModels(db);
    await applyInBatches(db, projections, ledger.events, [5]);
    const counts = async () => ({
      runs: await db
        .selectFrom('run_totals')
        .select(['account_id', 'project_id', 'accepted', 'open'])
        .orderBy('account_id')
        .orderBy('project_id')
        .execute(),
      usage: await db
        .selectFrom('usage_totals')
        .select(['account_id', 'project_id', 'rows', 'last_movement_at'])
        .orderBy('account_id')
        .orderBy('project_id')
        .execute(),
    });
    const projected = await counts();
    expect(projected.runs.length).toBeGreaterThan(0);
    // A database from before the totals: the tables are missing, then the migration makes and fills them.
    const migration = readModelMigrations['2026-11-29T02-totals'];
    await migration?.down!(db as never);
    await migration?.up(db as never);
    expect(await counts()).toEqual(projected);
  });

  it('writes a shadow schema made with LIKE … INCLUDING ALL exactly as the live one', async () => {
    const { db } = database;
    await sql`DROP SCHEMA IF EXISTS shadow CASCADE`.execute(db);
    await sql`CREATE SCHEMA shadow`.execute(db);
    for (const table of readModelTableNames) {
      await sql`CREATE TABLE ${sql.table(`shadow.${table}`)} (LIKE ${sql.table(`public.${table}`)} INCLUDING ALL)`.execute(
        db,
      );
    }
    await applyInBatches(db, projections, ledger.events, [4], 'shadow');
    expect(await dumpTables(db, tables)).toEqual(Object.fromEntries(tables.map((t) => [t, []])));

    await applyInBatches(db, projections, ledger.events, [4]);
    expect(await dumpTables(db, tables, 'shadow')).toEqual(await dumpTables(db, tables));

    // The copies kept their keys: applying an event twice is refused, not double-counted.
    await expect(
      db
        .withSchema('shadow')
        .transaction()
        .execute((tx) => usageProjection.applyBatch(ledger.events.slice(0, 8), tx)),
    ).rejects.toThrow(/duplicate key/);
    await sql`DROP SCHEMA shadow CASCADE`.execute(db);
  });
});

describe('the projection set', () => {
  it('names its projections and the tables each alone writes', () => {
    expect(projections.map((p) => p.name)).toEqual([
      'balances',
      'usage',
      'runs',
      'grants',
      'alerts',
      'webhooks',
      'daily',
    ]);
    expect(projectionNamed('usage')).toBe(usageProjection);
    expect(() => projectionNamed('nope')).toThrow(/balances, usage, runs, grants, alerts, webhooks, daily/);
    const owned = projections.flatMap((p) => p.tables);
    expect(new Set(owned).size).toBe(owned.length);
    expect([...owned, 'projection_checkpoints'].sort()).toEqual([...readModelTableNames].sort());
  });

  it('does nothing for an empty batch', async () => {
    const { db } = database;
    for (const projection of projections) await projection.applyBatch([], db);
    expect(await dumpTables(db, tables)).toEqual(Object.fromEntries(tables.map((t) => [t, []])));
  });

  it('refuses a change to a run it has never seen, naming the event', async () => {
    const ledger = new RecordingLedger();
    seedCommands('acme').forEach((cmd, i) => ledger.must(cmd, at(i * MINUTE)));
    const completion = ledger.events.find((e) => e.event.type === 'RunCompleted')!;
    await expect(runsProjection.applyBatch([completion], database.db)).rejects.toThrow(
      /RunCompleted at \d+\/\d+ changes runs row \(acme, run-001\)/,
    );
  });

  it('migrates the tables with their keys and indexes', async () => {
    const { rows } = await sql<{ tablename: string; indexdef: string }>`
      SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, indexname
    `.execute(database.db);
    const defs = rows.map((r) => r.indexdef.replace(/^CREATE (UNIQUE )?INDEX \S+ ON public\./, ''));
    expect(defs).toEqual(
      expect.arrayContaining([
        'balance_buckets USING btree (account_id, project_id)',
        'billing_accounts USING btree (account_id)',
        'account_projects USING btree (account_id, project_id)',
        'usage_ledger USING btree (event_id, entry_index)',
        'usage_ledger USING btree (account_id, occurred_at, position_commit, position_prepare, entry_index)',
        'usage_ledger USING btree (account_id, project_id, occurred_at, position_commit, position_prepare, entry_index)',
        'usage_ledger USING btree (account_id, position_commit, position_prepare, entry_index)',
        'usage_ledger USING btree (account_id, command_id)',
        'runs USING btree (account_id, run_id)',
        'runs USING btree (account_id, project_id)',
        'settlement_holds USING btree (account_id, hold_id)',
        'billing_events USING btree (event_id)',
        'billing_events USING btree (account_id, position_commit DESC, position_prepare DESC)',
        'projection_checkpoints USING btree (projection)',
      ]),
    );
  });
});
