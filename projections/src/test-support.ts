/**
 * What the projections' tests share: a ledger that decides commands with the real domain and
 * records their events the way the store does (encoded, positioned, with metadata), a database
 * with the read models, batch application, table dumps, and the checks that the read models
 * equal the domain's own fold.
 */
import { defined } from '../../test/support/defined';
import {
  bucketsOf,
  decide,
  evolve,
  initialState,
  parseCredits,
  shareBucketNames,
  zeroShareBuckets,
  type AccountState,
  type Credits,
  type Decision,
  type Instant,
  type LedgerCommand,
  type PlanTerms,
  type Principal,
  type ShareBuckets,
} from '@ledger/domain';
import { accountStreamId, toEventToAppend, type RecordedEvent } from '@ledger/event-store';
import { createKysely, createPool, migrate } from '@ledger/platform';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { readModelMigrations, readModelPrimaryKeys, readModelTableNames } from './migrations';
import { toProjectedEvent } from './projected-event';
import type { ProjectedEvent, Projection } from './projection';
import type { ReadModelTables } from './read-models';

/** Credits from a decimal string ("24" → 240000n). */
export function credits(text: string): Credits {
  const parsed = parseCredits(text, { positive: false });
  if (!parsed.ok) throw new Error(`test amount "${text}": ${parsed.message}`);
  return parsed.value;
}

export const SERVICE: Principal = { id: 'workflow-runner', role: 'service', accounts: '*' };

export function growthPlan(overrides: Partial<PlanTerms> = {}): PlanTerms {
  return {
    planId: 'growth-launch',
    name: 'Growth launch plan',
    includedCredits: credits('500'),
    capabilityBands: ['standard', 'advanced'],
    rateCard: [
      { action: 'workflow.run', capabilityBand: 'standard', minimumCost: credits('1') },
      { action: 'agent.run', capabilityBand: 'advanced', minimumCost: credits('0.5') },
    ],
    creditPriceFen: 100n,
    settlementThresholdFen: 10000n,
    ...overrides,
  };
}

/** A deterministic UUID, so that two recordings of one history carry the same ids. */
const uuid = (n: number, kind: number): string =>
  `00000000-0000-4000-8${kind.toString(16).padStart(3, '0')}-${n.toString(16).padStart(12, '0')}`;

/**
 * Several billing accounts, each decided and folded by the real domain. Accepted commands append
 * their events, each with a position after the last (one commit per command, as one append is one
 * transaction) and the command's metadata.
 */
export class RecordingLedger {
  readonly states = new Map<string, AccountState>();
  readonly events: ProjectedEvent[] = [];
  private commands = 0;

  state(accountId: string): AccountState {
    let state = this.states.get(accountId);
    if (!state) this.states.set(accountId, (state = initialState()));
    return state;
  }

  /** Decides the command at `now`; when accepted, folds and records its events. */
  send(command: LedgerCommand, now: Instant, principal: Principal = SERVICE): Decision {
    const state = this.state(command.accountId);
    const decision = decide(command, state, { principal, now });
    if (!decision.ok) return decision;
    const commandNumber = ++this.commands;
    const streamId = accountStreamId(command.accountId);
    decision.events.forEach((event, index) => {
      const sequence = this.events.length + 1;
      const appended = toEventToAppend(event, uuid(sequence, 1), {
        commandId: uuid(commandNumber, 2),
        commandType: command.type,
        idempotencyKey: `key-${commandNumber}`,
        requestHash: 'sha256:test',
        correlationId: uuid(commandNumber, 3),
        causationId: uuid(commandNumber, 2),
        principal: principal.id,
        occurredAt: now,
      });
      const recorded: RecordedEvent = {
        ...appended,
        streamId,
        revision: BigInt(this.streamLength(streamId)),
        // The Postgres store's (transaction id, sequence): one transaction per append.
        position: { commit: 1000n + BigInt(commandNumber), prepare: BigInt(sequence * 10 + index) },
      };
      this.events.push(toProjectedEvent(recorded));
      evolve(state, event);
    });
    return decision;
  }

  /** Like send, but a rejection is a broken test setup. */
  must(command: LedgerCommand, now: Instant, principal?: Principal): void {
    const decision = this.send(command, now, principal);
    if (!decision.ok) {
      throw new Error(`${command.type} was rejected: ${decision.rejection.code} ${decision.rejection.message}`);
    }
  }

