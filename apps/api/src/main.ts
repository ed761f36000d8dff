/**
 * `npm start`: the ledger API on PORT (3000), on DATABASE_URL or — without one — the embedded
 * Postgres under .data/. SIGINT/SIGTERM let in-flight commands finish, then stop Postgres.
 */
import 'reflect-metadata';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { ConfigurationError, loadConfig, startEmbeddedPostgres, type RunningPostgres } from '@ledger/platform';
import { startLedgerApi } from './bootstrap';

async function main(): Promise<void> {
  const jsonLogs = !process.stdout.isTTY;
  if (jsonLogs) Logger.overrideLogger(new ConsoleLogger({ json: true, colors: false }));
  const logger = new Logger('ledger');
  const config = loadConfig();
  let postgres: RunningPostgres | undefined;
  if (!config.databaseUrl) {
    logger.log(`starting the embedded Postgres in ${config.dataDir}`);
    postgres = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort });
  }
  const api = await startLedgerApi({
    config,
    databaseUrl: config.databaseUrl ?? postgres!.url,
    port: config.port,
    host: process.env.HOST || '127.0.0.1',
    jsonLogs,
  });
  if (api.infrastructure.apiKeys.usingDevelopmentKeys) {
    logger.warn('no API_KEYS or API_KEYS_FILE set: using the development keys from README.md');
  }
  logger.log(`credit ledger listening on ${api.url} (OpenAPI at ${api.url}/docs)`);
  api.demo.then(
    (demo) => {
      if (demo !== 'off') logger.log(`demo workspace ${demo}: ${api.url}/workspace/billing?state=demo`);
    },
    (error: unknown) => logger.error(`the demo workspace could not be made: ${String(error)}`),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: finishing in-flight commands and stopping`);
    await api.close();
    await postgres?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  // A setting to fix is one line saying what to do; anything else is a fault, with its stack.
  console.error(error instanceof ConfigurationError ? `credit ledger: ${error.message}` : error);
  process.exit(1);
});
