/** The real API, listening on a free port over a fresh test database: what end-to-end tests talk to. */
import 'reflect-metadata';
import { loadConfig } from '@ledger/platform';
import { startLedgerApi, type LedgerApi } from '../../apps/api/src/bootstrap';
import { LedgerClient } from '../../apps/cli/src/ledger-client';
import { createTestDatabase, type TestDatabase } from './database';

export interface TestLedger {
  readonly api: LedgerApi;
  readonly database: TestDatabase;
  client(key?: string): LedgerClient;
  close(): Promise<void>;
}

export const TEST_KEYS = [
  { key: 'service-key-all', principal: 'svc-runner', role: 'service', accounts: '*' },
  { key: 'service-key-acme', principal: 'svc-acme', role: 'service', accounts: ['acme'] },
  { key: 'dashboard-key-all', principal: 'dash', role: 'dashboard', accounts: '*' },
  { key: 'auditor-key-all', principal: 'audit', role: 'auditor', accounts: '*' },
];

export async function startTestLedger(): Promise<TestLedger> {
  const database = await createTestDatabase();
  const config = { ...loadConfig({}), apiKeysJson: JSON.stringify(TEST_KEYS), apiKeysFile: undefined };
  const api = await startLedgerApi({ config, databaseUrl: database.url, port: 0, logLevels: ['error'] });
  return {
    api,
    database,
    client: (key = 'service-key-all') => new LedgerClient(api.url, key),
    async close() {
      await api.close();
      await database.drop();
    },
  };
}
