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
  /** How the EventStoreDB client waits, checks its connection and recovers (README, EventStoreDB). */
  readonly eventStoreDb: EventStoreDbConfig;
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
  /** How the projector's delivery worker sends webhooks (README, Webhooks). */
  readonly webhooks: WebhookConfig;
}

export interface WebhookConfig {
  /** WEBHOOK_TIMEOUT_MS: how long one POST may take, connecting included (10 000). */
  readonly timeoutMs: number;
  /** WEBHOOK_ENDPOINT_CONCURRENCY: deliveries in flight to one endpoint at a time (4). */
  readonly perEndpointConcurrency: number;
  /** WEBHOOK_CONCURRENCY: deliveries in flight in all (32). */
  readonly concurrency: number;
  /** WEBHOOK_RETRY_BASE_MS / WEBHOOK_RETRY_MAX_MS: the first pause before a retry, doubling to the cap (30 s, 1 h). */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** WEBHOOK_RETRY_HORIZON_MS: after this long without success a delivery is `failed` (3 days). */
  readonly horizonMs: number;
  /** WEBHOOK_POLL_MS: how often the worker looks for due retries without being woken (1 000). */
  readonly pollMs: number;
  /**
   * WEBHOOK_LOG_RETENTION_MS: how long a delivery that ended (delivered or failed) stays in the
   * delivery log with its attempts before the worker deletes it (30 days). Pending ones stay.
   */
  readonly logRetentionMs: number;
  /**
   * WEBHOOK_ALLOW_PRIVATE_TARGETS: may endpoints be on loopback, private or link-local addresses?
   * Off outside development, where such a target is refused when defined and when delivered to.
   */
  readonly allowPrivateTargets: boolean;
}

/**
 * Development means the embedded Postgres without NODE_ENV=production: with a DATABASE_URL of its
 * own (or NODE_ENV=production) the ledger is someone's real one, and secure defaults apply.
 */
export const isDevelopment = (
  config: Pick<LedgerConfig, 'databaseUrl'>,
  env: NodeJS.ProcessEnv = process.env,
): boolean =>
  env.NODE_ENV !== 'production' && (config.databaseUrl === undefined || env.LEDGER_EMBEDDED_POSTGRES === 'on');

function webhookConfig(env: NodeJS.ProcessEnv, databaseUrl: string | undefined): WebhookConfig {
  const day = 24 * 60 * 60 * 1000;
  const retryBaseMs = wholeNumber(env, 'WEBHOOK_RETRY_BASE_MS', 1, day) ?? 30_000;
  const retryMaxMs = wholeNumber(env, 'WEBHOOK_RETRY_MAX_MS', 1, 7 * day) ?? Math.max(retryBaseMs, 60 * 60 * 1000);
  if (retryMaxMs < retryBaseMs) {
    throw new ConfigurationError('WEBHOOK_RETRY_MAX_MS must be at least WEBHOOK_RETRY_BASE_MS');
  }
  return {
    timeoutMs: wholeNumber(env, 'WEBHOOK_TIMEOUT_MS', 1, 10 * 60 * 1000) ?? 10_000,
    perEndpointConcurrency: wholeNumber(env, 'WEBHOOK_ENDPOINT_CONCURRENCY', 1, 1000) ?? 4,
    concurrency: wholeNumber(env, 'WEBHOOK_CONCURRENCY', 1, 10_000) ?? 32,
    retryBaseMs,
    retryMaxMs,
    horizonMs: wholeNumber(env, 'WEBHOOK_RETRY_HORIZON_MS', 1, 30 * day) ?? 3 * day,
    pollMs: wholeNumber(env, 'WEBHOOK_POLL_MS', 10, day) ?? 1000,
    logRetentionMs: wholeNumber(env, 'WEBHOOK_LOG_RETENTION_MS', 60 * 60 * 1000, 3650 * day) ?? 30 * day,
    allowPrivateTargets: onOff(
      'WEBHOOK_ALLOW_PRIVATE_TARGETS',
      env.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      isDevelopment({ databaseUrl }, env),
    ),
  };
}

