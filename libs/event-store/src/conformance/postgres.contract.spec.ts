/** The Postgres adapter keeps the port's contract, on a database of its own. */
import { createKysely, createPool, migrate } from '../../../platform/src/database';
import { createTestDatabase } from '../../../../test/support/database';
import { eventStoreMigrations } from '../postgres/migrations';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { describeEventStoreContract } from './event-store-contract';

describeEventStoreContract('PostgresEventStore', async () => {
  const database = await createTestDatabase();
  const pool = createPool(database.url, { max: 40 });
  await migrate(createKysely(pool), eventStoreMigrations);
  const store = new PostgresEventStore(pool, { pollIntervalMs: 100, pageSize: 7 });
  return {
    store,
    open: async () => new PostgresEventStore(pool, { pollIntervalMs: 100 }),
    async close() {
      await store.close();
      await pool.end();
      await database.drop();
    },
  };
});
