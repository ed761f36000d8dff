/**
 * The test double against EventStoreDB's documented behaviour, through the real client
 * (`@eventstore/db-client`), which is what makes it worth trusting in the other tests.
 */
import { defined } from '../defined';
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  eventTypeFilter,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  START,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type Filter,
  type Position,
  type ReadPosition,
} from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { MAX_APPEND_SIZE, startEventStoreDbDouble, type EventStoreDbDouble } from './eventstoredb-double';
import { waitUntil } from '../wait';

let double: EventStoreDbDouble;
let client: EventStoreDBClient;

beforeAll(async () => {
  double = await startEventStoreDbDouble({ statsEvery: 2 });
  client = EventStoreDBClient.connectionString(double.connectionString);
});

afterAll(async () => {
  await client?.dispose();
  await double?.stop();
});

const event = (type = 'Happened', data: Record<string, unknown> = {}) =>
  jsonEvent({ id: randomUUID(), type, data, metadata: { by: 'test' } });

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Subscribes to $all until `count` events arrived, noting the subscription's messages. */
/** Subscribes and takes `count` events: `messages` fills as they come, `done` has everything. */
function startSubscription(fromPosition: ReadPosition, count: number, filter?: Filter) {
  const messages: string[] = [];
  const events: AllStreamResolvedEvent[] = [];
  const checkpoints: Position[] = [];
  const subscription = client.subscribeToAll({
    fromPosition,
    filter: filter && {
      ...filter,
      checkpointReached: (_s: unknown, position: Position) => void checkpoints.push(position),
    },
  });
  subscription.on('confirmation', () => messages.push('confirmation'));
  subscription.on('caughtUp', () => messages.push('caughtUp'));
  const taken = new Promise<void>((resolve, reject) => {
    subscription.on('error', reject);
    subscription.on('data', (resolved: AllStreamResolvedEvent) => {
      messages.push('event');
      events.push(resolved);
      if (events.length === count) resolve();
    });
    if (count === 0) subscription.on('caughtUp', () => resolve());
  });
  const done = taken.then(async () => {
    await subscription.unsubscribe();
    return { messages, events, checkpoints };
  });
  return { messages, done };
}

const subscribe = (fromPosition: ReadPosition, count: number, filter?: Filter) =>
  startSubscription(fromPosition, count, filter).done;

it('answers ServerFeatures.GetSupportedMethods with Read and Append (no BatchAppend)', async () => {
  const clientRoot = path.dirname(require.resolve('@eventstore/db-client/package.json'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { StreamsService } = require(path.join(clientRoot, 'generated/streams_grpc_pb')) as {
    StreamsService: Record<string, { path: string }>;
  };
  // The client's own check (protected in its types), which decides between Append and BatchAppend.
  const supports = (method: { path: string }) =>
    (client as unknown as { supports(method: { path: string }): Promise<boolean> }).supports(method);
  expect(await supports(defined(StreamsService.read))).toBe(true);
  expect(await supports(defined(StreamsService.append))).toBe(true);
  expect(await supports(defined(StreamsService.batchAppend))).toBe(false);
});

describe('Streams.Append', () => {
  it('appends under an expected revision and answers the revision and position', async () => {
    const stream = `orders-${randomUUID()}`;
    const first = await client.appendToStream(stream, [event(), event()], { expectedRevision: NO_STREAM });
    expect(first).toMatchObject({ success: true, nextExpectedRevision: 1n });
    const second = await client.appendToStream(stream, event(), { expectedRevision: 1n });
    expect(second.nextExpectedRevision).toBe(2n);
    expect(second.position!.commit).toBeGreaterThan(first.position!.commit);
  });

  it('answers a wrong expected version with a WrongExpectedVersion reply, not a gRPC error', async () => {
    const stream = `orders-${randomUUID()}`;
    await client.appendToStream(stream, event(), { expectedRevision: NO_STREAM });
    // With throwOnAppendFailure off the client returns the reply: a gRPC error would reject instead.
    const quiet = new EventStoreDBClient(
      { endpoint: `127.0.0.1:${double.port}`, throwOnAppendFailure: false },
      { insecure: true },
    );
    try {
      expect(await quiet.appendToStream(stream, event(), { expectedRevision: 5n })).toEqual({
        success: false,
        nextExpectedRevision: 0n,
        position: undefined,
      });
    } finally {
      await quiet.dispose();
    }
    const error = await client
      .appendToStream(stream, event(), { expectedRevision: NO_STREAM })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error).toMatchObject({ streamName: stream, expectedVersion: 'no_stream', actualVersion: 0n });
    const missing = await client
      .appendToStream(`none-${randomUUID()}`, event(), { expectedRevision: 0n })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ expectedVersion: 0n, actualVersion: 'no_stream' });
  });

  it('is idempotent for the same event ids after the same revision', async () => {
    const stream = `orders-${randomUUID()}`;
    const events = [event(), event()];
    const first = await client.appendToStream(stream, events, { expectedRevision: NO_STREAM });
    expect(await client.appendToStream(stream, events, { expectedRevision: NO_STREAM })).toEqual(first);
    expect(await all(client.readStream(stream))).toHaveLength(2);
  });

  it('refuses an append over the maximum append size', async () => {
    const big = event('Big', { text: 'x'.repeat(MAX_APPEND_SIZE) });
    await expect(client.appendToStream(`big-${randomUUID()}`, big)).rejects.toMatchObject({
      type: 'maximum-append-size-exceeded',
    });
  });
});

