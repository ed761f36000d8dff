/**
 * Write statements compiled once per shape. Batch after batch the projections send the same few
 * writes — an upsert or an insert of a table's rows from one JSON document, the totals' additions
 * from column arrays — whose text depends on the table, its columns and the schema the database
 * is bound to, never on the rows: only the parameters change. Building such an upsert with the
 * query builder and compiling it cost the projector more per batch than encoding the rows it
 * carries, so each shape is compiled once and then sent with every later batch's parameters.
 */
import { createQueryId, type Compilable, type CompiledQuery, type Kysely } from 'kysely';
import type { ReadModelTables } from './read-models';

const compiled = new Map<string, CompiledQuery>();
/** Shapes are few (tables × column sets × schemas); the bound only guards against a runaway caller. */
const MOST_SHAPES = 1_000;

/** How `db` names the table: bound to a schema (`withSchema`) it is qualified, so a shape is per schema. */
const tableNames = new WeakMap<Kysely<ReadModelTables>, Map<string, string>>();

function qualifiedName(db: Kysely<ReadModelTables>, table: string): string {
  // Nothing rewrites a statement of a database without plugins (the projector's): no probe needed.
  if (db.getExecutor().plugins.length === 0) return table;
  let names = tableNames.get(db);
  if (!names) tableNames.set(db, (names = new Map()));
  let name = names.get(table);
  if (name === undefined) {
    // A query, not a raw snippet: the schema binding qualifies the tables of queries only.
    name = (db as unknown as Kysely<Record<string, object>>).selectFrom(table).selectAll().compile().sql;
    names.set(table, name);
  }
  return name;
}

/**
 * Sends the statement `build` makes, which must take exactly `parameters`, in that order, and
 * whose text must follow from `table` and `shape` alone. The first time a shape is sent its
 * statement is built and compiled (and checked to carry those parameters); later ones reuse its
 * text with their own parameters.
 */
export async function executeShaped(
  db: Kysely<ReadModelTables>,
  table: string,
  shape: string,
  parameters: readonly unknown[],
  build: () => Compilable,
): Promise<void> {
  const key = `${qualifiedName(db, table)}\u0000${shape}`;
  const template = compiled.get(key);
  if (template) {
    await db.executeQuery({ query: template.query, queryId: createQueryId(), sql: template.sql, parameters });
    return;
  }
  const query = build().compile();
  if (query.parameters.length !== parameters.length || query.parameters.some((value, i) => value !== parameters[i])) {
    throw new Error(`the ${table} statement "${shape}" does not take exactly the parameters it was given`);
  }
  if (compiled.size >= MOST_SHAPES) compiled.clear();
  compiled.set(key, query);
  await db.executeQuery(query);
}
