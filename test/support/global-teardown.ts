import type { RunningPostgres } from '../../libs/platform/src/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as { __LEDGER_TEST_POSTGRES__?: RunningPostgres[] }).__LEDGER_TEST_POSTGRES__ ?? [];
  await Promise.all(servers.map((server) => server.stop()));
}
