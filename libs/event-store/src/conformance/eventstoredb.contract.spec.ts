/**
 * The EventStoreDB adapter keeps the port's contract: always against the in-process, wire-compatible
 * test double, and also against a real EventStoreDB/KurrentDB when EVENTSTORE_CONNECTION_STRING is
 * set (e.g. `docker run -p 2113:2113 eventstore/eventstore:24.10 --insecure --run-projections=none`
 * and `EVENTSTORE_CONNECTION_STRING='esdb://localhost:2113?tls=false'`).
 */
import { startEventStoreDbDouble } from '../../../../test/support/eventstoredb-double/eventstoredb-double';
import { EventStoreDbEventStore } from '../eventstoredb/eventstoredb-event-store';
import { describeEventStoreContract } from './event-store-contract';

describeEventStoreContract('EventStoreDbEventStore on the test double', async () => {
  const double = await startEventStoreDbDouble();
  const store = EventStoreDbEventStore.connect(double.connectionString, { pageSize: 7 });
  return {
    store,
    open: async () => EventStoreDbEventStore.connect(double.connectionString),
    async close() {
      await store.close();
      await double.stop();
    },
  };
});

const real = process.env.EVENTSTORE_CONNECTION_STRING;
if (real) {
  describeEventStoreContract(`EventStoreDbEventStore on ${real}`, async () => {
    const store = EventStoreDbEventStore.connect(real);
    return { store, open: async () => EventStoreDbEventStore.connect(real), close: () => store.close() };
  });
}
