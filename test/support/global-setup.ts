/**
 * One real Postgres for the whole test run: the embedded default, started once on a free port in
 * a throwaway directory. Each test file makes its own database in it (see database.ts).
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundlePages } from '../../apps/web/bundler/bundle-pages';
import { startEmbeddedPostgres } from '../../libs/platform/src/embedded-postgres';
import { freePort } from '../../libs/platform/src/free-port';

export default async function globalSetup(): Promise<void> {
  // The API serves the pages from dist/web: the browser tests see what `npm run build` makes.
  await bundlePages();
  if (process.env.TEST_DATABASE_URL) return; // an outside Postgres was given
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ledger-test-'));
  const postgres = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
  process.env.TEST_DATABASE_URL = postgres.url;
  (globalThis as { __LEDGER_TEST_POSTGRES__?: typeof postgres }).__LEDGER_TEST_POSTGRES__ = postgres;
}
