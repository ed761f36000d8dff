/**
 * What the projections share: dispatching an event to its handler, the position and time a
 * row is stamped with, folding many writes to one row into its latest state, and multi-row
 * statements cut to Postgres's parameter limit.
 */
import type { EventOf, EventType } from '@ledger/domain';
import { sql, type Compilable, type InsertQueryBuilder, type InsertResult, type Kysely } from 'kysely';
import type { RowRecall } from './memory';
import { executeShaped } from './statements';
import type { ProjectedEvent } from './projection';
import type { ReadModelTables } from './read-models';

/** One handler per event type a projection cares about: the event's data (and its record) → writes. */
export type Handlers<Write> = {
  readonly [T in EventType]?: (data: EventOf<T>['data'], recorded: ProjectedEvent) => Write[];
};

/** The writes one event makes, or none when the projection ignores its type. */
export function writesOf<Write>(handlers: Handlers<Write>, recorded: ProjectedEvent): Write[] {
  const handler = handlers[recorded.event.type] as
    | ((data: ProjectedEvent['event']['data'], recorded: ProjectedEvent) => Write[])
    | undefined;
  return handler ? handler(recorded.event.data, recorded) : [];
}

export interface WrittenAt {
  position_commit: bigint;
  position_prepare: bigint;
}

/** The position columns of a row last written by this event. */
export const writtenBy = (recorded: ProjectedEvent): WrittenAt => ({
  position_commit: recorded.position.commit,
  position_prepare: recorded.position.prepare,
});

/** When the event's command was decided: the time every read model shows for it. */
export const occurredAt = (recorded: ProjectedEvent): Date => new Date(recorded.metadata.occurredAt);

/**
 * Appends rows with one statement whatever their number, as one JSON document (encodeDocument,
 * fromDocument) that Postgres reads into the table's own row type. A multi-row VALUES list of
 * thousands of rows costs the driver and Postgres far more to build, parse and plan (the usage
 * projection spent most of a rebuild there). Column arrays for unnest cost Postgres about the
 * same, but the driver writes every element of an array parameter through an escaping function:
 * in the lag benchmark the document cost the projector about a tenth less per batch. `columns`
 * names every column of the row: a column added to the table type and not here fails the type
 * check, not silently.
 */
export type RowColumns<Row> = { readonly [K in keyof Row & string]: true };

export async function insertRows<T extends keyof ReadModelTables, Row extends Record<string, unknown>>(
  db: Kysely<ReadModelTables>,
  table: T,
  columns: RowColumns<Row>,
  rows: readonly Row[],
): Promise<void> {
  if (rows.length === 0) return;
  await writeDocument(db, table, 'insert', Object.keys(columns), rows);
}

type AnyTables = Record<string, Record<string, unknown>>;
/** An insert of a document's rows, for `writeDocument`'s caller to finish (an ON CONFLICT clause). */
export type DocumentInsert = InsertQueryBuilder<AnyTables, string, InsertResult>;

/**
 * Writes `rows` into `table` from one JSON document (encodeDocument, fromDocument), the statement
 * compiled once per kind and column list (statements.ts); `finish` turns the insert into the
 * kind's upsert. `kind` names what `finish` does: the statement's text follows from it, the table
 * and the columns alone.
 */
export async function writeDocument(
  db: Kysely<ReadModelTables>,
  table: keyof ReadModelTables & string,
  kind: string,
  columns: readonly string[],
  rows: readonly object[],
  finish: (insert: DocumentInsert) => Compilable = (insert) => insert,
): Promise<void> {
  const document = encodeDocument(table, columns, rows);
  // The table is chosen at run time; each caller's row type keeps the column names honest.
  const untyped = db as unknown as Kysely<AnyTables>;
  await executeShaped(db, table, `${kind} ${columns.join(',')}`, [document], () =>
    finish(
      untyped
        .insertInto(table)
        .columns([...columns])
        .expression(fromDocument(table, columns, document)),
    ),
  );
}

