/**
 * Rebuilding a projection from position zero without stopping the dashboards: build aside, swap.
 *
 * 1. Aside: a shadow schema `rebuild_<projection>` gets an empty copy of each of the projection's
 *    tables (`LIKE … INCLUDING ALL`, indexes renamed to the live names), and the projection runs
 *    over the whole log into it, a few thousand events per transaction. The live tables, and the
 *    live projector, carry on meanwhile.
 * 2. Swap, in one transaction: take the projection's lock (the live loop takes it in every batch
 *    transaction, so it can commit nothing until the swap ends), apply the events that arrived
 *    since, move each live table out to `rebuild_<projection>_old` and the shadow table in, and set
 *    the checkpoint to the shadow's position. A query that reaches a table while the swap holds it
 *    waits and then reads the new table; none sees a table half built, none fails.
 * 3. Drop the old tables. The live loop finds its checkpoint moved and resumes from it.
 *
 * A rebuild that stops midway (an error, an abort, a crash) leaves the live tables as they were;
 * the next rebuild starts over.
 */
import { invariant } from '@ledger/domain';
import {
  ACCOUNT_STREAM_PREFIX,
  formatPosition,
  type EventStore,
  type GlobalPosition,
  type RecordedEvent,
} from '@ledger/event-store';
import type { ProjectedEvent, Projection, ReadModelTables } from '@ledger/projections';
import { sql, type Kysely, type Transaction } from 'kysely';
import { ensureCheckpoint, lockProjection, ZERO } from '@ledger/database';
import { silentLog, type Log } from '@ledger/platform';
import { messageOf } from './projector';

export interface RebuildOptions {
  /** On a pool: the rebuild keeps one connection for itself while it runs. */
  readonly db: Kysely<ReadModelTables>;
  readonly store: EventStore;
  readonly projection: Projection;
  readonly toProjectedEvent: (recorded: RecordedEvent) => ProjectedEvent;
  /** Events per transaction while building aside. */
  readonly batchSize?: number;
  readonly streamPrefix?: string;
  /** Where the live tables are. */
  readonly liveSchema?: string;
  /** How long one swap attempt waits for a table's lock (queries holding it) before it retries. */
  readonly swapLockTimeoutMs?: number;
  readonly swapAttempts?: number;
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Aborting stops the rebuild before the swap, leaving the live tables as they were. */
  readonly signal?: AbortSignal;
  readonly log?: Log;
}

export type RebuildPhase = 'building' | 'swapping' | 'done';

export interface RebuildProgress {
  readonly projection: string;
  readonly phase: RebuildPhase;
  readonly position: GlobalPosition;
  /** The store's head when last asked. */
  readonly head: GlobalPosition | null;
  readonly eventsApplied: number;
  readonly elapsedMs: number;
  readonly eventsPerSecond: number;
  /** How far through the log, 0 to 1, estimated from positions; null before anything is known. */
  readonly fraction: number | null;
  readonly etaMs: number | null;
}

export interface RebuildResult {
  readonly projection: string;
  readonly position: GlobalPosition;
  readonly eventsApplied: number;
  readonly elapsedMs: number;
  /** How long the swap transaction held the projection's lock. */
  readonly swapMs: number;
}

const DEFAULT_BATCH_SIZE = 5000;
const DEFAULT_SWAP_LOCK_TIMEOUT_MS = 2000;
const DEFAULT_SWAP_ATTEMPTS = 10;
const HEAD_REFRESH_MS = 1000;

