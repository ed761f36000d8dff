/**
 * Running totals kept beside a projection's rows (runs per account, ledger rows per account), so
 * the overview reads a handful of counters by key instead of counting a history that only grows.
 * Each total has an account row (project_id '') and a row per project. A batch sums its changes
 * per row in memory and adds them with one upsert per table.
 */
import { sql, type Kysely } from 'kysely';
import type { ProjectedEvent } from './projection';
import type { ReadModelTables } from './read-models';
import { keyOf, writtenBy } from './shared';
import { executeShaped } from './statements';

type TotalsTableName = 'run_totals' | 'usage_totals';

/** A totals table: which columns are sums of deltas, and which keep the latest (greatest) value. */
export interface TotalsTable<Sums extends string, Latest extends string> {
  readonly name: TotalsTableName;
  readonly sums: readonly Sums[];
  readonly latest: readonly Latest[];
  /** The SQL type of each latest column, for the upsert's arrays. */
  readonly latestTypes: Readonly<Record<Latest, string>>;
}

interface TotalsRow<Sums extends string, Latest extends string> {
  account_id: string;
  project_id: string;
  sums: Record<Sums, bigint>;
  latest: Partial<Record<Latest, Date>>;
  position_commit: bigint;
  position_prepare: bigint;
}

export class BatchTotals<Sums extends string, Latest extends string> {
  private readonly rows = new Map<string, TotalsRow<Sums, Latest>>();

  constructor(private readonly table: TotalsTable<Sums, Latest>) {}

  /** Adds to the account's row and, when the change belongs to a project, to that project's row. */
  add(
    accountId: string,
    projectId: string | null,
    sums: Partial<Record<Sums, bigint>>,
    at: ProjectedEvent,
    latest: Partial<Record<Latest, Date>> = {},
  ): void {
    this.addTo(accountId, '', sums, latest, at);
    if (projectId !== null) this.addTo(accountId, projectId, sums, latest, at);
  }

  private addTo(
    accountId: string,
    projectId: string,
    sums: Partial<Record<Sums, bigint>>,
    latest: Partial<Record<Latest, Date>>,
    at: ProjectedEvent,
  ): void {
    const key = keyOf([accountId, projectId]);
    let row = this.rows.get(key);
    if (!row) {
      const zero = Object.fromEntries(this.table.sums.map((name) => [name, 0n])) as Record<Sums, bigint>;
      row = { account_id: accountId, project_id: projectId, sums: zero, latest: {}, ...writtenBy(at) };
      this.rows.set(key, row);
    }
    for (const name of this.table.sums) row.sums[name] += sums[name] ?? 0n;
    for (const name of this.table.latest) {
      const value = latest[name];
      const current = row.latest[name];
      if (value && (!current || value > current)) row.latest[name] = value;
    }
    Object.assign(row, writtenBy(at));
  }

  /** One upsert: new rows are inserted, existing ones get the sums added and the greater latest values. */
  async write(db: Kysely<ReadModelTables>): Promise<void> {
    if (this.rows.size === 0) return;
    const rows = [...this.rows.values()];
    const { sums, latest, latestTypes } = this.table;
    const columns: Array<[string, string, unknown[]]> = [
      ['account_id', 'text', rows.map((row) => row.account_id)],
      ['project_id', 'text', rows.map((row) => row.project_id)],
      ...sums.map((name): [string, string, unknown[]] => [name, 'bigint', rows.map((row) => row.sums[name])]),
      ...latest.map((name): [string, string, unknown[]] => [
        name,
        latestTypes[name],
        rows.map((row) => row.latest[name] ?? null),
      ]),
      ['position_commit', 'bigint', rows.map((row) => row.position_commit)],
      ['position_prepare', 'bigint', rows.map((row) => row.position_prepare)],
    ];
    // The table is chosen at run time; TotalsTable keeps the column names honest.
    const untyped = db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    const table = this.table.name;
    await executeShaped(
      db,
      table,
      'add',
      columns.map(([, , values]) => values),
      () =>
        untyped
          .insertInto(table)
          .columns(columns.map(([name]) => name))
          .expression(
            sql`SELECT * FROM unnest(${sql.join(columns.map(([, type, values]) => sql`${values}::${sql.raw(type)}[]`))})`,
          )
          .onConflict((conflict) =>
            conflict.columns(['account_id', 'project_id']).doUpdateSet((eb) => ({
              ...Object.fromEntries(
                sums.map((name) => [name, sql`${eb.ref(`${table}.${name}`)} + ${eb.ref(`excluded.${name}`)}`]),
              ),
              ...Object.fromEntries(
                latest.map((name) => [
                  name,
                  sql`GREATEST(${eb.ref(`${table}.${name}`)}, ${eb.ref(`excluded.${name}`)})`,
                ]),
              ),
              position_commit: eb.ref('excluded.position_commit'),
              position_prepare: eb.ref('excluded.position_prepare'),
            })),
          ),
    );
  }
}

export const runTotals: TotalsTable<'accepted' | 'open', never> = {
  name: 'run_totals',
  sums: ['accepted', 'open'],
  latest: [],
  latestTypes: {},
};

export const usageTotals: TotalsTable<'rows', 'last_movement_at'> = {
  name: 'usage_totals',
  sums: ['rows'],
  latest: ['last_movement_at'],
  latestTypes: { last_movement_at: 'timestamptz' },
};