/** Postgres takes at most 65535 parameters per statement; stay well below it. */
const MAX_PARAMETERS = 60_000;

/** Rows in slices small enough for one multi-row statement each. */
export function inSlices<T>(rows: readonly T[], columnsPerRow: number): T[][] {
  const size = Math.max(1, Math.floor(MAX_PARAMETERS / columnsPerRow));
  const slices: T[][] = [];
  for (let start = 0; start < rows.length; start += size) slices.push(rows.slice(start, start + size));
  return slices;
}

type CounterKeys<Row> = { [K in keyof Row]: Row[K] extends bigint ? K : never }[keyof Row];

/**
 * A change to one row of a latest-state table: create it, set fields, add to counters — or any
 * of these, applied in that order. `id` is the row's primary key, in column order.
 */
export interface RowPatch<Row> {
  readonly id: readonly string[];
  readonly create?: Row;
  readonly set?: Partial<Row>;
  readonly add?: Partial<Record<CounterKeys<Row>, bigint>>;
  readonly at: ProjectedEvent;
}

export const keyOf = (id: readonly string[]): string => id.join('\u0000');

/** The ids of rows a batch changes without creating them first: those must be read before folding. */
export function idsToLoad<Row>(patches: readonly RowPatch<Row>[]): string[][] {
  const seen = new Map<string, readonly string[]>();
  const created = new Set<string>();
  for (const patch of patches) {
    const key = keyOf(patch.id);
    if (patch.create && !seen.has(key)) created.add(key);
    if (!seen.has(key)) seen.set(key, patch.id);
  }
  return [...seen].filter(([key]) => !created.has(key)).map(([, id]) => [...id]);
}

/**
 * Folds a batch's patches, in order, onto the rows as they stood before it (`existing`, keyed by
 * `keyOf`): the latest state of every row the batch touched, each stamped with the position of
 * the event that last changed it.
 */
export function foldPatches<Row extends WrittenAt>(
  patches: readonly RowPatch<Row>[],
  existing: ReadonlyMap<string, Row>,
  table: string,
): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const patch of patches) {
    const key = keyOf(patch.id);
    let row = patch.create ? { ...patch.create } : rows.get(key);
    if (!row) {
      const before = existing.get(key);
      if (!before) {
        throw new Error(
          `${patch.at.event.type} at ${patch.at.position.commit}/${patch.at.position.prepare} changes ${table} ` +
            `row (${patch.id.join(', ')}), which the read model does not have`,
        );
      }
      row = { ...before };
    }
    if (patch.set) Object.assign(row, patch.set);
    for (const [column, amount] of Object.entries(patch.add ?? {}) as Array<[keyof Row, bigint]>) {
      (row[column] as bigint) = (row[column] as bigint) + amount;
    }
    Object.assign(row, writtenBy(patch.at));
    rows.set(key, row);
  }
  return rows;
}

/** A latest-state table: its name and its primary key's columns, in the order of a patch's `id`. */
export interface LatestStateTable<Row> {
  readonly name: 'billing_accounts' | 'runs' | 'settlement_holds' | 'credit_grants' | 'alert_rules';
  readonly key: ReadonlyArray<keyof Row & string>;
  /** Columns Postgres computes (GENERATED ALWAYS): they come back with a loaded row and are never written. */
  readonly generated?: readonly string[];
  /** How a loaded row becomes an insertable one (e.g. jsonb read back as an object, written as text). */
  readonly fromLoaded?: (row: Row) => Row;
  /** How a row goes into the JSON document it is written from (e.g. jsonb kept as text, as an object). */
  readonly toDocument?: (row: Row) => object;
}

/**
 * Applies a batch's patches to a latest-state table: reads the rows it changes but did not create,
 * folds the patches onto them, and writes each touched row once (insert, or replace every column).
 */
