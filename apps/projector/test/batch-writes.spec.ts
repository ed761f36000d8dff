/**
 * BatchWrites on a real Postgres: inserts wait for the batch's one statement, a projection reads
 * what it wrote, and a write that cannot wait (an update) runs inside the batch transaction even
 * when it is a projection's first — so a batch that rolls back takes it back too.
 */
import { createKysely, createPool, migrate } from '@ledger/platform';
import type { ReadModelTables } from '@ledger/projections';
import { ledgerMigrations } from '@ledger/database';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { BatchWrites } from '../src/batch-writes';

let database: TestDatabase;
let pool: pg.Pool;
let db: Kysely<ReadModelTables>;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createPool(database.url, { max: 5 });
  db = createKysely<ReadModelTables>(pool);
  await migrate(db, ledgerMigrations);
});

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

const row = (accountId: string, consumed = 0n) => ({
  account_id: accountId,
  project_id: 'p1',
  included: 0n,
  bonus: 0n,
  reserved: 0n,
  consumed,
  hold: 0n,
  expired: 0n,
  available: null,
  updated_at: new Date(),
  position_commit: 1n,
  position_prepare: 1n,
});

const consumedOf = async (accountId: string) =>
  (await db.selectFrom('balance_buckets').select('consumed').where('account_id', '=', accountId).executeTakeFirst())
    ?.consumed;

/** Runs `work` in a transaction that is rolled back afterwards. */
async function inRolledBackTransaction(work: (writes: BatchWrites) => Promise<void>): Promise<void> {
  await db.connection().execute(async (tx) => {
    await sql`BEGIN`.execute(tx);
    try {
      await work(new BatchWrites(tx, db));
    } finally {
      await sql`ROLLBACK`.execute(tx);
    }
  });
}

it('keeps an update that is a projection’s first write inside the batch transaction', async () => {
  await db.insertInto('balance_buckets').values(row('updated-first', 1n)).execute();
  await inRolledBackTransaction(async (writes) => {
    await writes
      .for('balances')
      .updateTable('balance_buckets')
      .set({ consumed: 5n })
      .where('account_id', '=', 'updated-first')
      .execute();
    expect(writes.statements).toBe(1);
    // Only the batch's own transaction sees it before the commit.
    expect(await consumedOf('updated-first')).toBe(1n);
  });
  // The batch rolled back, and the update with it.
  expect(await consumedOf('updated-first')).toBe(1n);
});

it('holds inserts back for the commit, and lets a projection read what it wrote', async () => {
  await db.connection().execute(async (tx) => {
    await sql`BEGIN`.execute(tx);
    const writes = new BatchWrites(tx, db);
    await writes.for('balances').insertInto('balance_buckets').values(row('inserted')).execute();
    await writes
      .for('runs')
      .insertInto('runs')
      .values({
        account_id: 'inserted',
        run_id: 'r1',
        project_id: 'p1',
        action: 'workflow.run',
        capability_band: 'standard',
        status: 'accepted',
        estimated_cost: 1n,
        reserved: 1n,
        actual_cost: null,
        consumed: 0n,
        held: 0n,
        shortfall: 0n,
        accepted_at: new Date(),
        finished_at: null,
        position_commit: 1n,
        position_prepare: 1n,
      })
      .execute();
    expect(writes.statements).toBe(0);
    // Reading its own table sends the projection's waiting insert first, on the batch transaction.
    const own = await writes
      .for('balances')
      .selectFrom('balance_buckets')
      .select('account_id')
      .where('account_id', '=', 'inserted')
      .execute();
    expect(own).toEqual([{ account_id: 'inserted' }]);
    expect(writes.statements).toBe(2);
    // The other projection's insert still waits; the commit sends it with the checkpoints.
    await writes.commit([]);
    expect(writes.statements).toBe(3);
    await sql`COMMIT`.execute(tx);
  });
  expect(await consumedOf('inserted')).toBe(0n);
  const runs = await db.selectFrom('runs').select('run_id').where('account_id', '=', 'inserted').execute();
  expect(runs).toEqual([{ run_id: 'r1' }]);
});
