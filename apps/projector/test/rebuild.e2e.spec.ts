/**
 * Rebuilding while the dashboards read: the rebuild CLI (a real process) rebuilds every projection
 * aside and swaps it in while the live projector runs and loops of read queries hammer
 * balance_buckets and usage_ledger. No query may fail, and every query must see a whole table:
 * the old one or the new one, never one half built.
 */
import { defined } from '../../../test/support/defined';
import { setTimeout as sleep } from 'node:timers/promises';
import { PostgresEventStore } from '@ledger/event-store';
import { createKysely, createPool, migrate } from '@ledger/platform';
import { projections, toProjectedEvent, type ReadModelTables } from '@ledger/projections';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { ledgerMigrations } from '@ledger/database';
import { Projector } from '../src/projector';
import { appendHistories } from './support/ledger-history';
import { checkpoints, dumpTables, replayInto, waitForCheckpoints } from './support/read-models';
import { buildWorkers, startWorker, type Build } from './support/workers';
import { GENEROUS_DEADLINE_MS, waitUntil } from '../../../test/support/wait';

let database: TestDatabase;
let pool: pg.Pool;
let db: Kysely<ReadModelTables>;
let store: PostgresEventStore;
let build: Build;
let live: { controller: AbortController; running: Promise<void>; projector: Projector };
let appendedAccounts = 0;

const names = projections.map((projection) => projection.name);
const tables = projections.flatMap((projection) => projection.tables);

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createPool(database.url, { max: 30 });
  db = createKysely<ReadModelTables>(pool);
  await migrate(db, ledgerMigrations);
  store = new PostgresEventStore(pool, { pollIntervalMs: 100 });
  const [built] = await Promise.all([
    buildWorkers(),
    appendHistories(store, { accounts: 40, eventsPerAccount: 250, prefix: 'acct' }),
  ]);
  build = built;
  appendedAccounts = 40;
  const projector = new Projector({ db, store, projections, toProjectedEvent });
  const controller = new AbortController();
  live = { controller, projector, running: projector.run(controller.signal) };
  await waitForCheckpoints(db, names, GENEROUS_DEADLINE_MS);
}, 600_000);

afterAll(async () => {
  live?.controller.abort();
  await live?.running;
  await build?.remove();
  await store?.close();
  await db?.destroy();
  await database?.drop();
});

interface Observation {
  readonly usage: { count: bigint; sum: bigint; table: number | null; recent: string };
  readonly buckets: { count: bigint; table: number | null; unbalanced: bigint; total: string };
}

/** What a dashboard reads, each query one statement; plus what says which table answered it. */
async function observe(reader: Kysely<ReadModelTables>): Promise<Observation> {
  const usage = await sql<{ count: bigint; sum: bigint | null; table: number | null }>`
    SELECT count(*) AS count, sum(amount)::bigint AS sum, min(tableoid)::int AS table FROM usage_ledger`.execute(
    reader,
  );
  const recent = await sql<{ rows: string | null }>`
    SELECT json_agg(r ORDER BY r.occurred_at DESC, r.event_id, r.entry_index)::text AS rows FROM (
      SELECT * FROM usage_ledger WHERE account_id = 'acct-7' ORDER BY occurred_at DESC, event_id, entry_index LIMIT 25
    ) r`.execute(reader);
  // Every committed state of balance_buckets has each account's reserved, consumed and hold equal
  // to the sum over its projects, and available = included + bonus − reserved − consumed − expired.
  const buckets = await sql<{ count: bigint; table: number | null; unbalanced: bigint; total: string | null }>`
    WITH b AS (SELECT *, tableoid FROM balance_buckets),
    per_account AS (
      SELECT a.account_id,
        a.reserved <> coalesce(sum(p.reserved), 0) OR a.consumed <> coalesce(sum(p.consumed), 0)
          OR a.hold <> coalesce(sum(p.hold), 0)
          OR a.available <> a.included + a.bonus - a.reserved - a.consumed - a.expired AS wrong
      FROM b a LEFT JOIN b p ON p.account_id = a.account_id AND p.project_id <> ''
      WHERE a.project_id = ''
      GROUP BY a.account_id, a.reserved, a.consumed, a.hold, a.available, a.included, a.bonus, a.expired
    )
    SELECT (SELECT count(*) FROM b) AS count, (SELECT min(tableoid)::int FROM b) AS table,
      (SELECT count(*) FROM per_account WHERE wrong) AS unbalanced,
      (SELECT json_agg(x ORDER BY x.account_id, x.project_id)::text FROM (
        SELECT account_id, project_id, included, bonus, reserved, consumed, hold, expired, available FROM b) x) AS total`.execute(
    reader,
  );
  return {
    usage: {
      count: BigInt(defined(usage.rows[0]?.count)),
      sum: BigInt(usage.rows[0]?.sum ?? 0n),
      table: defined(usage.rows[0]?.table),
      recent: recent.rows[0]?.rows ?? '',
    },
    buckets: {
      count: BigInt(defined(buckets.rows[0]?.count)),
      table: defined(buckets.rows[0]?.table),
      unbalanced: BigInt(defined(buckets.rows[0]?.unbalanced)),
      total: buckets.rows[0]?.total ?? '',
    },
  };
}

