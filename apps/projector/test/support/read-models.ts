/** Comparing read models: a reference replay of every event, full ordered table dumps, and waiting for checkpoints. */
import { setTimeout as sleep } from 'node:timers/promises';
import { ACCOUNT_STREAM_PREFIX, formatPosition, type EventStore, type GlobalPosition } from '@ledger/event-store';
import type { Projection, ReadModelTables, ProjectedEvent } from '@ledger/projections';
import { GENEROUS_DEADLINE_MS } from '../../../../test/support/wait';
import type { RecordedEvent } from '@ledger/event-store';
import { sql, type Kysely } from 'kysely';

/**
 * The read models as one pass over the whole log makes them, in `schema`: fresh copies of the
 * projections' tables, each projection fed the log in pages of `pageSize`.
 */
export async function replayInto(
  db: Kysely<ReadModelTables>,
  store: EventStore,
  schema: string,
  projections: readonly Projection[],
  toProjectedEvent: (recorded: RecordedEvent) => ProjectedEvent,
  pageSize = 1000,
): Promise<number> {
  await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(db);
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(db);
  let total = 0;
  for (const projection of projections) {
    for (const table of projection.tables) {
      await sql`CREATE TABLE ${sql.id(schema, table)} (LIKE ${sql.id('public', table)} INCLUDING ALL)`.execute(db);
    }
    let after: GlobalPosition | undefined;
    total = 0;
    for (;;) {
      const events = await store.readAll({ after, maxCount: pageSize, streamPrefix: ACCOUNT_STREAM_PREFIX });
      if (events.length === 0) break;
      await db.transaction().execute(async (tx) => {
        await sql`SELECT set_config('search_path', ${`"${schema}"`}, true)`.execute(tx);
        await projection.applyBatch(
          events.map((event) => toProjectedEvent(event)),
          tx.withSchema(schema),
        );
      });
      after = events[events.length - 1]?.position;
      total += events.length;
    }
  }
  return total;
}

/** Every row of the tables, as JSON text, in one total order. */
export async function dumpTables(
  db: Kysely<ReadModelTables>,
  schema: string,
  tables: readonly string[],
): Promise<Record<string, string[]>> {
  const dump: Record<string, string[]> = {};
  for (const table of tables) {
    const { rows } = await sql<{ row: string }>`
      SELECT row_to_json(t)::text AS row FROM ${sql.id(schema, table)} AS t ORDER BY 1`.execute(db);
    dump[table] = rows.map((r) => r.row);
  }
  return dump;
}

/** The position of the newest account event (every append of the test has finished). */
export async function lastAccountEvent(db: Kysely<ReadModelTables>): Promise<string | null> {
  const { rows } = await sql<{ commit: bigint; prepare: bigint }>`
    SELECT transaction_id::text::bigint AS commit, position AS prepare FROM events
    WHERE stream_id LIKE ${`${ACCOUNT_STREAM_PREFIX}%`}
    ORDER BY transaction_id DESC, position DESC LIMIT 1`.execute(db);
  return rows[0] ? formatPosition({ commit: BigInt(rows[0].commit), prepare: BigInt(rows[0].prepare) }) : null;
}

export interface CheckpointRow {
  projection: string;
  position: string;
  events_applied: bigint;
  failed_position: string | null;
  failure: string | null;
}

export async function checkpoints(db: Kysely<ReadModelTables>): Promise<Map<string, CheckpointRow>> {
  const rows = await db.selectFrom('projection_checkpoints').selectAll().execute();
  return new Map(
    rows.map((row) => [
      row.projection,
      {
        projection: row.projection,
        position: `${row.position_commit}/${row.position_prepare}`,
        events_applied: BigInt(row.events_applied),
        failed_position: row.failed_position,
        failure: row.failure,
      },
    ]),
  );
}

/** Waits until every named projection's checkpoint is at the newest account event. */
export async function waitForCheckpoints(
  db: Kysely<ReadModelTables>,
  names: readonly string[],
  timeoutMs = GENEROUS_DEADLINE_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const head = await lastAccountEvent(db);
    const rows = await checkpoints(db);
    if (names.every((name) => rows.get(name)?.position === head)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `checkpoints not at ${head} after ${timeoutMs} ms: ${JSON.stringify([...rows.values()], (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
      );
    }
    await sleep(50);
  }
}