  private streamLength(streamId: string): number {
    return this.events.filter((e) => e.streamId === streamId).length;
  }
}

export interface ReadModelDatabase {
  readonly db: Kysely<ReadModelTables>;
  close(): Promise<void>;
}

export async function openReadModelDatabase(): Promise<ReadModelDatabase> {
  const database: TestDatabase = await createTestDatabase();
  const pool: pg.Pool = createPool(database.url, { max: 4 });
  const db = createKysely<ReadModelTables>(pool);
  await migrate(db, readModelMigrations);
  return {
    db,
    async close() {
      await db.destroy();
      await database.drop();
    },
  };
}

/**
 * Feeds the events to each projection in batches, each batch in its own transaction as the
 * projector commits it. `sizes` are the batch sizes, used in turn (and repeated).
 */
export async function applyInBatches(
  db: Kysely<ReadModelTables>,
  projections: readonly Projection[],
  events: readonly ProjectedEvent[],
  sizes: readonly number[],
  schema?: string,
): Promise<number> {
  let batches = 0;
  for (const projection of projections) {
    let start = 0;
    let turn = 0;
    while (start < events.length) {
      const size = Math.max(1, defined(sizes[turn++ % sizes.length]));
      const batch = events.slice(start, start + size);
      await db.transaction().execute((tx) => projection.applyBatch(batch, schema ? tx.withSchema(schema) : tx));
      start += size;
      batches++;
    }
  }
  return batches;
}

/** Every row of a table, in primary-key order. */
export async function dumpTable(
  db: Kysely<ReadModelTables>,
  table: keyof ReadModelTables,
  schema = 'public',
): Promise<Record<string, unknown>[]> {
  const order = sql.join(readModelPrimaryKeys[table].map((column) => sql.ref(column)));
  const { rows } = await sql<Record<string, unknown>>`
    SELECT * FROM ${sql.table(`${schema}.${table}`)} ORDER BY ${order}
  `.execute(db);
  return rows;
}

export async function dumpTables(
  db: Kysely<ReadModelTables>,
  tables: readonly (keyof ReadModelTables)[],
  schema = 'public',
): Promise<Record<string, Record<string, unknown>[]>> {
  const dump: Record<string, Record<string, unknown>[]> = {};
  for (const table of tables) dump[table] = await dumpTable(db, table, schema);
  return dump;
}

export async function truncateReadModels(db: Kysely<ReadModelTables>, schema = 'public'): Promise<void> {
  const tables = sql.join(readModelTableNames.map((table) => sql.table(`${schema}.${table}`)));
  await sql`TRUNCATE ${tables}`.execute(db);
}

const MONEY_MOVING = new Set([
  'CreditsGranted',
  'CreditsBecameEffective',
  'CreditsReserved',
  'CreditsConsumed',
  'ReservationReleased',
  'CreditsExpired',
  'CommercialExceptionRecorded',
  'SettlementHoldPlaced',
  'SettlementHoldReleased',
]);

type BucketFigures = ShareBuckets;
const zeroFigures = zeroShareBuckets;
const figureNames = shareBucketNames;

/**
 * Each project's share, from the domain rather than from the projection's rules: reserved,
 * consumed and held from the folded runs and holds; granted and expired from the grant events
 * naming the project. The '' entry collects grants and expiries that name no project.
 */
export function projectSharesOf(ledger: RecordingLedger, accountId: string): Map<string, BucketFigures> {
  const state = ledger.state(accountId);
  const shares = new Map<string, BucketFigures>();
  const share = (projectId: string | null) => {
    const key = projectId ?? '';
    if (!shares.has(key)) shares.set(key, zeroFigures());
    return shares.get(key)!;
  };
  for (const projectId of state.projects.keys()) share(projectId);
  for (const run of state.runs.values()) {
    share(run.projectId).reserved += run.reserved;
    share(run.projectId).consumed += run.consumed;
  }
  for (const hold of state.holds.values()) if (hold.status === 'held') share(hold.projectId).hold += hold.amount;
  for (const { event } of ledger.events) {
    if (event.data.accountId !== accountId) continue;
    // a grant's credits count from the moment they take effect
    if (
      (event.type === 'CreditsGranted' && event.data.effectiveAt === null) ||
      event.type === 'CreditsBecameEffective'
    ) {
      share(event.data.projectId)[event.data.source === 'plan_included' ? 'included' : 'bonus'] += event.data.amount;
    } else if (event.type === 'CreditsExpired') {
      share(event.data.projectId).expired += event.data.amount;
    }
  }
  return shares;
}