/** Loops of dashboard queries on their own connections, until stopped: what each loop saw, and errors. */
function startReaders(loops: number) {
  const readerPool = createPool(database.url, { max: loops });
  const reader = createKysely<ReadModelTables>(readerPool);
  const seen: Observation[][] = Array.from({ length: loops }, () => []);
  const errors: unknown[] = [];
  let stopped = false;
  const running = Promise.all(
    seen.map(async (mine) => {
      while (!stopped) {
        try {
          mine.push(await observe(reader));
        } catch (error) {
          errors.push(error);
        }
      }
    }),
  );
  return {
    seen,
    errors,
    async stop() {
      stopped = true;
      await running;
      await reader.destroy();
    },
  };
}

async function rebuildWithCli(args: string[]) {
  const worker = startWorker(build.script('rebuild-cli'), args, { DATABASE_URL: database.url });
  const exit = await worker.exited;
  return { ...exit, output: worker.output() };
}

async function expectEqualToReplay(): Promise<void> {
  await replayInto(db, store, 'reference', projections, toProjectedEvent);
  expect(await dumpTables(db, 'public', tables)).toEqual(await dumpTables(db, 'reference', tables));
}

/**
 * The live tables' columns, indexes, constraints and storage parameters (fillfactor), by name: a
 * rebuild must leave them as they were.
 */
async function schemaOfTables(): Promise<unknown[]> {
  const { rows } = await sql`
    SELECT 'index' AS kind, tablename AS table, indexname AS name, indexdef AS definition
    FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(${[...tables]}::text[])
    UNION ALL
    SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text = ANY(${[...tables]}::text[])
    UNION ALL
    SELECT 'column', table_name, column_name, concat_ws(' ', data_type, is_nullable, column_default)
    FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY(${[...tables]}::text[])
    UNION ALL
    SELECT 'storage', relname, option, NULL
    FROM pg_class, unnest(reloptions) AS option
    WHERE relnamespace = 'public'::regnamespace AND relname = ANY(${[...tables]}::text[])
    ORDER BY 1, 2, 3`.execute(db);
  return rows;
}

