/**
 * The real API, listening on a free port over a fresh test database: what end-to-end tests talk to.
 * Events go to the Postgres store, or — with EVENT_STORE=eventstoredb (the jest project
 * "eventstoredb") — to an in-process EventStoreDB test double of this ledger's own, or to a real
 * EventStoreDB when EVENTSTORE_CONNECTION_STRING is set too.
 */
import 'reflect-metadata';
import { loadConfig, type LedgerConfig } from '@ledger/platform';
import { startLedgerApi, type LedgerApi } from '../../apps/api/src/bootstrap';

// What tests of other apps need of the API, so that they import test support, never the API itself.
export type { LedgerApi };
export { FRESHNESS_TIMEOUT_MS } from '../../apps/api/src/read-models/freshness';
import type { LedgerClient } from '@ledger/client';
import { ContractCheckedClient } from './contract-check';
import { createTestDatabase, type TestDatabase } from './database';
import { startEventStoreDbDouble, type EventStoreDbDouble } from './eventstoredb-double/eventstoredb-double';

export interface TestLedger {
  readonly api: LedgerApi;
  readonly database: TestDatabase;
  /** The in-process EventStoreDB double the ledger runs on, when it runs on one. */
  readonly eventStoreDouble: EventStoreDbDouble | undefined;
  client(key?: string): LedgerClient;
  /** Another API process on the same database and store (as a second instance, or after a restart). */
  startAnotherApi(): Promise<LedgerApi>;
  close(): Promise<void>;
}

/** The tests' keys; their rate limits are out of reach (the hardening tests set low ones of their own). */
export const TEST_KEYS = [
  { key: 'service-key-all', principal: 'svc-runner', role: 'service', accounts: '*' },
  { key: 'service-key-acme', principal: 'svc-acme', role: 'service', accounts: ['acme'] },
  { key: 'dashboard-key-all', principal: 'dash', role: 'dashboard', accounts: '*' },
  { key: 'auditor-key-all', principal: 'audit', role: 'auditor', accounts: '*' },
].map((entry) => ({ ...entry, rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } }));

/** The store the tests run on: EVENT_STORE, postgres by default. */
export const testEventStoreKind = (): 'postgres' | 'eventstoredb' =>
  process.env.EVENT_STORE === 'eventstoredb' ? 'eventstoredb' : 'postgres';

export async function startTestLedger(overrides: Partial<LedgerConfig> = {}): Promise<TestLedger> {
  const database = await createTestDatabase();
  const kind = testEventStoreKind();
  const double =
    kind === 'eventstoredb' && !process.env.EVENTSTORE_CONNECTION_STRING ? await startEventStoreDbDouble() : undefined;
  const config = {
    ...loadConfig({}),
    apiKeysJson: JSON.stringify(TEST_KEYS),
    apiKeysFile: undefined,
    eventStore: kind,
    eventStoreConnectionString: double?.connectionString ?? process.env.EVENTSTORE_CONNECTION_STRING,
    demo: false,
    ...overrides,
  };
  const startApi = () => startLedgerApi({ config, databaseUrl: database.url, port: 0, logLevels: ['error'] });
  const api = await startApi();
  return {
    api,
    database,
    eventStoreDouble: double,
    // Every answer a test reads is checked against the contract (libs/contract).
    client: (key = 'service-key-all') => new ContractCheckedClient(api.url, key),
    startAnotherApi: startApi,
    async close() {
      await api.close();
      await double?.stop();
      await database.drop();
      // Against a real server client 6.x appends through BatchAppend only: so must the tests.
      if (double && double.appends.answered.append > 0) {
        throw new Error(`the ledger appended ${double.appends.answered.append} times through Streams.Append`);
      }
    },
  };
}
