/** The real projector, running in-process over a test ledger's database until stopped. */
import { projections, toProjectedEvent } from '@ledger/projections';
import { Projector } from '../../apps/projector/src/projector';
import type { TestLedger } from './ledger-api';

export interface RunningProjector {
  readonly projector: Projector;
  stop(): Promise<void>;
}

export function startProjector(ledger: TestLedger): RunningProjector {
  const { db, eventStore } = ledger.api.infrastructure;
  const projector = new Projector({
    db,
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