test('with no new events, every query during a rebuild of all projections sees exactly the full table', async () => {
  const before = await observe(db);
  const schemaBefore = await schemaOfTables();
  expect(schemaBefore.length).toBeGreaterThan(50);
  expect(schemaBefore).toContainEqual({ kind: 'storage', table: 'runs', name: 'fillfactor=80', definition: null });
  expect(before.usage.count).toBeGreaterThan(5_000n);
  const readers = startReaders(4);
  // Every loop reads the old tables before the rebuild starts, and the new ones after it is done.
  await waitUntil(() => readers.seen.every((mine) => mine.length >= 3), 'every reader to read the old tables');
  const rebuilt = await rebuildWithCli(['all']);
  const readsNow = readers.seen.map((mine) => mine.length);
  await waitUntil(
    () => readers.seen.every((mine, i) => mine.length >= (readsNow[i] ?? 0) + 3),
    'every reader to read after the rebuild',
  );
  await readers.stop();

  expect(rebuilt).toMatchObject({ code: 0, signal: null });
  for (const name of names) expect(rebuilt.output).toContain(`"msg":"rebuilt","projection":"${name}"`);
  expect(readers.errors).toEqual([]);
  const observations = readers.seen.flat();
  expect(observations.length).toBeGreaterThan(20);
  // The queries ran against both the old and the new tables…
  expect(new Set(observations.map((o) => o.usage.table)).size).toBe(2);
  expect(new Set(observations.map((o) => o.buckets.table)).size).toBe(2);
  // …and every one of them saw the whole table.
  const strip = (o: Observation) => ({
    usage: { ...o.usage, table: 0 },
    buckets: { ...o.buckets, table: 0 },
  });
  for (const observation of observations) expect(strip(observation)).toEqual(strip(before));

  const after = await observe(db);
  expect(after.usage.table).not.toBe(before.usage.table);
  expect(await schemaOfTables()).toEqual(schemaBefore);
  expect(await sql`SELECT 1 FROM pg_namespace WHERE nspname LIKE 'rebuild_%'`.execute(db)).toMatchObject({ rows: [] });
  await expectEqualToReplay();
}, 300_000);

test('while events are appended, queries during a rebuild see whole, consistent tables that never shrink', async () => {
  const readers = startReaders(3);
  let appending = true;
  let appends = 0;
  const appender = (async () => {
    while (appending) {
      await appendHistories(store, { accounts: 2, eventsPerAccount: 40, prefix: `more${appendedAccounts++}` });
      appends += 1;
      await sleep(20); // a breath between appends, so that they come throughout the rebuild
    }
  })();
  // The rebuild starts with events coming in and the readers reading.
  await waitUntil(
    () => appends >= 2 && readers.seen.every((mine) => mine.length >= 3),
    'appends and reads before the rebuild',
  );
  const rebuilt = await rebuildWithCli(['all']);
  appending = false;
  await appender;
  await waitForCheckpoints(db, names, GENEROUS_DEADLINE_MS);
  // …and the readers go on until each has read the swapped-in tables a few times.
  const readsNow = readers.seen.map((mine) => mine.length);
  await waitUntil(
    () => readers.seen.every((mine, i) => mine.length >= (readsNow[i] ?? 0) + 3),
    'every reader to read after the rebuild',
  );
  await readers.stop();

  expect(rebuilt).toMatchObject({ code: 0, signal: null });
  expect(readers.errors).toEqual([]);
  for (const mine of readers.seen) {
    expect(mine.length).toBeGreaterThan(5);
    for (const [i, observation] of mine.entries()) {
      expect(observation.buckets.unbalanced).toBe(0n);
      if (i > 0) {
        // Rows are only ever added to usage_ledger; a swapped-in table is at least as far along.
        expect(observation.usage.count).toBeGreaterThanOrEqual(defined(mine[i - 1]?.usage.count));
        expect(observation.buckets.count).toBeGreaterThanOrEqual(defined(mine[i - 1]?.buckets.count));
      }
    }
  }
  expect(new Set(readers.seen.flat().map((o) => o.usage.table)).size).toBe(2);

  // The live projector resumed on the new tables from the checkpoint the swap left.
  const { rows } = await sql<{ n: bigint }>`
    SELECT count(*) AS n FROM events WHERE stream_id LIKE 'billing-account-%'`.execute(db);
  const rowsNow = await checkpoints(db);
  for (const name of names) expect(rowsNow.get(name)?.events_applied).toBe(BigInt(defined(rows[0]?.n)));
  expect(live.projector.status().every((s) => s.state === 'live' && s.failure === null)).toBe(true);
  await expectEqualToReplay();
}, 300_000);

test('the CLI rebuilds one projection by name and refuses an unknown one', async () => {
  const one = await rebuildWithCli(['runs']);
  expect(one).toMatchObject({ code: 0 });
  expect(one.output).toContain('"msg":"rebuilt","projection":"runs"');
  expect(one.output).not.toContain('"projection":"usage"');
  const unknown = await rebuildWithCli(['no-such-projection']);
  expect(unknown.code).toBe(2);
  expect(unknown.output).toContain('unknown projection "no-such-projection"');
  await expectEqualToReplay();
}, 300_000);