/** `rebuild_<name>`, made a safe identifier of at most 63 bytes. */
export function shadowSchemaOf(projection: string): string {
  return `rebuild_${projection.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 59);
}

export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { db, projection } = options;
  const name = projection.name;
  const shadow = shadowSchemaOf(name);
  const retired = `${shadow}_old`;
  const live = options.liveSchema ?? 'public';
  const log = options.log ?? silentLog;
  // One connection for the whole rebuild: it holds the session lock that keeps rebuilds of this
  // projection from running twice at once.
  return db.connection().execute(async (conn) => {
    const rebuildLock = `ledger-rebuild:${name}`;
    const { rows } = await sql<{
      locked: boolean;
    }>`SELECT pg_try_advisory_lock(hashtextextended(${rebuildLock}, 0)) AS locked`.execute(conn);
    if (!rows[0]?.locked) throw new Error(`a rebuild of ${name} is already running`);
    try {
      const deferred = await prepareShadow(conn, {
        live,
        shadow,
        retired,
        tables: projection.tables,
        queryOnlyIndexes: projection.queryOnlyIndexes ?? [],
      });
      const built = await buildAside(conn, options, shadow, deferred);
      const swapped = await swap(conn, options, {
        live,
        shadow,
        retired,
        from: built.position,
        count: built.count,
        startedAt: built.startedAt,
      });
      await dropSchemas(conn, [retired, shadow]);
      const elapsedMs = Date.now() - built.startedAt;
      options.onProgress?.({
        projection: name,
        phase: 'done',
        position: swapped.position,
        head: swapped.position,
        eventsApplied: swapped.count,
        elapsedMs,
        eventsPerSecond: rate(swapped.count, elapsedMs),
        fraction: 1,
        etaMs: 0,
      });
      log.info('rebuilt', {
        projection: name,
        position: formatPosition(swapped.position),
        events: swapped.count,
        ms: elapsedMs,
        swapMs: swapped.swapMs,
      });
      return {
        projection: name,
        position: swapped.position,
        eventsApplied: swapped.count,
        elapsedMs,
        swapMs: swapped.swapMs,
      };
    } catch (error) {
      await dropSchemas(conn, [retired, shadow]).catch(() => undefined);
      throw error;
    } finally {
      await sql`SELECT pg_advisory_unlock(hashtextextended(${rebuildLock}, 0))`.execute(conn).catch(() => undefined);
    }
  });
}

interface Schemas {
  readonly live: string;
  readonly shadow: string;
  readonly retired: string;
}

/**
 * A fresh shadow schema holding an empty copy of every table, with the live tables' index names,
 * less the projection's query-only indexes: returns the statements that build those afterwards.
 */
async function prepareShadow(
  conn: Kysely<ReadModelTables>,
  {
    live,
    shadow,
    retired,
    tables,
    queryOnlyIndexes,
  }: Schemas & { tables: readonly string[]; queryOnlyIndexes: readonly string[] },
): Promise<string[]> {
  await dropSchemas(conn, [retired, shadow]);
  return conn.transaction().execute(async (tx) => {
    await sql`CREATE SCHEMA ${sql.id(shadow)}`.execute(tx);
    const deferred: string[] = [];
    for (const table of tables) {
      await sql`CREATE TABLE ${sql.id(shadow, table)} (LIKE ${sql.id(live, table)} INCLUDING ALL)`.execute(tx);
      await copyStorageParameters(tx, { live, shadow, table });
      await copyIndexNames(tx, { live, shadow, table });
      const { rows } = await sql<IndexRow>`
        SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = to_regclass(format('%I.%I', ${shadow}::text, ${table}::text))
          AND NOT i.indisunique AND c.relname = ANY(${[...queryOnlyIndexes]}::text[])`.execute(tx);
      for (const index of rows) {
        const using = index.definition.slice(index.definition.indexOf(' USING '));
        deferred.push(`CREATE INDEX ${quoteIdent(index.name)} ON ${quoteIdent(shadow)}.${quoteIdent(table)}${using}`);
        await sql`DROP INDEX ${sql.id(shadow, index.name)}`.execute(tx);
      }
    }
    return deferred;
  });
}

interface IndexRow {
  name: string;
  definition: string;
}

/**
 * LIKE … INCLUDING ALL copies no storage parameters: without this a swap would drop the live
 * table's fillfactor (the room its updates in place need, migrations.ts).
 */
async function copyStorageParameters(
  tx: Transaction<ReadModelTables>,
  { live, shadow, table }: { live: string; shadow: string; table: string },
): Promise<void> {
  const { rows } = await sql<{ options: string[] | null }>`
    SELECT reloptions AS options FROM pg_class
    WHERE oid = to_regclass(format('%I.%I', ${live}::text, ${table}::text))`.execute(tx);
  const options = rows[0]?.options ?? [];
  if (options.length === 0) return;
  // Each is "name=value" as Postgres stored it.
  await sql`ALTER TABLE ${sql.id(shadow, table)} SET (${sql.raw(options.join(', '))})`.execute(tx);
}

/**
 * LIKE … INCLUDING ALL makes the same indexes under generated names. Renaming each to its live
 * twin's name (constraints follow their index) keeps the schema identical after the swap, so later
 * migrations can still name them.
 */
async function copyIndexNames(
  tx: Transaction<ReadModelTables>,
  { live, shadow, table }: { live: string; shadow: string; table: string },
): Promise<void> {
  const indexesOf = async (schema: string): Promise<IndexRow[]> =>
    (
      await sql<IndexRow>`
        SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = to_regclass(format('%I.%I', ${schema}::text, ${table}::text))
        ORDER BY c.relname`.execute(tx)
    ).rows;
  // "CREATE [UNIQUE] INDEX name ON schema.table USING …": what is left without the names.
  const shape = (definition: string): string =>
    `${/^CREATE UNIQUE /.test(definition) ? 'unique ' : ''}${definition.slice(definition.indexOf(' USING '))}`;
  const liveIndexes = await indexesOf(live);
  const shadowIndexes = await indexesOf(shadow);
  const renames: Array<{ from: string; to: string }> = [];
  const unmatched = [...shadowIndexes];
  for (const index of liveIndexes) {
    const twin = unmatched.findIndex((candidate) => shape(candidate.definition) === shape(index.definition));
    const copy = unmatched[twin];
    if (!copy) throw new Error(`${shadow}.${table} has no copy of the index ${index.name}`);
    renames.push({ from: copy.name, to: index.name });
    unmatched.splice(twin, 1);
  }
  // Two steps, so that no new name collides with a generated one not yet renamed.
  for (const [i, rename] of renames.entries()) {
    await sql`ALTER INDEX ${sql.id(shadow, rename.from)} RENAME TO ${sql.id(`rebuild_tmp_${i}`)}`.execute(tx);
  }
  for (const [i, rename] of renames.entries()) {
    await sql`ALTER INDEX ${sql.id(shadow, `rebuild_tmp_${i}`)} RENAME TO ${sql.id(rename.to)}`.execute(tx);
  }
}

/** Runs the projection's handlers with unqualified names resolving to the shadow tables only. */
async function applyInShadow(
  tx: Transaction<ReadModelTables>,
  options: RebuildOptions,
  shadow: string,
  events: readonly RecordedEvent[],
): Promise<void> {
  const { rows } = await sql<{ path: string }>`SELECT current_setting('search_path') AS path`.execute(tx);
  // Shadow rows need no flush of their own: a crash discards the build, and the swap's synchronous
  // commit flushes the log up to itself, every shadow batch before it included.
  await sql`SELECT set_config('search_path', ${quoteIdent(shadow)}, true), set_config('synchronous_commit', 'off', true)`.execute(
    tx,
  );
  try {
    await options.projection.applyBatch(
      events.map((event) => options.toProjectedEvent(event)),
      tx.withSchema(shadow),
    );
  } catch (error) {
    const [first, last] = [events[0], events.at(-1)].map((e) => (e ? formatPosition(e.position) : '?'));
    throw new Error(`${options.projection.name} failed on the events ${first} to ${last}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const [setting] = rows;
  invariant(setting, 'current_setting answers one row');
  await sql`SELECT set_config('search_path', ${setting.path}, true)`.execute(tx);
}

