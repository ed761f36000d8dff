/**
 * Real Postgres for the test run: the embedded default, one server per jest worker, each on a
 * free port in a throwaway directory. Each test file makes its own database in its worker's server
 * (see database.ts). One server per worker, not one for all: the event store reads the log below
 * the oldest transaction still running anywhere in its server, so another file's open write
 * transaction would hold this file's log back (only latency, but tests that append and read
 * straight away would have to wait for strangers).
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundlePages } from '../../apps/web/bundler/bundle-pages';
import { startEmbeddedPostgres } from '../../libs/platform/src/embedded-postgres';
import { freePort } from '../../libs/platform/src/free-port';

/** jest.config.js's maxWorkers: worker N (JEST_WORKER_ID) uses server N. */
const WORKERS = 2;

export default async function globalSetup(): Promise<void> {
  // The API serves the pages from dist/web: the browser tests see what `npm run build` makes.
  await bundlePages();
  if (process.env.TEST_DATABASE_URL) return; // an outside Postgres was given
  const servers = await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ledger-test-'));
      return startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
    }),
  );
  process.env.TEST_DATABASE_URLS = JSON.stringify(servers.map((server) => server.url));
  (globalThis as { __LEDGER_TEST_POSTGRES__?: typeof servers }).__LEDGER_TEST_POSTGRES__ = servers;
}
