/**
 * Statements prepared once per connection. Postgres parses, analyses and plans every statement it
 * is sent as text; for the projector's one big statement per batch (a data-modifying CTE per read
 * model, ~7 KB of SQL) that was 40% of the statement's server CPU, paid again every batch.
 * Prepared under a name, the connection keeps the parsed statement and its plan, and later
 * batches send only their parameters.
 *
 * Kysely passes a statement to pg as text and parameters only, so the name travels in the text:
 * `preparedStatement` prefixes it with a marker comment, and the pool kysely is given
 * (`preparingPool`) sends a marked statement under its name. The name is a hash of the text, so
 * one name never stands for two texts (pg refuses that), and a statement that is not marked goes
 * out exactly as before.
 */
import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

const MARK = '/* prepared as ';
const MARK_END = ' */\n';

/**
 * Each connection keeps every statement prepared on it until it closes, so only statements whose
 * text comes from a handful of shapes may be marked; past this many distinct texts the process is
 * not doing that, and further texts go out unprepared.
 */
const MOST_STATEMENTS = 256;
const marked = new Map<string, string>();

/** `text`, marked to be prepared once on each connection that runs it (when sent through `preparingPool`). */
export function preparedStatement(text: string): string {
  let statement = marked.get(text);
  if (statement === undefined) {
    if (marked.size >= MOST_STATEMENTS) return text;
    const name = `ledger-${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    statement = `${MARK}${name}${MARK_END}${text}`;
    marked.set(text, statement);
  }
  return statement;
}

/** The name a marked statement is prepared under; undefined for any other text. */
export function preparedName(sql: string): string | undefined {
  if (!sql.startsWith(MARK)) return undefined;
  const end = sql.indexOf(MARK_END, MARK.length);
  return end < 0 ? undefined : sql.slice(MARK.length, end);
}

/** The pool as kysely's Postgres dialect uses it, with marked statements sent under their names. */
export function preparingPool(pool: pg.Pool): PostgresPool {
  // One wrapper per pg client for as long as it lives: kysely keys its connections by the client.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let wrapper = wrappers.get(client);
    if (!wrapper) {
      const send = (text: unknown, values?: unknown[]): unknown => {
        if (typeof text !== 'string') return client.query(text as pg.Submittable);
        const name = preparedName(text);
        return name === undefined ? client.query(text, values) : client.query({ name, text, values });
      };
      wrapper = { query: send as PostgresPoolClient['query'], release: () => client.release() };
      wrappers.set(client, wrapper);
    }
    return wrapper;
  };
  return { connect: async () => wrap(await pool.connect()), end: () => pool.end() };
}
