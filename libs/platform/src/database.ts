/** Postgres access: one pg pool, kysely on top, and the migrations of every module run on start. */
import { Kysely, Migrator, PostgresDialect, type Migration } from 'kysely';
import pg from 'pg';
import { preparingPool } from './prepared-statements';

const INT8_OID = 20;
const XID8_OID = 5069;

/** bigint columns (money, positions) come back as bigint, never as a lossy number. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === XID8_OID) return (text: string) => BigInt(text);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PoolOptions {
  readonly max?: number;
  /**
   * Commits on this pool return before their WAL reaches disk. Only for writes that something
   * durable can stand in for after a crash (the idempotency answers: the stream keeps their keys).
   */
  readonly asynchronousCommit?: boolean;
}

export function createPool(url: string, { max = 10, asynchronousCommit = false }: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types: types as pg.CustomTypesConfig,
    ...(asynchronousCommit ? { options: '-c synchronous_commit=off' } : {}),
  });
  // An idle client's connection error must not crash the process; the next checkout reconnects.
  pool.on('error', () => undefined);
  // Nor may a checked-out client's (a server restart, a terminated backend between two statements):
  // its caller's next query fails instead, and the pool discards the broken client on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Kysely over the pool; statements marked by `preparedStatement` are prepared once per connection. */
export function createKysely<Database>(pool: pg.Pool): Kysely<Database> {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any database shape may be migrated
export async function migrate(db: Kysely<any>, migrations: Record<string, Migration>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}
