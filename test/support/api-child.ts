/** The process api-process.ts starts: the real API on argv[2]'s database, its URL sent to the parent. */
import 'reflect-metadata';
import { loadConfig } from '@ledger/platform';
import { startLedgerApi } from '../../apps/api/src/bootstrap';

async function main(): Promise<void> {
  const databaseUrl = process.argv[2];
  if (!databaseUrl) throw new Error('usage: api-child <database url>');
  const api = await startLedgerApi({ config: loadConfig(), databaseUrl, port: 0, logLevels: ['error'] });
  process.send?.({ url: api.url });
  // The parent going away must not leave an API running.
  process.on('disconnect', () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
