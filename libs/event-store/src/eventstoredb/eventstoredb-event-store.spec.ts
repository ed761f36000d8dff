/**
 * What only the EventStoreDB adapter does, against the in-process test double: surviving a server
 * restart and an outage, idempotent retries, ESDB's own metadata. The port's contract is in
 * ../conformance.
 */
import { EventStoreDBClient } from '@eventstore/db-client';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startEventStoreDbDouble,
  type EventStoreDbDouble,
} from '../../../../test/support/eventstoredb-double/eventstoredb-double';
import {
  collect,
  expectEachOnceInOrder,
  newEvent,
  newEvents,
  newStream,
  waitFor,
  writeConcurrently,
} from '../conformance/event-store-contract';
import type { RecordedEvent } from '../port';
import { EventStoreDbEventStore } from './eventstoredb-event-store';

let double: EventStoreDbDouble;
let store: EventStoreDbEventStore;

beforeAll(async () => {
  double = await startEventStoreDbDouble();
  store = EventStoreDbEventStore.connect(double.connectionString, { resubscribeDelayMs: [50, 200] });
});

afterAll(async () => {
  await store?.close();
  await double?.stop();
});

it('keeps the event id as the ESDB event id, so a retried append is idempotent', async () => {
  const streamId = newStream();
  const events = newEvents(2);
  const first = await store.append(streamId, events, 'no_stream');
  // The same append again, as after a lost reply: the server recognises the ids.
  expect(await store.append(streamId, events, 'no_stream')).toEqual(first);
  const read = await collect(store.readStream(streamId));
  expect(read.map((event) => event.metadata.eventId)).toEqual(events.map((event) => event.metadata.eventId));
});

it("adds ESDB's $correlationId and $causationId to the stored metadata, and reads them back out", async () => {
  const streamId = newStream();
  const event = newEvent();
  await store.append(streamId, [event], 'no_stream');

  const raw = EventStoreDBClient.connectionString(double.connectionString);
  const [stored] = await collect(raw.readStream(streamId));
  await raw.dispose();
  expect(stored?.event?.id).toBe(event.metadata.eventId);
  expect(stored?.event?.metadata).toMatchObject({
    $correlationId: event.metadata.correlationId,
    $causationId: event.metadata.causationId,
    commandId: event.metadata.commandId,
  });
  const [read] = await collect(store.readStream(streamId));
  expect(read?.metadata).toEqual(event.metadata);
});

it('resubscribes after the server restarts, losing and repeating nothing', async () => {
  const prefix = newStream('restart-');
  const received: RecordedEvent[] = [];
  const abort = new AbortController();
  const subscriber = (async () => {
    for await (const event of store.subscribeToAll({ streamPrefix: prefix, signal: abort.signal }))
      received.push(event);
  })();
  try {
    const first = await writeConcurrently(store, prefix, 3, 30);
    await waitFor(() => received.length >= first.size, 'the first events');
    await double.restart();
    const second = await writeConcurrently(store, `${prefix}after-`, 3, 30);
    await waitFor(() => received.length >= first.size + second.size, 'the events after the restart');
    await sleep(200);
    abort.abort();
    await subscriber;
    expectEachOnceInOrder(received, prefix, new Set([...first, ...second]));
  } finally {
    abort.abort();
  }
});

it('reports an outage while subscriptions are down, and recovers when the server is back', async () => {
  const prefix = newStream('outage-');
  const drops: string[] = [];
  const own = EventStoreDbEventStore.connect(double.connectionString, {
    resubscribeDelayMs: [50, 100],
    onSubscriptionDropped: (error) => drops.push(error.message),
  });
  const abort = new AbortController();
  const received: RecordedEvent[] = [];
  const subscriber = (async () => {
    for await (const event of own.subscribeToAll({ streamPrefix: prefix, signal: abort.signal })) received.push(event);
  })();
  try {
    await store.append(`${prefix}-a`, newEvents(1), 'no_stream');
    await waitFor(() => received.length === 1, 'the first event');
    expect(own.status().subscriptionsDown).toBe(0);

    await double.stop();
    await waitFor(() => own.status().subscriptionsDown === 1, 'the outage to show');
    await expect(own.headPosition()).rejects.toThrow();
    expect(own.status()).toMatchObject({ subscriptionsDown: 1, downSince: expect.any(Date) });
    expect(drops.length).toBeGreaterThan(0);

    await double.start();
    await store.append(`${prefix}-a`, newEvents(1), 0n);
    await waitFor(() => received.length === 2, 'the event after the outage');
    expect(own.status()).toEqual({ subscriptionsDown: 0, downSince: null, lastError: null });
  } finally {
    abort.abort();
    await subscriber;
    await own.close();
  }
});

it('counts lag up to a limit', async () => {
  const prefix = newStream('limit-');
  const limited = EventStoreDbEventStore.connect(double.connectionString, { countLimit: 5, pageSize: 2 });
  try {
    await store.append(prefix, newEvents(8), 'no_stream');
    expect(await limited.countAfter({ streamPrefix: prefix })).toBe(5);
  } finally {
    await limited.close();
  }
});
