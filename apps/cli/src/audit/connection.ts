/**
 * The database the `ledger` tool reads: the service's own configuration (DATABASE_URL, or the
 * embedded Postgres that `npm start` runs on EMBEDDED_POSTGRES_PORT). The tool never starts a
 * Postgres of its own — one server per data directory, and `npm start` owns it — so without a
 * running one it says so and stops.
 *
 * The event store is built the way the projector builds it (apps/projector/src/main.ts).
 */
import { createEventStore, type EventStore } from '@ledger/event-store';
import { createKysely, createPool, embeddedPostgresUrl, loadConfig } from '@ledger/platform';
import type { Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import { CliError } from './io';

export interface AuditConnection {
  readonly url: string;
  readonly db: Kysely<LedgerDatabase>;
  readonly store: EventStore;
  close(): Promise<void>;
}

/** The URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable DATABASE_URL)';
  }
}

export async function openAuditConnection(env: NodeJS.ProcessEnv): Promise<AuditConnection> {
  const config = loadConfig(env);
  const url = config.databaseUrl ?? embeddedPostgresUrl(config.embeddedPostgresPort);
  const pool = createPool(url, { max: 4 });
  const hint = config.databaseUrl
    ? 'check DATABASE_URL'
    : `is \`npm start\` running? (the embedded Postgres listens on port ${config.embeddedPostgresPort})`;
  try {
    const { rows } = await pool.query<{ events: string | null; buckets: string | null }>(
      `SELECT to_regclass('events')::text AS events, to_regclass('balance_buckets')::text AS buckets`,
    );
    if (!rows[0]?.events || !rows[0]?.buckets) {
      throw new CliError(
        `the database at ${redactUrl(url)} has no ledger tables; start the ledger once (npm start) to create them`,
      );
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof CliError) throw error;
    const reason = error instanceof Error ? error.message || (error as { code?: string }).code : String(error);
    throw new CliError(`cannot reach the database at ${redactUrl(url)} (${reason}); ${hint}`);
  }
  const db = createKysely<LedgerDatabase>(pool);
  // The same store the service uses (EVENT_STORE): an auditor reads the events where they live.
  const store = createEventStore(config, pool, { pageSize: 5000 });
  return {
    url,
    db,
    store,
    async close() {
      await store.close();
      await db.destroy(); // ends the pool too
    },
  };
}
