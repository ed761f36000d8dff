/** The service's configuration, read once from the environment; every default is the embedded one. */
import path from 'node:path';

/**
 * A setting that keeps the service from starting, said in one sentence with what to do: the
 * entry points print its message alone, without a stack.
 */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

export interface LedgerConfig {
  readonly port: number;
  /** A Postgres URL; absent means the embedded Postgres under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly embeddedPostgresPort: number;
  /** JSON file of API keys, or undefined to use `apiKeysJson` / the development keys. */
  readonly apiKeysFile: string | undefined;
  readonly apiKeysJson: string | undefined;
  /** Where events live: `postgres` (the ledger database, the default) or `eventstoredb`. */
  readonly eventStore: 'postgres' | 'eventstoredb';
  /** EventStoreDB's connection string, e.g. `esdb://localhost:2113?tls=false`; needed for eventstoredb. */
  readonly eventStoreConnectionString: string | undefined;
  /**
   * The demo workspace (LEDGER_DEMO=on|off): the seed page's account, made through the command path
   * at start, and a public key that can read only it. On by default on the embedded Postgres.
   */
  readonly demo: boolean;
  /**
   * How often the grant scheduler looks for grants falling due (LEDGER_GRANT_SCHEDULER_MS; 0 turns it
   * off). Lapsed credits show as available in the read models for at most about this long.
   */
  readonly grantSchedulerIntervalMs: number;
}

function integer(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new ConfigurationError(`${name} must be a port number`);
  return value;
}

function milliseconds(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 24 * 60 * 60 * 1000) {
    throw new Error(`${name} must be a whole number of milliseconds, at most a day`);
  }
  return value;
}

function eventStoreKind(raw: string | undefined): LedgerConfig['eventStore'] {
  if (raw === undefined || raw === '' || raw === 'postgres') return 'postgres';
  if (raw === 'eventstoredb') return 'eventstoredb';
  throw new ConfigurationError(`EVENT_STORE must be postgres or eventstoredb, not "${raw}"`);
}

function onOff(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (['on', 'true', '1'].includes(raw)) return true;
  if (['off', 'false', '0'].includes(raw)) return false;
  throw new ConfigurationError(`${name} must be on or off, not "${raw}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  return {
    port: integer('PORT', 3000),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.LEDGER_DATA_DIR || '.data'),
    embeddedPostgresPort: integer('EMBEDDED_POSTGRES_PORT', 54329),
    apiKeysFile: env.API_KEYS_FILE || undefined,
    apiKeysJson: env.API_KEYS || undefined,
    eventStore: eventStoreKind(env.EVENT_STORE),
    eventStoreConnectionString: env.EVENTSTORE_CONNECTION_STRING || undefined,
    demo: onOff('LEDGER_DEMO', env.LEDGER_DEMO, !env.DATABASE_URL),
    grantSchedulerIntervalMs: milliseconds('LEDGER_GRANT_SCHEDULER_MS', env.LEDGER_GRANT_SCHEDULER_MS, 15_000),
  };
}