/**
 * The usage ledger's sums, computed in SQL: per account (project_id ''), per project, and for the
 * rows that name no project (project_id null).
 */
async function ledgerSums(db: Kysely<ReadModelTables>) {
  const total = (condition: ReturnType<typeof sql>) =>
    sql<bigint>`coalesce(sum(amount) filter (where ${condition}), 0)::bigint`;
  const of = (...kinds: string[]) => total(sql`kind in (${sql.join(kinds)})`);
  const { rows } = await sql<BucketFigures & { account_id: string; project_id: string | null; available: bigint }>`
    SELECT account_id,
           CASE WHEN grouping(project_id) = 1 THEN '' ELSE project_id END AS project_id,
           ${total(sql`kind = 'grant' and grant_source = 'plan_included'`)} AS included,
           ${total(sql`kind = 'grant' and grant_source <> 'plan_included'`)} AS bonus,
           ${of('reservation')} - ${of('release', 'consumption')} AS reserved,
           ${of('consumption', 'overrun')} AS consumed,
           ${of('hold_placed')} - ${of('hold_released')} AS hold,
           ${of('expiry')} AS expired,
           ${of('grant', 'release')} - ${of('reservation', 'overrun', 'expiry')} AS available
      FROM usage_ledger
     GROUP BY GROUPING SETS ((account_id), (account_id, project_id))
  `.execute(db);
  return rows;
}

/**
 * Every promise the read models make about one recorded history, checked against the domain's
 * fold of the same events.
 */
