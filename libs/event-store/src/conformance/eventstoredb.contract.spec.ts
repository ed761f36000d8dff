/**
 * The EventStoreDB adapter keeps the port's contract: always against the in-process, wire-compatible
 * test double (appending through BatchAppend, as against a real server, with its faults), and also
 * against a real EventStoreDB/KurrentDB when EVENTSTORE_CONNECTION_STRING is set (e.g. `docker run
 * -p 2113:2113 eventstore/eventstore:24.10 --insecure --run-projections=none` and
 * `EVENTSTORE_CONNECTION_STRING='esdb://localhost:2113?tls=false'`).
 */
import { binaryEvent, EventStoreDBClient } from '@eventstore/db-client';
import {
  startEventStoreDbDouble,
  type EventStoreDbDouble,
} from '../../../../test/support/eventstoredb-double/eventstoredb-double';
import { EventStoreDbEventStore } from '../eventstoredb/eventstoredb-event-store';
import { describeEventStoreContract } from './event-store-contract';

let double: EventStoreDbDouble | undefined;

describeEventStoreContract(
  'EventStoreDbEventStore on the test double',
  async () => {
    const own = await startEventStoreDbDouble();
    double = own;
    const store = EventStoreDbEventStore.connect(own.connectionString, { pageSize: 7 });
    const raw = EventStoreDBClient.connectionString(own.connectionString);
    return {
      store,
      open: async () => EventStoreDbEventStore.connect(own.connectionString),
      faults: {
        dropNextAppend: (at) => own.appends.failNextBatchAppend({ at, drop: 'stream' }),
        async writeUnreadable(streamId) {
          await raw.appendToStream(streamId, binaryEvent({ type: 'Foreign', data: Buffer.from('not json') }));
        },
      },
      async close() {
        await raw.dispose();
        await store.close();
        await own.stop();
      },
    };
  },
  { faults: true },
);

it('appended through BatchAppend only, as against a real server', () => {
  expect(double?.appends.answered.append).toBe(0);
  expect(double?.appends.answered.batchAppend).toBeGreaterThan(100);
});

const real = process.env.EVENTSTORE_CONNECTION_STRING;
if (real) {
  describeEventStoreContract(`EventStoreDbEventStore on ${real}`, async () => {
    const store = EventStoreDbEventStore.connect(real);
    return { store, open: async () => EventStoreDbEventStore.connect(real), close: () => store.close() };
  });
}