/** Builds the shadow tables from position zero up to the head of the log. */
async function buildAside(
  conn: Kysely<ReadModelTables>,
  options: RebuildOptions,
  shadow: string,
  deferredIndexes: readonly string[],
): Promise<{ position: GlobalPosition; count: number; startedAt: number }> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const streamPrefix = options.streamPrefix ?? ACCOUNT_STREAM_PREFIX;
  const startedAt = Date.now();
  let position = ZERO;
  let count = 0;
  let head: GlobalPosition | null = null;
  let headAskedAt = 0;
  const read = (after: GlobalPosition): Promise<RecordedEvent[]> => {
    const page = options.store.readAll({ after, maxCount: batchSize, streamPrefix });
    // Should the apply fail first, nobody awaits the page read ahead.
    page.catch(() => undefined);
    return page;
  };
  // The next page is read (on another connection of the pool) while this one is applied: at most
  // two pages in memory.
  let next = read(position);
  for (;;) {
    options.signal?.throwIfAborted();
    if (options.onProgress && Date.now() - headAskedAt >= HEAD_REFRESH_MS) {
      head = await options.store.headPosition();
      headAskedAt = Date.now();
    }
    const events = await next;
    const last = events.at(-1);
    if (!last) break;
    position = last.position;
    next = read(position);
    await conn.transaction().execute((tx) => applyInShadow(tx, options, shadow, events));
    count += events.length;
    options.onProgress?.(progress(options.projection.name, 'building', position, head, count, startedAt));
  }
  // The rows are in: build the indexes only queries use, in one pass each.
  for (const statement of deferredIndexes) await sql.raw(statement).execute(conn);
  // Fresh statistics for the planner before the tables go live.
  for (const table of options.projection.tables) await sql`ANALYZE ${sql.id(shadow, table)}`.execute(conn);
  return { position, count, startedAt };
}