export async function applyPatches<Row extends WrittenAt>(
  db: Kysely<ReadModelTables>,
  table: LatestStateTable<Row>,
  patches: readonly RowPatch<Row>[],
  memory?: RowRecall,
): Promise<void> {
  if (patches.length === 0) return;
  // The table is chosen at run time; the row types above keep the values honest.
  const untyped = db as unknown as Kysely<AnyTables>;
  const existing = new Map<string, Row>();
  const unknown: string[][] = [];
  for (const id of idsToLoad(patches)) {
    const remembered = memory?.recall(table.name, keyOf(id)) as Row | undefined;
    if (remembered) existing.set(keyOf(id), remembered);
    else unknown.push(id);
  }
  const key = sql.join(table.key.map((column) => sql.ref(column)));
  for (const slice of inSlices(unknown, table.key.length)) {
    const loaded = (await untyped
      .selectFrom(table.name)
      .selectAll()
      .where(sql<boolean>`(${key}) IN (${sql.join(slice.map((id) => sql`(${sql.join(id)})`))})`)
      .execute()) as unknown as Row[];
    for (const row of loaded) {
      for (const column of table.generated ?? []) delete (row as Record<string, unknown>)[column];
      existing.set(keyOf(table.key.map((column) => String(row[column]))), table.fromLoaded?.(row) ?? row);
    }
  }
  const folded = foldPatches(patches, existing, table.name);
  const rows = [...folded.values()];
  const [first] = rows;
  if (!first) return;
  const columns = Object.keys(first);
  const replaced = columns.filter((column) => !(table.key as readonly string[]).includes(column));
  await writeDocument(
    db,
    table.name,
    'upsert',
    columns,
    rows.map((row) => table.toDocument?.(row) ?? row),
    (insert) =>
      insert.onConflict((conflict) =>
        conflict
          .columns([...table.key])
          .doUpdateSet(Object.fromEntries(replaced.map((column) => [column, sql.ref(`excluded.${column}`)]))),
      ),
  );
  for (const [rowKey, row] of folded) memory?.remember(table.name, rowKey, row);
}

/**
 * Rows as one JSON document, read back into the table's own row type by Postgres
 * (json_populate_recordset, see fromDocument). Every row must carry every one of `columns` (a
 * missing one would be written as null, not its default). Money stays exact: a bigint is written
 * as a decimal string, which Postgres reads into the bigint column. The rows are flat, so they are
 * written value by value: JSON.stringify with a replacer for the bigints visits every value
 * through a callback and cost twice as much.
 */
export function encodeDocument(table: string, columns: readonly string[], rows: readonly object[]): string {
  const keys = columns.map((column) => `${JSON.stringify(column)}:`);
  let document = '[';
  for (const [i, row] of rows.entries()) {
    if (Object.keys(row).length !== columns.length) {
      throw new Error(`${table}: rows of one write must all carry the same ${columns.length} columns`);
    }
    const values = row as Record<string, unknown>;
    document += i === 0 ? '{' : ',{';
    for (const [c, column] of columns.entries()) document += `${c === 0 ? '' : ','}${keys[c]}${jsonOf(values[column])}`;
    document += '}';
  }
  return `${document}]`;
}

/** One value as JSON.stringify writes it, bigints as decimal strings. */
function jsonOf(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'bigint':
      return `"${value.toString()}"`;
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'null';
    default:
      if (value === null) return 'null';
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'null' : `"${value.toISOString()}"`;
      return JSON.stringify(value, (_key, nested: unknown) =>
        typeof nested === 'bigint' ? nested.toString() : nested,
      );
  }
}

/**
 * The rows of `document` (encodeDocument) as the table's own row type (json_populate_recordset):
 * the column types come from the table itself, the statement has one parameter whatever the number
 * of rows, and its text stays the same. A multi-row VALUES list costs the driver and Postgres far
 * more to build, send, parse and plan; the projector sends a batch's writes as one statement, so
 * this is most of what a batch costs.
 */
export function fromDocument(table: string, columns: readonly string[], document: string) {
  return sql`SELECT ${sql.join(columns.map((column) => sql.ref(column)))}
    FROM json_populate_recordset(NULL::${sql.table(table)}, ${document}::json)`;
}
