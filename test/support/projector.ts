/** The real projector, running in-process over a test ledger's database until stopped. */
import { projections, toProjectedEvent, type ReadModelTables } from '@ledger/projections';
import type { Kysely } from 'kysely';
import { Projector } from '../../apps/projector/src/projector';
import type { TestLedger } from './ledger-api';

export { Projector };

export interface RunningProjector {
  readonly projector: Projector;
  stop(): Promise<void>;
}

export function startProjector(ledger: TestLedger): RunningProjector {
  const { db, eventStore } = ledger.api.infrastructure;
  const projector = new Projector({
    // The ledger database holds the read models among its tables.
    db: db as unknown as Kysely<ReadModelTables>,
    store: eventStore,
    projections,
    toProjectedEvent,
    flushIntervalMs: 5,
    retryDelayMs: [20, 200],
  });
  const controller = new AbortController();
  const done = projector.run(controller.signal);
  return {
    projector,
    async stop() {
      controller.abort();
      await done;
    },
  };
}
