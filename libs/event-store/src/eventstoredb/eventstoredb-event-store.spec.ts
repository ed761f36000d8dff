/**
 * What only the EventStoreDB adapter does, against the in-process test double (through the real
 * client, appending through BatchAppend): surviving a server restart, an outage, a dropped batch
 * stream and a poison event; idempotent retries; the answer's positions; server checkpoints as
 * progress; reads filtered on the server; ESDB's own metadata. The port's contract is in
 * ../conformance.
 */
import {
  binaryEvent,
  DeadlineExceededError,
  EventStoreDBClient,
  jsonEvent,
  START,
  UnavailableError,
  type AllStreamSubscription,
  type Position,
} from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
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
import { toLedgerEvent } from '../account-stream';
import { comparePositions, type GlobalPosition, type RecordedEvent } from '../port';
import { EventStoreDbEventStore, withConnectionSettings, type EventStoreDbOptions } from './eventstoredb-event-store';
import { waitUntil } from '../../../../test/support/wait';

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

/** A store on its own client, which a test may watch. */
function ownStore(options: EventStoreDbOptions = {}) {
  const client = EventStoreDBClient.connectionString(double.connectionString);
  return { client, store: new EventStoreDbEventStore(client, options) };
}

/** Follows a subscription into an array until stopped. */
function follow(own: EventStoreDbEventStore, streamPrefix: string, after?: GlobalPosition) {
  const received: RecordedEvent[] = [];
  const abort = new AbortController();
  const done = (async () => {
    for await (const event of own.subscribeToAll({ streamPrefix, after, signal: abort.signal })) received.push(event);
  })();
  return {
    received,
    async stop() {
      abort.abort();
      await done;
    },
  };
}

describe('appends', () => {
  it("answers with the last event's own position, reading nothing back", async () => {
    const { client, store: own } = ownStore();
    const reads = jest.spyOn(client, 'readStream');
    try {
      const streamId = newStream();
      const appended = await own.append(streamId, newEvents(3), 'no_stream');
      expect(reads).not.toHaveBeenCalled();
      const last = double.log.streams.get(streamId)!.at(-1)!;
      expect(appended).toEqual({ revision: 2n, position: { commit: last.position, prepare: last.position } });
    } finally {
      await own.close();
    }
  });

  it.each([
    ['before-write', 'stream'],
    ['after-write', 'stream'],
    ['before-write', 'connection'],
    ['after-write', 'connection'],
  ] as const)('sends an append again when the %s drop of the %s loses it: stored once', async (at, drop) => {
    const retried: string[] = [];
    // Wide: after a dropped connection the server needs a moment to listen again.
    const own = EventStoreDbEventStore.connect(double.connectionString, {
      appendAttempts: 10,
      resubscribeDelayMs: [50, 1000],
      onAppendRetried: (error) => retried.push(error.constructor.name),
    });
    try {
      const streamId = newStream('dropped-');
      const events = newEvents(3);
      const dropped = double.appends.failNextBatchAppend({ at, drop });
      const appended = await own.append(streamId, events, 'no_stream');
      await dropped;
      expect(retried.length).toBeGreaterThan(0);
      expect(retried[0]).toMatch(drop === 'stream' ? 'UnavailableError' : /UnavailableError|CancelledError/);
      const read = await collect(own.readStream(streamId));
      expect(read.map((event) => event.metadata.eventId)).toEqual(events.map((event) => event.metadata.eventId));
      expect(appended).toEqual({ revision: 2n, position: read[2]?.position });
    } finally {
      await own.close();
    }
  });

  it('gives up after its attempts, with the error that stopped it', async () => {
    const own = EventStoreDbEventStore.connect(double.connectionString, { appendAttempts: 1 });
    try {
      const streamId = newStream();
      const dropped = double.appends.failNextBatchAppend({ at: 'before-write', drop: 'stream' });
      await expect(own.append(streamId, newEvents(1), 'no_stream')).rejects.toBeInstanceOf(UnavailableError);
      await dropped;
      expect(await collect(own.readStream(streamId))).toEqual([]);
    } finally {
      await own.close();
    }
  });
});

