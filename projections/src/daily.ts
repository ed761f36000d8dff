/**
 * The `daily` projection: how an account's figures got where they are. For every UTC day on which
 * an account had events, its buckets as they stood at the end of that day (daily_balances: the
 * account's row, project '', and a row per project it moved), with the credits consumed during the
 * day; and every subscription period it has had (subscription_periods), whose boundaries the
 * overview's charts mark.
 *
 * The buckets move exactly as the `balances` projection moves them: its handlers say what each
 * event does. An event's day is the UTC date of its command's decision (metadata.occurredAt), but
 * never earlier than the day of the stream's event before it: two API instances' clocks may differ
 * by a little, and a day once followed by a later one stays closed. With that rule a day's row is
 * exactly what a replay of the stream up to the end of that day gives (replay.ts, isWithin), and
 * the rows follow from the events alone. Days without events have no row: readers carry the last
 * row forward.
 */
import { shareBucketNames, zeroShareBuckets } from '@ledger/domain';
import { accountIdOfStream } from '@ledger/event-store';
import { sql, type Kysely, type Selectable } from 'kysely';
import { balanceHandlers, type BucketDelta } from './balances';
import type { Projection, ProjectedEvent } from './projection';
import type { DailyBalancesTable, ReadModelTables, SubscriptionPeriodsTable } from './read-models';
import { inSlices, keyOf, occurredAt, writeDocument, writesOf, writtenBy } from './shared';

export type DailyBalanceRow = Selectable<DailyBalancesTable>;
type PeriodRow = Selectable<SubscriptionPeriodsTable>;

/** The UTC day (YYYY-MM-DD) an event's command was decided on. */
export const utcDayOf = (recorded: ProjectedEvent): string => occurredAt(recorded).toISOString().slice(0, 10);

/** The project movements and the account movement one event makes, by the balances projection's rules. */
export function bucketMovesOf(recorded: ProjectedEvent): Map<string, BucketDelta> {
  const moves = new Map<string, BucketDelta>();
  for (const write of writesOf(balanceHandlers, recorded)) {
    if (write.table !== 'balance_buckets') continue;
    const moved: BucketDelta = { ...moves.get(write.projectId) };
    for (const name of shareBucketNames) {
      const by = write.delta[name];
      if (by !== undefined) moved[name] = (moved[name] ?? 0n) + by;
    }
    moves.set(write.projectId, moved);
  }
  return moves;
}

const availableMove = (d: BucketDelta): bigint =>
  (d.included ?? 0n) + (d.bonus ?? 0n) - (d.reserved ?? 0n) - (d.consumed ?? 0n) - (d.expired ?? 0n);

/**
 * The days of a batch: the latest row of each (account, project) — loaded, then carried — and
 * every row the batch wrote, keyed by (account, project, day).
 */
export class DailyFold {
  readonly written = new Map<string, DailyBalanceRow>();
  private readonly latest = new Map<string, DailyBalanceRow>();

  /** `loaded` is copied: a row of the day being written is changed in place. */
  constructor(loaded: Iterable<DailyBalanceRow> = []) {
    for (const row of loaded) this.latest.set(keyOf([row.account_id, row.project_id]), { ...row });
  }

  /** The latest row of each (account, project), keyed by keyOf([account, project]). */
  get latestRows(): ReadonlyMap<string, DailyBalanceRow> {
    return this.latest;
  }

  apply(recorded: ProjectedEvent): void {
    const accountId = accountIdOfStream(recorded.streamId);
    if (accountId === undefined) return;
    const before = this.latest.get(keyOf([accountId, '']))?.day;
    const own = utcDayOf(recorded);
    const day = before !== undefined && before > own ? before : own;
    const moves = bucketMovesOf(recorded);
    // Every event of the account marks its day, moving money or not: that is what keeps the days
    // of a stream in order.
    this.move(accountId, '', day, moves.get('') ?? {}, recorded);
    for (const [projectId, delta] of moves) if (projectId !== '') this.move(accountId, projectId, day, delta, recorded);
  }

  private move(accountId: string, projectId: string, day: string, delta: BucketDelta, at: ProjectedEvent): void {
    const key = keyOf([accountId, projectId]);
    const previous = this.latest.get(key);
    let row: DailyBalanceRow;
    if (previous && previous.day === day) {
      row = previous;
    } else {
      row = {
        account_id: accountId,
        project_id: projectId,
        day,
        ...(previous ? pickBuckets(previous) : zeroShareBuckets()),
        available: projectId === '' ? (previous?.available ?? 0n) : null,
        consumed_in_day: 0n,
        ...writtenBy(at),
      };
      this.latest.set(key, row);
    }
    for (const name of shareBucketNames) row[name] += delta[name] ?? 0n;
    if (row.available !== null) row.available += availableMove(delta);
    row.consumed_in_day += delta.consumed ?? 0n;
    Object.assign(row, writtenBy(at));
    this.written.set(keyOf([accountId, projectId, day]), row);
  }
}

