/**
 * One real Postgres for the whole test run: the embedded default, started once on a free port in
 * a throwaway directory. Each test file makes its own database in it (see database.ts).
 */
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { bundlePages } from '../../apps/web/bundler/bundle-pages';
import { startEmbeddedPostgres } from '../../libs/platform/src/embedded-postgres';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export default async function globalSetup(): Promise<void> {
  // The API serves the pages from dist/web: the browser tests see what `npm run build` makes.
  await bundlePages();
  if (process.env.TEST_DATABASE_URL) return; // an outside Postgres was given
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ledger-test-'));
  const postgres = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
  process.env.TEST_DATABASE_URL = postgres.url;
  (globalThis as { __LEDGER_TEST_POSTGRES__?: typeof postgres }).__LEDGER_TEST_POSTGRES__ = postgres;
}