describe('events the ledger cannot read', () => {
  it('delivers each in its place, marked, without dropping the subscription; toLedgerEvent refuses it', async () => {
    const prefix = newStream('poison-');
    const streamId = `${prefix}-a`;
    const drops: string[] = [];
    const own = EventStoreDbEventStore.connect(double.connectionString, {
      onSubscriptionDropped: (error) => drops.push(error.message),
    });
    const raw = EventStoreDBClient.connectionString(double.connectionString);
    const following = follow(own, prefix);
    try {
      const good = (revision: bigint) =>
        own.append(streamId, newEvents(1), revision === 0n ? 'no_stream' : revision - 1n);
      await good(0n);
      const meta = { eventId: randomUUID() };
      await raw.appendToStream(streamId, [
        binaryEvent({ type: 'CreditsGranted', data: Buffer.from('{"not":"json"}') }),
        jsonEvent({ type: 'CreditsGranted', data: [1, 2], metadata: meta }),
        jsonEvent({ type: 'CreditsGranted', data: { amount: '1' } }),
        jsonEvent({ type: 'CreditsGranted', data: { amount: '1' }, metadata: Buffer.from('raw bytes') }),
      ]);
      // Written by a foreign tool: JSON by its content type, not by its bytes.
      double.log.write(streamId, [
        {
          id: randomUUID(),
          type: 'CreditsGranted',
          contentType: 'application/json',
          data: Buffer.from('{"amount": '),
          customMetadata: Buffer.from(JSON.stringify(meta)),
        },
      ]);
      await good(6n);

      await waitUntil(() => following.received.length === 7, 'every event, the unreadable ones included');
      expect(following.received.map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n]);
      expect(following.received.map((event) => event.undecodable?.reason)).toEqual([
        undefined,
        'it is stored as binary, not JSON',
        'its data is not a JSON object',
        'its metadata is not a JSON object with an eventId',
        'its metadata is not a JSON object with an eventId',
        'its data is not a JSON object',
        undefined,
      ]);
      const [, binary, , , rawMetadata, malformed] = following.received;
      expect(Buffer.from(binary!.undecodable!.storedData).toString()).toBe('{"not":"json"}');
      expect(Buffer.from(rawMetadata!.undecodable!.storedMetadata).toString()).toBe('raw bytes');
      expect(Buffer.from(malformed!.undecodable!.storedData).toString()).toBe('{"amount": ');
      for (const event of following.received.slice(1, 6)) {
        expect(event).toMatchObject({ type: 'CreditsGranted', data: {} });
        expect(() => toLedgerEvent(event)).toThrow(/cannot be read as a ledger event/);
      }
      expect(drops).toEqual([]);
      expect(own.status().subscriptionsDown).toBe(0);
      // Reads return them as the subscription does.
      expect(await collect(own.readStream(streamId))).toEqual(following.received);
      expect(await own.readAll({ streamPrefix: prefix })).toEqual(following.received);
    } finally {
      await following.stop();
      await raw.dispose();
      await own.close();
    }
  });
});