export async function verifyReadModels(db: Kysely<ReadModelTables>, ledger: RecordingLedger): Promise<void> {
  const buckets = await db.selectFrom('balance_buckets').selectAll().execute();
  const bucketRow = (accountId: string, projectId: string) =>
    buckets.find((row) => row.account_id === accountId && row.project_id === projectId);

  for (const [accountId, state] of ledger.states) {
    if (state.status === 'unopened') continue;
    const expected = bucketsOf(state);

    // The account row is the domain's fold.
    const accountRow = bucketRow(accountId, '');
    expect(accountRow && { ...pick(accountRow, figureNames), available: accountRow.available }).toEqual(expected);

    // Each project row is that project's share; with what no project was named for, they add up to the account.
    const shares = projectSharesOf(ledger, accountId);
    const projectRows = buckets.filter((row) => row.account_id === accountId && row.project_id !== '');
    expect(projectRows.map((row) => row.project_id).sort()).toEqual([...state.projects.keys()].sort());
    for (const row of projectRows) {
      expect(row.available).toBeNull();
      expect(pick(row, figureNames)).toEqual(shares.get(row.project_id));
    }
    for (const name of figureNames) {
      const projectsTotal = projectRows.reduce((total, row) => total + row[name], 0n);
      const unattributed = shares.get('')?.[name] ?? 0n;
      expect([name, projectsTotal + unattributed]).toEqual([name, expected[name]]);
      if (name === 'reserved' || name === 'consumed' || name === 'hold') expect(unattributed).toBe(0n);
    }
  }

  // alerts (issue #17): each rule's row is the domain's rule; one firing row per alert event.
  const ruleRows = await db.selectFrom('alert_rules').selectAll().where('status', '=', 'active').execute();
  const expectedRules = [...ledger.states].flatMap(([accountId, state]) =>
    [...state.alertRules.values()].map((rule) => [accountId, rule.ruleId, rule.kind, rule.threshold, rule.firing]),
  );
  const sortRules = (rows: unknown[][]) => rows.map((row) => JSON.stringify(row)).sort();
  expect(sortRules(ruleRows.map((r) => [r.account_id, r.rule_id, r.kind, r.threshold, r.firing]))).toEqual(
    sortRules(expectedRules),
  );
  const firingRows = await db.selectFrom('alert_firings').select(['event_id', 'status']).execute();
  const alertEvents = ledger.events.filter((e) => e.event.type === 'AlertFired' || e.event.type === 'AlertCleared');
  expect(firingRows.map((row) => `${row.event_id} ${row.status}`).sort()).toEqual(
    alertEvents.map((e) => `${e.metadata.eventId} ${e.event.type === 'AlertFired' ? 'fired' : 'cleared'}`).sort(),
  );

  // The usage ledger: every row names a recorded event, every money movement has its rows.
  const ledgerRows = await db
    .selectFrom('usage_ledger')
    .selectAll()
    .orderBy('position_commit')
    .orderBy('position_prepare')
    .orderBy('entry_index')
    .execute();
  const byId = new Map(ledger.events.map((e) => [e.metadata.eventId, e]));
  const rowsPerEvent = new Map<string, number[]>();
  for (const row of ledgerRows) {
    const recorded = byId.get(row.event_id);
    expect(recorded).toBeDefined();
    expect(row.event_type).toBe(recorded!.event.type);
    expect(row.account_id).toBe(recorded!.event.data.accountId);
    expect(row.position_commit).toBe(recorded!.position.commit);
    expect(row.position_prepare).toBe(recorded!.position.prepare);
    expect(row.stream_revision).toBe(recorded!.revision);
    expect(row.occurred_at.toISOString()).toBe(recorded!.metadata.occurredAt);
    rowsPerEvent.set(row.event_id, [...(rowsPerEvent.get(row.event_id) ?? []), row.entry_index]);
  }
  for (const recorded of ledger.events) {
    const indexes = rowsPerEvent.get(recorded.metadata.eventId) ?? [];
    // a scheduled grant moves nothing until it takes effect
    const scheduled = recorded.event.type === 'CreditsGranted' && recorded.event.data.effectiveAt !== null;
    if (MONEY_MOVING.has(recorded.event.type) && !scheduled) {
      expect([recorded.event.type, indexes.length > 0]).toEqual([recorded.event.type, true]);
    } else {
      expect([recorded.event.type, indexes]).toEqual([recorded.event.type, []]);
    }
    expect(indexes).toEqual(indexes.map((_, i) => i));
  }

  // Summing the ledger by kind reproduces every bucket, of the account and of each project.
  const sums = await ledgerSums(db);
  for (const { account_id, project_id, available, ...figures } of sums) {
    if (project_id === null) {
      // Grants and expiries that name no project: they move only the account's row.
      expect([account_id, figures.reserved, figures.consumed, figures.hold]).toEqual([account_id, 0n, 0n, 0n]);
      continue;
    }
    const row = bucketRow(account_id, project_id);
    expect({ account_id, project_id, ...figures }).toEqual({ account_id, project_id, ...pick(row!, figureNames) });
    if (project_id === '') expect(available).toBe(row!.available);
  }
  for (const row of buckets) {
    const summed = sums.some((s) => s.account_id === row.account_id && s.project_id === row.project_id);
    // A row without ledger rows is one nothing has moved yet.
    if (!summed) expect(pick(row, figureNames)).toEqual(zeroFigures());
  }

  // The last row of each account shows the account's available credits.
  for (const [accountId, state] of ledger.states) {
    const rows = ledgerRows.filter((row) => row.account_id === accountId);
    if (rows.length > 0) expect(rows[rows.length - 1]?.available_after).toBe(bucketsOf(state).available);
  }

  // Runs and holds are the domain's.
  const runs = await db.selectFrom('runs').selectAll().execute();
  const holds = await db.selectFrom('settlement_holds').selectAll().execute();
  for (const [accountId, state] of ledger.states) {
    const accountRuns = runs.filter((row) => row.account_id === accountId);
    expect(accountRuns.map((row) => row.run_id).sort()).toEqual([...state.runs.keys()].sort());
    for (const row of accountRuns) {
      const run = state.runs.get(row.run_id)!;
      expect({
        project: row.project_id,
        status: row.status,
        estimated: row.estimated_cost,
        reserved: row.reserved,
        consumed: row.consumed,
        held: row.held,
        actual: row.actual_cost,
        finished: row.finished_at !== null,
      }).toEqual({
        project: run.projectId,
        status: run.status,
        estimated: run.estimatedCost,
        reserved: run.reserved,
        consumed: run.consumed,
        held: run.held,
        actual: run.actualCost,
        finished: run.status !== 'accepted',
      });
    }
    expect(accountRuns.reduce((total, row) => total + row.shortfall, 0n)).toBe(state.shortfall);

    const accountHolds = holds.filter((row) => row.account_id === accountId);
    expect(accountHolds.map((row) => row.hold_id).sort()).toEqual([...state.holds.keys()].sort());
    for (const row of accountHolds) {
      const hold = state.holds.get(row.hold_id)!;
      expect([row.run_id, row.project_id, row.provider, row.amount, row.status, row.released_at !== null]).toEqual([
        hold.runId,
        hold.projectId,
        hold.provider,
        hold.amount,
        hold.status,
        hold.status !== 'held',
      ]);
    }
  }

  // Each grant's credits are where the domain's grants have them.
  const grants = await db.selectFrom('credit_grants').selectAll().execute();
  for (const [accountId, state] of ledger.states) {
    const accountGrants = grants.filter((row) => row.account_id === accountId);
    expect(accountGrants.map((row) => row.grant_id).sort()).toEqual([...state.grantIds].sort());
    for (const row of accountGrants) {
      const parts = { free: row.free, reserved: row.reserved, consumed: row.consumed, expired: row.expired };
      const live = state.grants.get(row.grant_id);
      if (live) {
        expect([row.status, parts]).toEqual([
          'effective',
          { free: live.free, reserved: live.reserved, consumed: live.consumed, expired: live.expired },
        ]);
      } else if (state.scheduledGrants.has(row.grant_id)) {
        expect([row.status, parts]).toEqual(['scheduled', { free: 0n, reserved: 0n, consumed: 0n, expired: 0n }]);
      } else {
        // spent or lapsed: the domain dropped it, every credit consumed or expired
        expect([row.status, row.free, row.reserved, row.consumed + row.expired]).toEqual([
          'effective',
          0n,
          0n,
          row.amount,
        ]);
      }
    }
  }

  // The posture and the projects are the domain's.
  const accounts = await db.selectFrom('billing_accounts').selectAll().execute();
  const projects = await db.selectFrom('account_projects').selectAll().execute();
  for (const [accountId, state] of ledger.states) {
    const row = accounts.find((a) => a.account_id === accountId);
    if (state.status === 'unopened') {
      expect(row).toBeUndefined();
      continue;
    }
    const plan = state.subscription?.plan;
    expect(row && [row.name, row.status, row.plan_id, row.capability_bands, row.included_per_period]).toEqual([
      state.name,
      state.status,
      plan?.planId ?? null,
      plan?.capabilityBands ?? [],
      plan?.includedCredits ?? null,
    ]);
    expect(row!.period_end?.toISOString() ?? null).toBe(state.subscription?.period.end ?? null);
    expect(
      projects
        .filter((p) => p.account_id === accountId)
        .map((p) => [p.project_id, p.name])
        .sort(),
    ).toEqual([...state.projects].map(([id, { name }]) => [id, name]).sort());
  }

  // The totals the overview reads are the counts of what they total.
  const key = (accountId: string, projectId: string | null) => `${accountId}/${projectId ?? ''}`;
  const expectedRuns = new Map<string, { accepted: bigint; open: bigint }>();
  for (const [accountId, state] of ledger.states) {
    for (const run of state.runs.values()) {
      for (const scope of [key(accountId, ''), key(accountId, run.projectId)]) {
        const total = expectedRuns.get(scope) ?? { accepted: 0n, open: 0n };
        total.accepted += 1n;
        if (run.status === 'accepted') total.open += 1n;
        expectedRuns.set(scope, total);
      }
    }
  }
  const runTotals = await db.selectFrom('run_totals').selectAll().execute();
  expect(
    new Map(runTotals.map((row) => [key(row.account_id, row.project_id), { accepted: row.accepted, open: row.open }])),
  ).toEqual(expectedRuns);
  const expectedUsage = new Map<string, { rows: bigint; last: Date }>();
  for (const row of ledgerRows) {
    for (const scope of row.project_id === null
      ? [key(row.account_id, '')]
      : [key(row.account_id, ''), key(row.account_id, row.project_id)]) {
      const total = expectedUsage.get(scope) ?? { rows: 0n, last: row.occurred_at };
      total.rows += 1n;
      if (row.occurred_at > total.last) total.last = row.occurred_at;
      expectedUsage.set(scope, total);
    }
  }
  const usageTotals = await db.selectFrom('usage_totals').selectAll().execute();
  expect(
    new Map(
      usageTotals.map((row) => [key(row.account_id, row.project_id), { rows: row.rows, last: row.last_movement_at }]),
    ),
  ).toEqual(expectedUsage);
}

function pick<T extends object, K extends keyof T>(row: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((key) => [key, row[key]])) as Pick<T, K>;
}
