/** The Postgres a worker process uses: DATABASE_URL, or the embedded one. */
import { embeddedPostgresUrl, startEmbeddedPostgres, type LedgerConfig } from '@ledger/platform';
import pg from 'pg';
import type { Log } from '@ledger/platform';

export interface WorkerDatabase {
  readonly url: string;
  /** Stops the embedded Postgres if this process started it. */
  close(): Promise<void>;
}

/**
 * DATABASE_URL when set. Otherwise the embedded Postgres: with `reuseRunning`, the one another
 * process (npm start) already runs on the configured port, else one this process starts.
 */
export async function openWorkerDatabase(
  config: LedgerConfig,
  log: Log,
  { reuseRunning = false }: { reuseRunning?: boolean } = {},
): Promise<WorkerDatabase> {
  if (config.databaseUrl) return { url: config.databaseUrl, close: async () => undefined };
  if (reuseRunning) {
    const url = embeddedPostgresUrl(config.embeddedPostgresPort);
    if (await answers(url)) {
      log.info('using the embedded Postgres that is already running', { port: config.embeddedPostgresPort });
      return { url, close: async () => undefined };
    }
  }
  log.info('starting the embedded Postgres', { dataDir: config.dataDir });
  const postgres = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort });
  return { url: postgres.url, close: () => postgres.stop() };
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