export interface EventStoreDbConfig {
  /**
   * EVENTSTORE_DEADLINE_MS: how long each read and append may take (the client's defaultDeadline;
   * the server still caps an append at its own write timeout, 2 s by default). Unset: the
   * connection string's `defaultDeadline`, else 10 000.
   */
  readonly deadlineMs: number | undefined;
  /** EVENTSTORE_KEEPALIVE_MS: ping an idle connection this often (-1: never). Unset: 10 000. */
  readonly keepAliveIntervalMs: number | undefined;
  /** EVENTSTORE_KEEPALIVE_WAIT_MS: a ping unanswered this long drops the connection. Unset: 10 000. */
  readonly keepAliveTimeoutMs: number | undefined;
  /**
   * EVENTSTORE_RETRY_MIN_MS / _MAX_MS: after a dropped subscription (or append), wait the
   * first, doubling up to the second, before trying again.
   */
  readonly resubscribeDelayMs: readonly [number, number];
  /** EVENTSTORE_APPEND_ATTEMPTS: how often one append is sent when its connection drops unanswered. */
  readonly appendAttempts: number;
}

/** The connection string keys that EVENTSTORE_* settings may not name a second time. */
const CONNECTION_STRING_KEYS = {
  EVENTSTORE_DEADLINE_MS: 'defaultDeadline',
  EVENTSTORE_KEEPALIVE_MS: 'keepAliveInterval',
  EVENTSTORE_KEEPALIVE_WAIT_MS: 'keepAliveTimeout',
} as const;

function wholeNumber(env: NodeJS.ProcessEnv, name: string, least: number, most: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < least || value > most) {
    throw new ConfigurationError(`${name} must be a whole number from ${least} to ${most}, not "${raw}"`);
  }
  return value;
}

function eventStoreDbConfig(env: NodeJS.ProcessEnv): EventStoreDbConfig {
  const connectionString = env.EVENTSTORE_CONNECTION_STRING ?? '';
  for (const [name, key] of Object.entries(CONNECTION_STRING_KEYS)) {
    if (env[name] && new RegExp(`[?&]${key}=`, 'i').test(connectionString)) {
      throw new ConfigurationError(`${name} and the connection string's ${key} both set it: keep one`);
    }
  }
  const day = 24 * 60 * 60 * 1000;
  const first = wholeNumber(env, 'EVENTSTORE_RETRY_MIN_MS', 1, day) ?? 100;
  const most = wholeNumber(env, 'EVENTSTORE_RETRY_MAX_MS', 1, day) ?? Math.max(first, 5000);
  if (most < first) {
    throw new ConfigurationError('EVENTSTORE_RETRY_MAX_MS must be at least EVENTSTORE_RETRY_MIN_MS');
  }
  return {
    deadlineMs: wholeNumber(env, 'EVENTSTORE_DEADLINE_MS', 1, day),
    keepAliveIntervalMs: wholeNumber(env, 'EVENTSTORE_KEEPALIVE_MS', -1, day),
    keepAliveTimeoutMs: wholeNumber(env, 'EVENTSTORE_KEEPALIVE_WAIT_MS', -1, day),
    resubscribeDelayMs: [first, most],
    appendAttempts: wholeNumber(env, 'EVENTSTORE_APPEND_ATTEMPTS', 1, 100) ?? 3,
  };
}

function portNumber(name: string, raw: string | undefined, fallback: number): number {
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
    throw new ConfigurationError(`${name} must be a whole number of milliseconds, at most a day`);
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
    port: portNumber('PORT', env.PORT, 3000),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.LEDGER_DATA_DIR || '.data'),
    embeddedPostgresPort: portNumber('EMBEDDED_POSTGRES_PORT', env.EMBEDDED_POSTGRES_PORT, 54329),
    apiKeysFile: env.API_KEYS_FILE || undefined,
    apiKeysJson: env.API_KEYS || undefined,
    eventStore: eventStoreKind(env.EVENT_STORE),
    eventStoreConnectionString: env.EVENTSTORE_CONNECTION_STRING || undefined,
    eventStoreDb: eventStoreDbConfig(env),
    demo: onOff('LEDGER_DEMO', env.LEDGER_DEMO, !env.DATABASE_URL),
    grantSchedulerIntervalMs: milliseconds('LEDGER_GRANT_SCHEDULER_MS', env.LEDGER_GRANT_SCHEDULER_MS, 15_000),
    webhooks: webhookConfig(env, env.DATABASE_URL || undefined),
  };
}