describe('Streams.Read of a stream', () => {
  it('reads forwards and backwards, from the start, the end or a revision', async () => {
    const stream = `orders-${randomUUID()}`;
    await client.appendToStream(
      stream,
      [0, 1, 2, 3].map((i) => event('Happened', { i })),
    );
    const revisions = async (options: Parameters<EventStoreDBClient['readStream']>[1]) =>
      (await all(client.readStream(stream, options))).map((resolved) => resolved.event!.revision);
    expect(await revisions({ fromRevision: START, direction: FORWARDS })).toEqual([0n, 1n, 2n, 3n]);
    expect(await revisions({ fromRevision: 2n, direction: FORWARDS })).toEqual([2n, 3n]);
    expect(await revisions({ fromRevision: END, direction: BACKWARDS, maxCount: 2 })).toEqual([3n, 2n]);
    expect(await revisions({ fromRevision: 1n, direction: BACKWARDS })).toEqual([1n, 0n]);
  });

  it('returns each event with a string UUID, its type, JSON data, metadata and created in 100 ns ticks', async () => {
    const stream = `orders-${randomUUID()}`;
    const appended = event('OrderPlaced', { total: '12.50' });
    const before = Date.now();
    await client.appendToStream(stream, appended);
    const [{ event: read } = {}] = await all(client.readStream(stream));
    expect(read).toMatchObject({
      id: appended.id,
      streamId: stream,
      type: 'OrderPlaced',
      isJson: true,
      data: { total: '12.50' },
      metadata: { by: 'test' },
    });
    // The client divides by 10 000 ticks per millisecond: a right date means ticks were sent.
    expect(read!.created.getTime()).toBeGreaterThanOrEqual(before - 5);
    expect(read!.created.getTime()).toBeLessThanOrEqual(Date.now() + 5);
  });

  it('answers StreamNotFound for a stream that does not exist', async () => {
    await expect(all(client.readStream(`none-${randomUUID()}`))).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('Streams.Read of $all', () => {
  it('holds system events ($-prefixed streams and types) among the application events', async () => {
    await client.appendToStream(`orders-${randomUUID()}`, [event()]);
    await client.appendToStream(`orders-${randomUUID()}`, [event()]);
    const events = (await all(client.readAll())).map((resolved) => resolved.event!);
    expect(events.some((e) => e.streamId.startsWith('$') && e.type.startsWith('$'))).toBe(true);
    expect(events.some((e) => e.type === '$statsCollected')).toBe(true);
    expect(events.some((e) => !e.type.startsWith('$'))).toBe(true);
  });

  it('reads forwards from a position including the event at it, backwards from one excluding it', async () => {
    const stream = `orders-${randomUUID()}`;
    await client.appendToStream(
      stream,
      [0, 1, 2].map((i) => event('Happened', { i })),
    );
    const ours = (await all(client.readAll())).filter((resolved) => resolved.event!.streamId === stream);
    const second = defined(ours[1]?.event?.position, 'the second event’s position');

    const forwards = await all(client.readAll({ fromPosition: second, maxCount: 2 }));
    expect(forwards.map((resolved) => resolved.event!.position)).toEqual([second, ours[2]?.event!.position]);
    const backwards = await all(client.readAll({ fromPosition: second, direction: BACKWARDS, maxCount: 1 }));
    expect(backwards.map((resolved) => resolved.event!.position)).toEqual([ours[0]?.event!.position]);
    const fromEnd = await all(client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 }));
    const head = (await all(client.readAll())).at(-1)!;
    expect(fromEnd[0]?.event!.position).toEqual(head.event!.position);
  });

  it('orders $all by commit, then prepare position', async () => {
    await client.appendToStream(`orders-${randomUUID()}`, [event(), event(), event()]);
    const positions = (await all(client.readAll())).map((resolved) => resolved.event!.position!);
    positions.forEach((b, i) => {
      const a = positions[i - 1];
      if (a) expect(a.commit < b.commit || (a.commit === b.commit && a.prepare < b.prepare)).toBe(true);
    });
  });
});

describe('subscriptions to $all', () => {
  it('confirms, sends the backlog, says it caught up, then sends live events', async () => {
    const stream = `orders-${randomUUID()}`;
    await client.appendToStream(stream, [event()]);
    const total = (await all(client.readAll())).length;
    const subscribing = startSubscription(START, total + 1);
    // The live event is appended once the subscription has said it caught up (or it is backlog).
    await Promise.race([
      waitUntil(() => subscribing.messages.includes('caughtUp'), 'the subscription to catch up'),
      subscribing.done,
    ]);
    await client.appendToStream(stream, [event()]);
    const { messages, events } = await subscribing.done;
    expect(messages[0]).toBe('confirmation');
    expect(messages.indexOf('caughtUp')).toBe(total + 1);
    expect(messages[total + 2]).toBe('event');
    expect(events[total]?.event).toMatchObject({ streamId: stream, revision: 1n });
  });

  it('starts after the position it is given', async () => {
    const stream = `orders-${randomUUID()}`;
    await client.appendToStream(
      stream,
      [0, 1].map((i) => event('Happened', { i })),
    );
    const ours = (await all(client.readAll())).filter((resolved) => resolved.event!.streamId === stream);
    const { events } = await subscribe(
      defined(ours[0]?.event?.position, 'the first event’s position'),
      1,
      streamNameFilter({ prefixes: [stream] }),
    );
    expect(events.map((resolved) => resolved.event!.revision)).toEqual([1n]);
  });

  it('filters on the server by stream prefix or event type, and sends checkpoints', async () => {
    const stream = `filtered-${randomUUID()}`;
    for (let i = 0; i < 4; i++) await client.appendToStream(stream, [event('Kept', { i }), event('Other', { i })]);
    const byStream = await subscribe(START, 8, streamNameFilter({ prefixes: [stream], checkpointInterval: 1 }));
    expect(byStream.events.every((resolved) => resolved.event!.streamId === stream)).toBe(true);
    expect(byStream.checkpoints.length).toBeGreaterThan(0);

    const byType = await subscribe(START, 4, eventTypeFilter({ prefixes: ['Kept'] }));
    expect(byType.events.map((resolved) => resolved.event!.type)).toEqual(['Kept', 'Kept', 'Kept', 'Kept']);

    const count = (await all(client.readAll())).filter((resolved) => !resolved.event!.type.startsWith('$')).length;
    const noSystem = await subscribe(START, count, excludeSystemEvents());
    expect(noSystem.events.some((resolved) => resolved.event!.type.startsWith('$'))).toBe(false);
  });
});
