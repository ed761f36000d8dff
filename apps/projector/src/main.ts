/**
 * `npm run projector`: the projector worker. Keeps every read model up to date with the event
 * store, on DATABASE_URL or — without one — the embedded Postgres under .data/. SIGINT/SIGTERM let
 * each projection commit the batch it holds, then stop; a second signal stops at once.
 * PROJECTOR_BATCH_SIZE (500) caps a batch; PROJECTOR_FLUSH_INTERVAL_MS (0) lets a batch wait that long
 * for companions (fewer, larger transactions under light load, at the price of latency).
 * The webhook delivery worker (webhooks/delivery-worker.ts) runs beside the projector, on a pool of
 * its own, so that slow receivers never take the projector's connections.
 */
import { createEventStore } from '@ledger/event-store';
import { createKysely, createPool, loadConfig, migrate } from '@ledger/platform';
import { projections, toProjectedEvent, type ReadModelTables } from '@ledger/projections';
import { once } from 'node:events';
import { openWorkerDatabase } from './database';
import { createLog } from '@ledger/platform';
import { ledgerMigrations } from '@ledger/database';
import { DEFAULT_BATCH_SIZE, Projector } from './projector';
import { DeliveryWorker } from './webhooks/delivery-worker';
import type { LedgerDatabase } from '@ledger/database';

async function main(): Promise<void> {
  const log = createLog('projector');
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      log.warn(`${signal} again: stopping at once`);
      process.exit(130);
    }
    log.info(`${signal}: committing the current batches and stopping`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const config = loadConfig();
  const database = await openWorkerDatabase(config, log);
  // Each projection holds one connection to listen for new events and one for its transactions.
  const pool = createPool(database.url, { max: projections.length * 2 + 4 });
  const db = createKysely<ReadModelTables>(pool);
  const webhookPool = createPool(database.url, { max: 4 });
  const webhookDb = createKysely<LedgerDatabase>(webhookPool);
  const batchSize = positiveInteger('PROJECTOR_BATCH_SIZE') ?? DEFAULT_BATCH_SIZE;
  // A subscription reads ahead one page while the last batch commits.
  // Events come from the configured store; read models and checkpoints stay in Postgres either way.
  const store = createEventStore(config, pool, {
    pageSize: batchSize * 2,
    eventStoreDb: {
      onSubscriptionDropped: (error, retryInMs) =>
        log.warn('event store subscription dropped; resubscribing from the last event', {
          error: error.message,
          retryInMs,
        }),
    },
  });
  try {
    await migrate(db, ledgerMigrations);
    const projector = new Projector({
      db,
      store,
      projections,
      toProjectedEvent,
      log,
      batchSize,
      flushIntervalMs: wholeNumber('PROJECTOR_FLUSH_INTERVAL_MS', 0),
    });
    log.info('projector started', { projections: projections.map((projection) => projection.name) });
    const worker = new DeliveryWorker({ db: webhookDb, databaseUrl: database.url, config: config.webhooks, log });
    const delivering = worker.run(controller.signal);
    log.info('webhook delivery worker started', { owner: worker.owner });
    await projector.run(controller.signal);
    if (!controller.signal.aborted) {
      // Every projection failed; restarting the process retries them. Until then there is nothing to do.
      log.error('every projection has stopped on a failure; waiting to be restarted');
      await once(controller.signal, 'abort');
    }
    await delivering;
  } finally {
    await store.close();
    await webhookDb.destroy();
    await db.destroy();
    await database.close();
  }
  log.info('projector stopped');
}

/** An optional tuning knob from the environment. */
function positiveInteger(name: string): number | undefined {
  return wholeNumber(name, 1);
}

function wholeNumber(name: string, least: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < least) throw new Error(`${name} must be a whole number of at least ${least}`);
  return value;
}

main().catch((error: unknown) => {
  createLog('projector').error('projector crashed', { error: error instanceof Error ? error.stack : String(error) });
  process.exit(1);
});