/** Catches the shadow up under the projection's lock and puts it in the live tables' place. */
async function swap(
  conn: Kysely<ReadModelTables>,
  options: RebuildOptions,
  {
    live,
    shadow,
    retired,
    from,
    count,
    startedAt,
  }: Schemas & { from: GlobalPosition; count: number; startedAt: number },
): Promise<{ position: GlobalPosition; count: number; swapMs: number }> {
  const name = options.projection.name;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const streamPrefix = options.streamPrefix ?? ACCOUNT_STREAM_PREFIX;
  const attempts = options.swapAttempts ?? DEFAULT_SWAP_ATTEMPTS;
  const lockTimeoutMs = options.swapLockTimeoutMs ?? DEFAULT_SWAP_LOCK_TIMEOUT_MS;
  const log = options.log ?? silentLog;
  await ensureCheckpoint(conn.withSchema(live), name, { clearFailure: false });
  await sql`CREATE SCHEMA ${sql.id(retired)}`.execute(conn);
  options.signal?.throwIfAborted();
  for (let attempt = 1; ; attempt++) {
    try {
      return await conn.transaction().execute(async (tx) => {
        await lockProjection(tx, name);
        const lockedAt = Date.now();
        let position = from;
        let applied = count;
        for (;;) {
          const events = await options.store.readAll({ after: position, maxCount: batchSize, streamPrefix });
          const last = events.at(-1);
          if (!last) break;
          await applyInShadow(tx, options, shadow, events);
          position = last.position;
          applied += events.length;
        }
        options.onProgress?.(progress(name, 'swapping', position, position, applied, startedAt));
        // Queries still reading a live table hold its lock; wait for them only so long, then retry.
        // The last attempt waits as long as it takes.
        if (attempt < attempts) {
          await sql`SELECT set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`.execute(tx);
        }
        for (const table of options.projection.tables) {
          await sql`ALTER TABLE ${sql.id(live, table)} SET SCHEMA ${sql.id(retired)}`.execute(tx);
          await sql`ALTER TABLE ${sql.id(shadow, table)} SET SCHEMA ${sql.id(live)}`.execute(tx);
        }
        await tx
          .withSchema(live)
          .updateTable('projection_checkpoints')
          .set({
            position_commit: position.commit,
            position_prepare: position.prepare,
            events_applied: BigInt(applied),
            updated_at: sql<Date>`now()`,
            failed_position: null,
            failure: null,
            failed_at: null,
          })
          .where('projection', '=', name)
          .execute();
        return { position, count: applied, swapMs: Date.now() - lockedAt };
      });
    } catch (error) {
      // 55P03: queries held a table longer than the lock timeout. 40P01: a reader holding one of
      // the tables waited for another we held, and Postgres chose the swap to give way.
      const code = (error as { code?: unknown }).code;
      if ((code !== '55P03' && code !== '40P01') || attempt >= attempts) throw error;
      log.warn('readers held the tables; retrying the swap', { projection: name, attempt, code });
    }
  }
}

async function dropSchemas(conn: Kysely<ReadModelTables>, schemas: readonly string[]): Promise<void> {
  for (const schema of schemas) await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(conn);
}

function progress(
  projection: string,
  phase: RebuildPhase,
  position: GlobalPosition,
  head: GlobalPosition | null,
  eventsApplied: number,
  startedAt: number,
): RebuildProgress {
  const elapsedMs = Date.now() - startedAt;
  // Positions grow with the log (Postgres: the insert sequence; EventStoreDB: the log offset), so
  // the prepare part measures how far through it we are.
  let fraction: number | null = null;
  if (head) {
    fraction = head.prepare <= 0n ? 1 : Number((position.prepare * 10_000n) / head.prepare) / 10_000;
    fraction = Math.min(1, Math.max(0, fraction));
  }
  const etaMs = fraction && fraction > 0 ? Math.round((elapsedMs * (1 - fraction)) / fraction) : null;
  return {
    projection,
    phase,
    position,
    head,
    eventsApplied,
    elapsedMs,
    eventsPerSecond: rate(eventsApplied, elapsedMs),
    fraction,
    etaMs,
  };
}

const rate = (events: number, ms: number): number => (ms > 0 ? Math.round((events * 1000) / ms) : 0);

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