describe('server checkpoints', () => {
  /** Records the position each subscription to $all starts from, and its checkpoints. */
  function watchSubscriptions(client: EventStoreDBClient) {
    const starts: unknown[] = [];
    const checkpoints: Position[] = [];
    const subscribe = client.subscribeToAll.bind(client);
    jest.spyOn(client, 'subscribeToAll').mockImplementation((options = {}, readable) => {
      starts.push(options.fromPosition);
      const filter = options.filter;
      return subscribe(
        {
          ...options,
          filter: filter && {
            ...filter,
            checkpointReached: (subscription: AllStreamSubscription, position: Position) => {
              checkpoints.push(position);
              return filter.checkpointReached?.(subscription, position);
            },
          },
        },
        readable,
      );
    });
    return { starts, checkpoints };
  }

  it('resubscribes from the last checkpoint past the last event, not from that event', async () => {
    const prefix = newStream('progress-');
    const progress: GlobalPosition[] = [];
    const { client, store: own } = ownStore({
      pageSize: 5,
      resubscribeDelayMs: [50, 200],
      onProgress: (position) => progress.push(position),
    });
    const watched = watchSubscriptions(client);
    const following = follow(own, prefix);
    try {
      const first = await own.append(`${prefix}-a`, newEvents(1), 'no_stream');
      await waitUntil(() => following.received.length === 1, 'the first event');
      // Other streams' events: the filter passes over them, and the server says so with checkpoints.
      for (let i = 0; i < 20; i++) await store.append(newStream('noise-'), newEvents(1), 'no_stream');
      await waitUntil(
        () => progress.some((position) => comparePositions(position, first.position) > 0),
        'progress past the first event',
      );
      const before = progress.at(-1)!;

      await double.restart();
      await waitUntil(() => watched.starts.length === 2, 'the resubscription');
      expect(watched.starts[1]).toEqual(progress.at(-1));
      expect(comparePositions(progress.at(-1)!, before)).toBeGreaterThanOrEqual(0);

      await own.append(`${prefix}-a`, newEvents(1), 0n);
      await waitUntil(() => following.received.length === 2, 'the event after the restart');
      await sleep(200); // time for a duplicate to show up, if there were one
      expect(following.received.map((event) => event.revision)).toEqual([0n, 1n]);
    } finally {
      await following.stop();
      await own.close();
    }
  });

  it('does not take the server\'s "end" checkpoint for progress', async () => {
    // A fresh server whose log holds nothing the filter matches, fewer events than its window.
    const fresh = await startEventStoreDbDouble({ statsEvery: 0 });
    const client = EventStoreDBClient.connectionString(fresh.connectionString);
    const own = new EventStoreDbEventStore(client, { resubscribeDelayMs: [50, 200] });
    const watched = watchSubscriptions(client);
    const prefix = newStream('later-');
    const following = follow(own, prefix);
    try {
      await waitUntil(() => watched.checkpoints.length > 0, 'the catch-up checkpoint');
      expect(watched.checkpoints[0]!.commit).toBe((1n << 64n) - 1n);
      await fresh.restart();
      await waitUntil(() => watched.starts.length === 2, 'the resubscription');
      expect(watched.starts).toEqual([START, START]);
      await own.append(`${prefix}-a`, newEvents(1), 'no_stream');
      await waitUntil(() => following.received.length === 1, 'the event written later');
    } finally {
      await following.stop();
      await own.close();
      await fresh.stop();
    }
  });
});

describe('reads of $all', () => {
  it('filter on the server: only the matching events reach the client', async () => {
    const prefix = newStream('sparse-');
    const { client, store: own } = ownStore({ pageSize: 50 });
    const after = (await own.headPosition()) ?? undefined;
    let delivered = 0;
    const subscribe = client.subscribeToAll.bind(client);
    jest.spyOn(client, 'subscribeToAll').mockImplementation((...args) => {
      const subscription = subscribe(...args);
      subscription.on('data', () => delivered++);
      return subscription;
    });
    const readAll = jest.spyOn(client, 'readAll');
    try {
      await own.append(`${prefix}-a`, newEvents(2), 'no_stream');
      for (let i = 0; i < 200; i++) await store.append(newStream('noise-'), newEvents(1), 'no_stream');
      await own.append(`${prefix}-b`, newEvents(1), 'no_stream');

      expect(await own.countAfter({ after, streamPrefix: prefix })).toBe(3);
      expect(delivered).toBe(3);
      expect((await own.readAll({ after, streamPrefix: prefix, maxCount: 10 })).map((event) => event.streamId)).toEqual(
        [`${prefix}-a`, `${prefix}-a`, `${prefix}-b`],
      );
      expect(delivered).toBe(6);
      expect(readAll).not.toHaveBeenCalled();
    } finally {
      await own.close();
    }
  });

  it('fails a read the server leaves unanswered for a whole deadline', async () => {
    const own = EventStoreDbEventStore.connect(double.connectionString, { connection: { deadlineMs: 300 } });
    const held = double.reads.hold();
    try {
      await expect(own.readAll({ streamPrefix: newStream() })).rejects.toBeInstanceOf(DeadlineExceededError);
    } finally {
      held.release();
      await own.close();
    }
  });
});

it('states the deadline and keepalive in the connection string, leaving those it names itself', () => {
  expect(withConnectionSettings('esdb://db:2113?tls=false', { deadlineMs: 30_000 })).toEqual({
    connectionString: 'esdb://db:2113?tls=false&defaultDeadline=30000&keepAliveInterval=10000&keepAliveTimeout=10000',
    settings: { deadlineMs: 30_000, keepAliveIntervalMs: 10_000, keepAliveTimeoutMs: 10_000 },
  });
  expect(withConnectionSettings('esdb://db:2113?KeepAliveTimeout=20000', {}).connectionString).toBe(
    'esdb://db:2113?KeepAliveTimeout=20000&defaultDeadline=10000&keepAliveInterval=10000',
  );
});
