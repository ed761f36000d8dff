/**
 * Crash safety, with the real worker process: over 20,000 events of realistic ledger history, the
 * projector is SIGKILLed at random instants while it catches up, at least twenty times, restarted
 * each time, and finally let run to the head. Every read-model table must then equal, row for row,
 * a single replay of the whole log, and every checkpoint must count each event exactly once.
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
import { appendHistories } from './support/ledger-history';
import { checkpoints, dumpTables, lastAccountEvent, replayInto, waitForCheckpoints } from './support/read-models';
import { buildWorkers, startWorker, type Build } from './support/workers';
import { GENEROUS_DEADLINE_MS, waitUntil } from '../../../test/support/wait';

let database: TestDatabase;
let pool: pg.Pool;
let db: Kysely<ReadModelTables>;
let store: PostgresEventStore;
let build: Build;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createPool(database.url, { max: 40 });
  db = createKysely<ReadModelTables>(pool);
  await migrate(db, ledgerMigrations);
  store = new PostgresEventStore(pool);
  build = await buildWorkers();
}, 600_000);

afterAll(async () => {
  await build?.remove();
  await store?.close();
  await db?.destroy();
  await database?.drop();
});

const names = projections.map((projection) => projection.name);

async function caughtUp(): Promise<boolean> {
  const head = await lastAccountEvent(db);
  const rows = await checkpoints(db);
  return names.every((name) => rows.get(name)?.position === head);
}

test('killed at random instants while catching up, restarted, it ends with exactly the rows of a full replay', async () => {
  const appended = await appendHistories(store, { accounts: 64, eventsPerAccount: 320, prefix: 'crash' });
  expect(appended).toBeGreaterThanOrEqual(20_000);
  const { rows: types } = await sql<{ type: string }>`SELECT DISTINCT type FROM events`.execute(db);
  expect(types.map((row) => row.type)).toEqual(
    expect.arrayContaining([
      'CreditsGranted',
      'RunAccepted',
      'CreditsReserved',
      'RunCompleted',
      'CreditsConsumed',
      'ReservationReleased',
      'RunFailed',
      'RunCancelled',
      'SettlementHoldPlaced',
      'SettlementHoldReleased',
      'CreditsExpired',
      'CommercialExceptionRecorded',
      'SubscriptionPeriodRenewed',
      'AccountSuspended',
      'AccountReactivated',
    ]),
  );

  // Small batches: more commits, so more of the kills land inside a transaction.
  const env = { DATABASE_URL: database.url, PROJECTOR_BATCH_SIZE: '100' };
  const delays: number[] = [];
  const progress = new Set<string>();
  const placeNow = async () => {
    const rows = await checkpoints(db);
    return names.map((name) => rows.get(name)?.position).join(' ');
  };
  let runsThatCommitted = 0;
  let killsDuringCatchUp = 0;
  let refills = 0;
  // How much a refill appends: doubled whenever a run caught up before its kill, so that the
  // backlog outlasts the kill's delay however fast this machine projects.
  let refillAccounts = 8;
  for (let run = 0; killsDuringCatchUp < 20; run++) {
    if (run >= 60) throw new Error(`only ${killsDuringCatchUp} kills landed during catch-up in ${run} runs`);
    // Keep a backlog: a kill must interrupt catching up, not idling at the head.
    if (await caughtUp()) {
      await appendHistories(store, {
        accounts: refillAccounts,
        eventsPerAccount: 300,
        prefix: `crash-refill-${refills++}`,
      });
    }
    const placeBefore = await placeNow();
    const worker = startWorker(build.script('main'), [], env);
    await worker.waitFor('projector started', GENEROUS_DEADLINE_MS);
    // Every other run is killed only after it has committed something, wherever the kill then
    // lands; the others may die before their first commit, at startup. (How much a run gets done
    // in a given time depends on the machine: waiting for a commit does not.)
    if (run % 2 === 1) {
      await waitUntil(async () => (await placeNow()) !== placeBefore, 'a commit of the restarted projector');
      runsThatCommitted += 1;
    }
    const delay = Math.floor(Math.random() * 1500);
    delays.push(delay);
    await sleep(delay);
    worker.process.kill('SIGKILL');
    expect((await worker.exited).signal).toBe('SIGKILL');
    if (await caughtUp()) refillAccounts = Math.min(refillAccounts * 2, 128);
    else killsDuringCatchUp += 1;
    progress.add(await placeNow());
  }
  // The runs did work between kills, and no restart moved a checkpoint back: checkpoints only
  // advance, so each run that committed left them at a place never seen before.
  expect(runsThatCommitted).toBeGreaterThanOrEqual(10);
  expect(progress.size).toBeGreaterThanOrEqual(runsThatCommitted);

  const last = startWorker(build.script('main'), [], env);
  await waitForCheckpoints(db, names, GENEROUS_DEADLINE_MS * 3);
  last.process.kill('SIGTERM');
  expect(await last.exited).toEqual({ code: 0, signal: null });
  expect(last.output()).toContain('projector stopped');

  const { rows: counted } = await sql<{ n: bigint }>`
    SELECT count(*) AS n FROM events WHERE stream_id LIKE 'billing-account-%'`.execute(db);
  const rows = await checkpoints(db);
  for (const name of names) {
    expect(rows.get(name)).toMatchObject({ events_applied: BigInt(defined(counted[0]?.n)), failure: null });
  }

  await replayInto(db, store, 'reference', projections, toProjectedEvent, 1000);
  const tables = projections.flatMap((projection) => projection.tables);
  const live = await dumpTables(db, 'public', tables);
  const reference = await dumpTables(db, 'reference', tables);
  for (const table of tables) {
    expect(live[table]?.length).toBeGreaterThan(0);
    expect({ table, rows: live[table] }).toEqual({ table, rows: reference[table] });
  }
}, 900_000);