const pickBuckets = (row: DailyBalanceRow) =>
  Object.fromEntries(shareBucketNames.map((name) => [name, row[name]])) as ReturnType<typeof zeroShareBuckets>;

const dailyColumns = [
  'account_id',
  'project_id',
  'day',
  ...shareBucketNames,
  'available',
  'consumed_in_day',
  'position_commit',
  'position_prepare',
] as const satisfies ReadonlyArray<keyof DailyBalanceRow>;

/**
 * The latest row of each (account, project) a batch moves: where its next day starts from. One
 * probe of the primary key's index per pair (its greatest day), however long the account's history.
 */
async function latestRows(db: Kysely<ReadModelTables>, keys: ReadonlyArray<readonly [string, string]>) {
  const found: DailyBalanceRow[] = [];
  for (const slice of inSlices(keys, 2)) {
    const rows = await db
      .selectFrom('daily_balances as d')
      .select([...dailyColumns.filter((column) => column !== 'day'), sql<string>`d.day::text`.as('day')])
      .where((eb) =>
        eb(
          eb.refTuple('d.account_id', 'd.project_id'),
          'in',
          slice.map(([account, project]) => eb.tuple(account, project)),
        ),
      )
      .where('d.day', '=', (eb) =>
        eb
          .selectFrom('daily_balances as m')
          .select((m) => m.fn.max('m.day').as('day'))
          .whereRef('m.account_id', '=', 'd.account_id')
          .whereRef('m.project_id', '=', 'd.project_id'),
      )
      .execute();
    for (const row of rows) {
      found.push({
        ...row,
        ...(Object.fromEntries(shareBucketNames.map((name) => [name, BigInt(row[name])])) as ReturnType<
          typeof zeroShareBuckets
        >),
        available: row.available === null ? null : BigInt(row.available),
        consumed_in_day: BigInt(row.consumed_in_day),
        position_commit: BigInt(row.position_commit),
        position_prepare: BigInt(row.position_prepare),
      });
    }
  }
  return found;
}

async function writeDays(db: Kysely<ReadModelTables>, rows: DailyBalanceRow[]): Promise<void> {
  if (rows.length === 0) return;
  const replaced = dailyColumns.filter((column) => !['account_id', 'project_id', 'day'].includes(column));
  await writeDocument(db, 'daily_balances', 'upsert', dailyColumns, rows, (insert) =>
    insert.onConflict((conflict) =>
      conflict
        .columns(['account_id', 'project_id', 'day'])
        .doUpdateSet(Object.fromEntries(replaced.map((column) => [column, sql.ref(`excluded.${column}`)]))),
    ),
  );
}

function periodOf(recorded: ProjectedEvent): PeriodRow | undefined {
  const { event } = recorded;
  if (event.type !== 'SubscriptionStarted' && event.type !== 'SubscriptionPeriodRenewed') return undefined;
  return {
    account_id: event.data.accountId,
    period_start: new Date(event.data.period.start),
    period_end: new Date(event.data.period.end),
    recorded_at: occurredAt(recorded),
    ...writtenBy(recorded),
  };
}

async function writePeriods(db: Kysely<ReadModelTables>, rows: PeriodRow[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  await writeDocument(db, 'subscription_periods', 'upsert', columns, rows, (insert) =>
    insert.onConflict((conflict) =>
      conflict.columns(['account_id', 'period_start']).doUpdateSet((eb) => ({
        period_end: eb.ref('excluded.period_end'),
        recorded_at: eb.ref('excluded.recorded_at'),
        position_commit: eb.ref('excluded.position_commit'),
        position_prepare: eb.ref('excluded.position_prepare'),
      })),
    ),
  );
}

export const dailyProjection: Projection = {
  name: 'daily',
  tables: ['daily_balances', 'subscription_periods'],
  async applyBatch(events, db, memory) {
    const keys = new Map<string, readonly [string, string]>();
    const remembered: DailyBalanceRow[] = [];
    for (const recorded of events) {
      const accountId = accountIdOfStream(recorded.streamId);
      if (accountId === undefined) continue;
      for (const projectId of ['', ...bucketMovesOf(recorded).keys()]) {
        const key = keyOf([accountId, projectId]);
        if (keys.has(key)) continue;
        keys.set(key, [accountId, projectId]);
        const row = memory?.recall('daily_balances', key) as DailyBalanceRow | undefined;
        if (row) remembered.push(row);
      }
    }
    for (const row of remembered) keys.delete(keyOf([row.account_id, row.project_id]));
    const fold = new DailyFold([...remembered, ...(await latestRows(db, [...keys.values()]))]);
    const periods = new Map<string, PeriodRow>();
    for (const recorded of events) {
      fold.apply(recorded);
      const period = periodOf(recorded);
      if (period) periods.set(keyOf([period.account_id, period.period_start.toISOString()]), period);
    }
    await writeDays(db, [...fold.written.values()]);
    await writePeriods(db, [...periods.values()]);
    // Copies: the fold's rows are its own to change, the memory's are never changed.
    for (const [key, row] of fold.latestRows) memory?.remember('daily_balances', key, { ...row });
  },
};
