/**
 * The test double against EventStoreDB v24.10's behaviour, through the real client
 * (`@eventstore/db-client` 6.2.1) over gRPC, which is what makes it worth trusting in the other
 * tests: appends on both of the server's paths (BatchAppend, which the client uses, and
 * Streams.Append, which it falls back to when given credentials), reads, and catch-up
 * subscriptions with filters and checkpoints.
 */
import { defined } from '../defined';
import {
  ANY,
  BACKWARDS,
  binaryEvent,
  CancelledError,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  eventTypeFilter,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  MaxAppendSizeExceededError,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  streamNameFilter,
  UnavailableError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type AppendToStreamOptions,
  type EventData,
  type Filter,
  type Position,
  type ReadPosition,
  type ReadRevision,
  type ResolvedEvent,
  type StreamSubscription,
} from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import {
  MAX_APPEND_SIZE,
  SERVER_VERSION,
  startEventStoreDbDouble,
  type EventStoreDbDouble,
} from './eventstoredb-double';
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
const events = (count: number, type = 'Happened') => Array.from({ length: count }, (_, i) => event(type, { i }));
const newStream = (prefix = 'orders-') => `${prefix}${randomUUID()}`;

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** A stream's events, none for a stream that does not exist. */
async function readBack(stream: string): Promise<NonNullable<ResolvedEvent['event']>[]> {
  try {
    return (await all(client.readStream(stream))).map((resolved) => resolved.event!);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
}

const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => new Error('expected a failure'),
    (error: unknown) => error,
  );

const isAfter = (a: Position, b: Position) => a.commit > b.commit || (a.commit === b.commit && a.prepare > b.prepare);

// ─── Subscriptions, as the client reports them ───────────────────────────────────────────────────

interface Mark {
  readonly kind: 'confirmation' | 'checkpoint' | 'caughtUp';
  /** How many events arrived before it (the client may still hold some in its buffer). */
  readonly after: number;
  readonly position?: Position;
}

interface Trace<E> {
  readonly events: E[];
  readonly marks: Mark[];
}

/**
 * Follows a subscription, noting every event and where each confirmation, checkpoint and
 * caught-up message came among them, until `done` holds.
 */
function follow<E>(
  subscribe: (
    checkpointReached: (_: unknown, position: Position) => void,
  ) => AllStreamSubscription | StreamSubscription,
) {
  const trace: Trace<E> = { events: [], marks: [] };
  const mark = (kind: Mark['kind'], position?: Position) =>
    trace.marks.push({ kind, after: trace.events.length + subscription.readableLength, position });
  const subscription = subscribe((_, position) => mark('checkpoint', position)) as unknown as {
    readonly readableLength: number;
    on(event: string, listener: (value: never) => void): void;
    unsubscribe(): Promise<void>;
  };
  subscription.on('confirmation', () => mark('confirmation'));
  subscription.on('caughtUp', () => mark('caughtUp'));
  subscription.on('data', (resolved: E) => void trace.events.push(resolved));
  let failure: unknown;
  subscription.on('error', (error: unknown) => void (failure ??= error));
  return {
    trace,
    async until(done: (trace: Trace<E>) => boolean, what: string): Promise<Trace<E>> {
      await waitUntil(() => {
        if (failure) throw failure;
        return done(trace);
      }, what);
      return trace;
    },
    stop: () => subscription.unsubscribe(),
  };
}

const followAll = (fromPosition: ReadPosition, filter?: Filter) =>
  follow<AllStreamResolvedEvent>((checkpointReached) =>
    client.subscribeToAll({ fromPosition, filter: filter && { ...filter, checkpointReached } }),
  );

const followStream = (stream: string, fromRevision: ReadRevision) =>
  follow<ResolvedEvent>(() => client.subscribeToStream(stream, { fromRevision }));

const caughtUp = <E>(trace: Trace<E>) => trace.marks.some((mark) => mark.kind === 'caughtUp');
const checkpoints = <E>(trace: Trace<E>) => trace.marks.filter((mark) => mark.kind === 'checkpoint');

// ─── Server features ─────────────────────────────────────────────────────────────────────────────

it('advertises Read, Append and BatchAppend, so the client appends through BatchAppend', async () => {
  const clientRoot = path.dirname(require.resolve('@eventstore/db-client/package.json'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { StreamsService } = require(path.join(clientRoot, 'generated/streams_grpc_pb')) as {
    StreamsService: Record<string, { path: string }>;
  };
  // The client's own check (protected in its types), which decides between Append and BatchAppend.
  const internal = client as unknown as {
    supports(method: { path: string }): Promise<boolean>;
    capabilities: Promise<{ serverVersion: string }>;
  };
  expect(await internal.supports(defined(StreamsService.read))).toBe(true);
  expect(await internal.supports(defined(StreamsService.append))).toBe(true);
  expect(await internal.supports(defined(StreamsService.batchAppend))).toBe(true);
  expect((await internal.capabilities).serverVersion).toBe(SERVER_VERSION);

  const before = { ...double.appends.answered };
  await client.appendToStream(newStream(), event());
  expect(double.appends.answered).toEqual({ ...before, batchAppend: before.batchAppend + 1 });
});

// ─── Appends, on both paths ──────────────────────────────────────────────────────────────────────

// The client uses Streams.Append instead of BatchAppend when a call carries credentials (which an
// insecure connection does not send).
const paths: [string, 'batchAppend' | 'append', AppendToStreamOptions][] = [
  ['BatchAppend', 'batchAppend', {}],
  ['Streams.Append', 'append', { credentials: { username: 'admin', password: 'changeit' } }],
];

describe.each(paths)('appendToStream through %s', (_name, method, via) => {
  const appendTo = (stream: string, data: EventData | EventData[], expectedRevision?: AppendExpectedRevision) =>
    client.appendToStream(stream, data, { ...via, ...(expectedRevision !== undefined && { expectedRevision }) });

  it('goes through that method', async () => {
    const before = double.appends.answered[method];
    await appendTo(newStream(), events(2));
    expect(double.appends.answered[method]).toBe(before + 1);
  });

  it("gives each event its own position (commit = prepare) and answers the last one's", async () => {
    const stream = newStream();
    const first = await appendTo(stream, events(3), NO_STREAM);
    const second = await appendTo(stream, events(2), 2n);
    expect(first).toMatchObject({ success: true, nextExpectedRevision: 2n });
    expect(second.nextExpectedRevision).toBe(4n);

    const positions = (await readBack(stream)).map((stored) => defined(stored.position));
    for (const position of positions) expect(position.prepare).toBe(position.commit);
    positions.forEach((position, i) => i > 0 && expect(isAfter(position, positions[i - 1]!)).toBe(true));
    expect(first.position).toEqual(positions[2]);
    expect(second.position).toEqual(positions[4]);
    // $all holds the same events at the same positions.
    const inAll = (await all(client.readAll()))
      .filter((resolved) => resolved.event!.streamId === stream)
      .map((resolved) => resolved.event!.position);
    expect(inAll).toEqual(positions);
  });

  it('refuses a wrong expected revision with WrongExpectedVersionError', async () => {
    const stream = newStream();
    await appendTo(stream, events(2), NO_STREAM);
    expect(await failureOf(appendTo(stream, event(), NO_STREAM))).toMatchObject({
      constructor: WrongExpectedVersionError,
      streamName: stream,
      expectedVersion: 'no_stream',
      actualVersion: 1n,
    });
    expect(await failureOf(appendTo(stream, event(), 5n))).toMatchObject({ expectedVersion: 5n, actualVersion: 1n });
    const missing = newStream();
    expect(await failureOf(appendTo(missing, event(), 0n))).toMatchObject({
      expectedVersion: 0n,
      actualVersion: 'no_stream',
    });
    expect(await failureOf(appendTo(missing, event(), STREAM_EXISTS))).toMatchObject({
      expectedVersion: 'stream_exists',
      actualVersion: 'no_stream',
    });
    expect(await readBack(missing)).toEqual([]);
    expect((await appendTo(stream, event(), STREAM_EXISTS)).nextExpectedRevision).toBe(2n);
  });

  it('recognises a retry by its event ids: right after the expected revision, or anywhere with any', async () => {
    const stream = newStream();
    const [a, b, c, d] = events(4);
    await appendTo(stream, [a!, b!, c!, d!], NO_STREAM);
    const stored = await readBack(stream);
    const answer = (revision: number) => ({
      success: true,
      nextExpectedRevision: BigInt(revision),
      position: stored[revision]?.position,
    });

    // The same events after the same revision: the first answer again, for the events retried.
    expect(await appendTo(stream, [a!, b!, c!, d!], NO_STREAM)).toEqual(answer(3));
    expect(await appendTo(stream, [b!, c!], 0n)).toEqual(answer(2));
    // With any (or stream_exists), wherever they are in the stream.
    expect(await appendTo(stream, [b!, c!], ANY)).toEqual(answer(2));
    expect(await appendTo(stream, [a!], STREAM_EXISTS)).toEqual(answer(0));
    expect(await readBack(stream)).toHaveLength(4);
  });

  it('calls a partial overlap with stored events a conflict, and writes nothing', async () => {
    const stream = newStream();
    const [a, b, c] = events(3);
    await appendTo(stream, [a!, b!, c!], NO_STREAM);
    const fresh = event();
    expect(await failureOf(appendTo(stream, [b!, fresh], ANY))).toMatchObject({
      constructor: WrongExpectedVersionError,
      expectedVersion: 'any',
      actualVersion: 2n,
    });
    expect(await failureOf(appendTo(stream, [b!, fresh], 0n))).toMatchObject({ actualVersion: 2n });
    expect(await failureOf(appendTo(stream, [fresh, b!], 0n))).toMatchObject({ actualVersion: 2n });
    expect(await readBack(stream)).toHaveLength(3);
    // A first id that is new is a new append (any), even when later ids are stored.
    expect((await appendTo(stream, [fresh], ANY)).nextExpectedRevision).toBe(3n);
  });

  it('counts data, metadata and twice the type against the maximum append size', async () => {
    const sized = (type: string, data: number, metadata = 0) =>
      binaryEvent({ type, data: new Uint8Array(data), metadata: new Uint8Array(metadata) });
    const stream = newStream('sizes-');
    // Exactly the maximum: stored.
    await appendTo(stream, [sized('Half', MAX_APPEND_SIZE / 2 - 8), sized('Rest', MAX_APPEND_SIZE / 2 - 108, 100)]);
    // One byte more, in the type (counted twice), the data or the metadata: refused.
    for (const oversize of [
      [sized('Typed', MAX_APPEND_SIZE - 9)],
      [sized('Half', MAX_APPEND_SIZE / 2 - 8), sized('Rest', MAX_APPEND_SIZE / 2 - 107, 100)],
      [sized('Half', MAX_APPEND_SIZE / 2 - 8), sized('Rest', MAX_APPEND_SIZE / 2 - 108, 101)],
    ]) {
      const refused = await failureOf(appendTo(stream, oversize));
      expect(refused).toBeInstanceOf(MaxAppendSizeExceededError);
      expect(refused).toMatchObject({ maxAppendSize: MAX_APPEND_SIZE });
    }
    expect(await readBack(stream)).toHaveLength(2);
  });

  it('refuses a 40,000-event oversize append as too big, not by a deadline, and writes nothing', async () => {
    const stream = newStream('flood-');
    const many = Array.from({ length: 40_000 }, (_, i) =>
      jsonEvent({ type: 'Small', data: { i, text: 'x'.repeat(30) } }),
    );
    const refused = await failureOf(appendTo(stream, many));
    expect(refused).toBeInstanceOf(MaxAppendSizeExceededError);
    expect(await readBack(stream)).toEqual([]);
  });

  it('checks each event against the maximum event size, when the server sets one', async () => {
    const strict = await startEventStoreDbDouble({ limits: { maxAppendEventSize: 1000 } });
    const own = EventStoreDBClient.connectionString(strict.connectionString);
    try {
      const stream = newStream();
      const refused = await failureOf(
        own.appendToStream(stream, [event('Small'), event('Big', { text: 'x'.repeat(1000) })], via),
      );
      // Client 6.2.1 knows no class for this refusal: it reports the server's words.
      expect(String((refused as Error).message)).toMatch(/Maximum ?Append ?Event ?Size/i);
      await expect(all(own.readStream(stream))).rejects.toBeInstanceOf(StreamNotFoundError);
      expect((await own.appendToStream(stream, event('Small'), via)).nextExpectedRevision).toBe(0n);
    } finally {
      await own.dispose();
      await strict.stop();
    }
  });
});

describe('BatchAppend only', () => {
  it('carries many appends at once on one stream, each answered by its correlation id', async () => {
    const stream = newStream('batch-');
    const sent = events(2000);
    await client.appendToStream(newStream(), event()); // the batch stream is open
    const streamsBefore = double.appends.batchStreams;
    const results = await Promise.all(sent.map((one) => client.appendToStream(stream, one, { expectedRevision: ANY })));
    expect(double.appends.batchStreams).toBe(streamsBefore);
    const stored = await readBack(stream);
    expect(stored).toHaveLength(2000);
    // Each append's answer names the revision and position of its own event.
    results.forEach((result, i) => {
      const own = stored[Number(result.nextExpectedRevision)];
      expect(own?.id).toBe(sent[i]!.id);
      expect(result.position).toEqual(own?.position);
    });
  });

  it('answers an append that reaches the server after its deadline with a timeout, writing nothing', async () => {
    const stream = newStream('late-');
    const held = double.appends.holdBatchAppends();
    let sentAt = 0;
    try {
      sentAt = Date.now();
      const appending = failureOf(client.appendToStream(stream, event(), { deadline: 1 }));
      // The request waits at the server until its deadline (1 ms after it was sent) is over.
      await waitUntil(() => held.held > 0 && Date.now() > sentAt + 1, 'the request to wait past its deadline');
      held.release();
      expect(await appending).toBeInstanceOf(DeadlineExceededError);
    } finally {
      held.release();
    }
    expect(await readBack(stream)).toEqual([]);
  });

  it("answers an append whose last request does not come within the server's write timeout with a timeout", async () => {
    const slow = await startEventStoreDbDouble({ limits: { writeTimeoutMs: 200 } });
    const own = EventStoreDBClient.connectionString(slow.connectionString);
    const stream = newStream('slow-');
    try {
      await own.appendToStream(newStream(), event()); // the batch stream is open
      // The append goes out in several requests; the server reads the first and not the others.
      const held = slow.appends.holdBatchAppends((request) => !request.hasOptions());
      const refused = await failureOf(own.appendToStream(stream, events(20), { batchAppendSize: 200 }));
      expect(held.held).toBeGreaterThan(0);
      held.release();
      expect(refused).toBeInstanceOf(DeadlineExceededError);
      // The requests read after the timeout belong to no append: nothing is written.
      await expect(all(own.readStream(stream))).rejects.toBeInstanceOf(StreamNotFoundError);
    } finally {
      await own.dispose();
      await slow.stop();
    }
  });

  it('fails every append in flight when the batch stream drops, and writes none of them', async () => {
    const streams = [newStream('drop-'), newStream('drop-'), newStream('drop-')];
    await client.appendToStream(newStream(), event()); // the batch stream is open
    const held = double.appends.holdBatchAppends();
    try {
      const appending = streams.map((stream) => failureOf(client.appendToStream(stream, events(2))));
      await waitUntil(() => held.held === streams.length, 'the three appends to reach the server');
      const dropped = double.appends.failNextBatchAppend({ at: 'before-write', drop: 'stream' });
      held.release();
      await dropped;
      for (const failure of await Promise.all(appending)) expect(failure).toBeInstanceOf(UnavailableError);
    } finally {
      held.release();
    }
    for (const stream of streams) expect(await readBack(stream)).toEqual([]);
    // The client opens a new batch stream for the next append.
    expect(
      (await client.appendToStream(streams[0]!, events(2), { expectedRevision: NO_STREAM })).nextExpectedRevision,
    ).toBe(1n);
  });

  it.each([
    ['the batch stream', 'stream'],
    ['the connection', 'connection'],
  ] as const)('answers a retry with the same ids after %s dropped past the write: stored once', async (_what, drop) => {
    const stream = newStream('retry-');
    const sent = events(3);
    const dropped = double.appends.failNextBatchAppend({ at: 'after-write', drop });
    const failure = await failureOf(client.appendToStream(stream, sent, { expectedRevision: NO_STREAM }));
    // A dropped stream is unavailable; a server that goes away cancels its calls.
    expect(failure).toBeInstanceOf(drop === 'stream' ? UnavailableError : CancelledError);
    await dropped;
    const stored = await readBack(stream);
    expect(stored.map((one) => one.id)).toEqual(sent.map((one) => one.id));
    for (const expectedRevision of [NO_STREAM, ANY] as const) {
      expect(await client.appendToStream(stream, sent, { expectedRevision })).toEqual({
        success: true,
        nextExpectedRevision: 2n,
        position: stored[2]?.position,
      });
    }
    expect(await readBack(stream)).toHaveLength(3);
  });

  it('reports a conflict with throwOnAppendFailure off as client 6.2.1 reads it from BatchAppend', async () => {
    const quiet = new EventStoreDBClient(
      { endpoint: `127.0.0.1:${double.port}`, throwOnAppendFailure: false },
      { insecure: true },
    );
    try {
      const stream = newStream();
      await quiet.appendToStream(stream, events(3));
      // The client turns "has a current revision" into the revision (BigInt(true)): 1, whatever the
      // stream's revision; -1 for a stream that does not exist. Through Streams.Append it reads it right.
      expect(await quiet.appendToStream(stream, event(), { expectedRevision: 7n })).toEqual({
        success: false,
        nextExpectedRevision: 1n,
        position: undefined,
      });
      expect(await quiet.appendToStream(newStream(), event(), { expectedRevision: 7n })).toMatchObject({
        nextExpectedRevision: -1n,
      });
      expect(
        await quiet.appendToStream(stream, event(), { expectedRevision: 7n, credentials: paths[1]![2].credentials! }),
      ).toMatchObject({ success: false, nextExpectedRevision: 2n });
    } finally {
      await quiet.dispose();
    }
  });
});

// ─── Reads ───────────────────────────────────────────────────────────────────────────────────────

describe('readStream', () => {
  it('reads forwards and backwards, from the start, the end or a revision, up to maxCount', async () => {
    const stream = newStream();
    await client.appendToStream(stream, events(4));
    const revisions = async (options: Parameters<EventStoreDBClient['readStream']>[1]) =>
      (await all(client.readStream(stream, options))).map((resolved) => resolved.event!.revision);
    expect(await revisions({ fromRevision: START, direction: FORWARDS })).toEqual([0n, 1n, 2n, 3n]);
    expect(await revisions({ fromRevision: 2n, direction: FORWARDS })).toEqual([2n, 3n]);
    expect(await revisions({ fromRevision: START, maxCount: 2 })).toEqual([0n, 1n]);
    expect(await revisions({ fromRevision: END, direction: BACKWARDS, maxCount: 2 })).toEqual([3n, 2n]);
    expect(await revisions({ fromRevision: 1n, direction: BACKWARDS })).toEqual([1n, 0n]);
    expect(await revisions({ fromRevision: 10n, direction: BACKWARDS, maxCount: 1 })).toEqual([3n]);
  });

  it('returns JSON and binary events with their id, type, data, metadata and created in 100 ns ticks', async () => {
    const stream = newStream();
    const json = event('OrderPlaced', { total: '12.50' });
    const binary = binaryEvent({ type: 'Blob', data: Buffer.from('hello: 1'), metadata: Buffer.from('raw') });
    const before = Date.now();
    await client.appendToStream(stream, [json, binary]);
    const [first, second] = await readBack(stream);
    expect(first).toMatchObject({
      id: json.id,
      streamId: stream,
      type: 'OrderPlaced',
      isJson: true,
      data: { total: '12.50' },
      metadata: { by: 'test' },
    });
    expect(second).toMatchObject({ type: 'Blob', isJson: false });
    expect(Buffer.from(second!.data as Uint8Array).toString()).toBe('hello: 1');
    expect(Buffer.from(second!.metadata as Uint8Array).toString()).toBe('raw');
    // The client divides by 10 000 ticks per millisecond: a right date means ticks were sent.
    expect(first!.created.getTime()).toBeGreaterThanOrEqual(before - 5);
    expect(first!.created.getTime()).toBeLessThanOrEqual(Date.now() + 5);
  });

  it('answers StreamNotFound for a stream that does not exist', async () => {
    const stream = newStream();
    await expect(all(client.readStream(stream))).rejects.toMatchObject({
      constructor: StreamNotFoundError,
      streamName: stream,
    });
  });
});

describe('readAll', () => {
  it('holds system events ($-prefixed streams and types) among the application events', async () => {
    await client.appendToStream(newStream(), [event()]);
    await client.appendToStream(newStream(), [event()]);
    const stored = (await all(client.readAll())).map((resolved) => resolved.event!);
    expect(stored.some((e) => e.streamId.startsWith('$') && e.type.startsWith('$'))).toBe(true);
    expect(stored.some((e) => e.type === '$statsCollected')).toBe(true);
    expect(stored.some((e) => !e.type.startsWith('$'))).toBe(true);
  });

  it('reads forwards from a position including the event at it, backwards from one excluding it', async () => {
    const stream = newStream();
    await client.appendToStream(stream, events(3));
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

  it('orders $all by position, each event at its own', async () => {
    await client.appendToStream(newStream(), events(3));
    const positions = (await all(client.readAll())).map((resolved) => resolved.event!.position!);
    positions.forEach((b, i) => {
      expect(b.prepare).toBe(b.commit);
      const a = positions[i - 1];
      if (a) expect(isAfter(b, a)).toBe(true);
    });
  });
});

// ─── Subscriptions ───────────────────────────────────────────────────────────────────────────────

describe('subscribeToStream', () => {
  it('confirms, sends the backlog, says it caught up, then sends live events', async () => {
    const stream = newStream();
    await client.appendToStream(stream, events(3));
    const following = followStream(stream, START);
    try {
      await following.until(caughtUp, 'the subscription to catch up');
      await client.appendToStream(stream, events(2));
      const trace = await following.until((t) => t.events.length === 5, 'the live events');
      expect(trace.marks.map((mark) => [mark.kind, mark.after])).toEqual([
        ['confirmation', 0],
        ['caughtUp', 3],
      ]);
      expect(trace.events.map((resolved) => resolved.event!.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
    } finally {
      await following.stop();
    }
  });

  it('starts after the revision it is given; from the end, with the next event', async () => {
    const stream = newStream();
    await client.appendToStream(stream, events(4));
    const fromRevision = followStream(stream, 1n);
    const fromEnd = followStream(stream, END);
    try {
      await fromEnd.until(caughtUp, 'the subscription from the end to go live');
      await client.appendToStream(stream, event());
      const trace = await fromRevision.until((t) => t.events.length === 3, 'revisions 2 to 4');
      expect(trace.events.map((resolved) => resolved.event!.revision)).toEqual([2n, 3n, 4n]);
      expect((await fromEnd.until((t) => t.events.length === 1, 'revision 4')).events[0]?.event?.revision).toBe(4n);
    } finally {
      await fromRevision.stop();
      await fromEnd.stop();
    }
  });

  it('from a revision past the end, skips the new events up to that revision', async () => {
    const stream = newStream();
    await client.appendToStream(stream, events(2));
    const following = followStream(stream, 4n);
    try {
      await following.until(caughtUp, 'the subscription to go live');
      await client.appendToStream(stream, events(5)); // revisions 2 to 6
      const trace = await following.until((t) => t.events.length === 2, 'revisions 5 and 6');
      expect(trace.events.map((resolved) => resolved.event!.revision)).toEqual([5n, 6n]);
    } finally {
      await following.stop();
    }
  });
});

describe('subscribeToAll', () => {
  it('confirms, sends the backlog, says it caught up, then sends live events', async () => {
    const stream = newStream();
    await client.appendToStream(stream, [event()]);
    const total = (await all(client.readAll())).length;
    const following = followAll(START);
    try {
      await following.until(caughtUp, 'the subscription to catch up');
      await client.appendToStream(stream, [event()]);
      const trace = await following.until(
        (t) => t.events.some((resolved) => resolved.event?.streamId === stream && resolved.event.revision === 1n),
        'the live event',
      );
      expect(trace.marks.map((mark) => [mark.kind, mark.after])).toEqual([
        ['confirmation', 0],
        ['caughtUp', total],
      ]);
    } finally {
      await following.stop();
    }
  });

  it('starts after the position it is given', async () => {
    const stream = newStream();
    await client.appendToStream(stream, events(2));
    const [first] = await readBack(stream);
    const following = followAll(defined(first?.position), streamNameFilter({ prefixes: [stream] }));
    try {
      const trace = await following.until((t) => t.events.length === 1 && caughtUp(t), 'the second event');
      expect(trace.events.map((resolved) => resolved.event!.revision)).toEqual([1n]);
    } finally {
      await following.stop();
    }
  });

  it.each([
    ['unfiltered', undefined],
    ['filtered', excludeSystemEvents()],
  ])('%s, from a position past the end, skips new events at or below it', async (_name, filter) => {
    const stream = newStream('ahead-');
    await client.appendToStream(stream, event());
    const [head] = await all(client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 }));
    const ahead = { commit: head!.event!.position.commit + 10_000n, prepare: head!.event!.position.commit + 10_000n };
    const following = followAll(ahead, filter);
    try {
      await following.until(caughtUp, 'the subscription to go live');
      // Small events: a few of them fit below the position it started from.
      const written: Position[] = [];
      while (written.length === 0 || !isAfter(written.at(-1)!, ahead)) {
        const result = await client.appendToStream(stream, event());
        written.push(defined(result.position));
      }
      const beyond = written.filter((position) => isAfter(position, ahead));
      expect(written.length).toBeGreaterThan(beyond.length);
      const trace = await following.until(
        (t) => t.events.some((resolved) => resolved.event?.position.commit === beyond.at(-1)!.commit),
        'the event past the start',
      );
      const seen = trace.events.filter((resolved) => resolved.event?.streamId === stream);
      expect(seen.map((resolved) => resolved.event!.position)).toEqual(beyond);
    } finally {
      await following.stop();
    }
  });

  it('filters on the server by stream name or event type, by prefix or regex', async () => {
    const base = randomUUID();
    const [a, b] = [`${base}-a`, `${base}-b`];
    await client.appendToStream(a, [...events(3, `Kept${base}`), ...events(2, 'Other')]);
    await client.appendToStream(b, [...events(1, `Kept${base}`), ...events(1, 'Other')]);
    const count = async (filter: Filter, expected: number) => {
      const following = followAll(START, filter);
      try {
        const trace = await following.until((t) => caughtUp(t) && t.events.length >= expected, 'the backlog');
        return trace.events.length;
      } finally {
        await following.stop();
      }
    };
    expect(await count(streamNameFilter({ prefixes: [a] }), 5)).toBe(5);
    expect(await count(streamNameFilter({ regex: `^${base}-[ab]$` }), 7)).toBe(7);
    expect(await count(eventTypeFilter({ prefixes: [`Kept${base}`] }), 4)).toBe(4);
    expect(await count(eventTypeFilter({ regex: `^Kept${base}$` }), 4)).toBe(4);

    const nonSystem = (await all(client.readAll())).filter((resolved) => !resolved.event!.type.startsWith('$'));
    const following = followAll(START, excludeSystemEvents());
    try {
      const trace = await following.until(caughtUp, 'the backlog');
      await following.until((t) => t.events.length >= nonSystem.length, 'every event');
      expect(trace.events.some((resolved) => resolved.event!.type.startsWith('$'))).toBe(false);
    } finally {
      await following.stop();
    }
  });

  it('sends catch-up checkpoints after the events they cover, every interval × window considered, and one at the end', async () => {
    const stream = newStream('checkpoints-');
    const start = defined((await client.appendToStream(newStream(), event())).position);
    // 40 events, every fourth in our stream; other streams between them.
    for (let i = 0; i < 10; i++) {
      await client.appendToStream(newStream('noise-'), events(3));
      await client.appendToStream(stream, event());
    }
    // The server's first page starts at the position given, so the event there is considered too.
    const considered = await all(client.readAll({ fromPosition: start }));
    const following = followAll(
      start,
      streamNameFilter({ prefixes: [stream], maxSearchWindow: 5, checkpointInterval: 2 }),
    );
    try {
      const trace = await following.until((t) => caughtUp(t) && t.events.length === 10, 'the backlog');
      const points = checkpoints(trace);
      // One per 10 events considered, and one when the catch-up ends, just before it says so.
      expect(points.length).toBe(Math.floor(considered.length / 10) + 1);
      const last = points.at(-1)!;
      expect(trace.marks.at(-1)).toMatchObject({ kind: 'caughtUp', after: last.after });
      expect(last.after).toBe(10);
      for (const point of points) {
        // After every event it covers, before every event it does not.
        const before = trace.events[point.after - 1]?.event?.position;
        const after = trace.events[point.after]?.event?.position;
        if (before) expect(isAfter(before, point.position!)).toBe(false);
        if (after) expect(isAfter(after, point.position!)).toBe(true);
      }
    } finally {
      await following.stop();
    }
  });

  it('sends a live checkpoint after every interval × window events appended, naming the last of them', async () => {
    const stream = newStream('live-checkpoints-');
    const following = followAll(
      END,
      streamNameFilter({ prefixes: [stream], maxSearchWindow: 4, checkpointInterval: 1 }),
    );
    try {
      await following.until(caughtUp, 'the subscription to go live');
      // Twelve appends, each a lone event in $all: every fourth is followed by a checkpoint at it.
      const positions: Position[] = [];
      for (let i = 0; i < 6; i++) {
        positions.push(defined((await client.appendToStream(stream, event())).position));
        positions.push(defined((await client.appendToStream(newStream('noise-'), event())).position));
      }
      const trace = await following.until((t) => checkpoints(t).length >= 3, 'three checkpoints');
      const written = double.log.all.filter((stored) => stored.position >= positions[0]!.commit);
      const expected = [3, 7, 11].map((i) => written[i]!.position);
      expect(
        checkpoints(trace)
          .slice(0, 3)
          .map((point) => point.position!.commit),
      ).toEqual(expected);
    } finally {
      await following.stop();
    }
  });

  it('sends, from the start of a log with nothing that matches, the server’s "end" checkpoint', async () => {
    // On a fresh server a filtered catch-up that considers fewer events than its window and sends
    // none ends with a checkpoint at (2^64 − 1, 2^64 − 1): a reader must not resume from there.
    const fresh = await startEventStoreDbDouble({ statsEvery: 0 });
    const own = EventStoreDBClient.connectionString(fresh.connectionString);
    try {
      const following = follow<AllStreamResolvedEvent>((checkpointReached) =>
        own.subscribeToAll({
          fromPosition: START,
          filter: streamNameFilter({ prefixes: ['nothing-'], checkpointReached }),
        }),
      );
      try {
        const trace = await following.until(caughtUp, 'the catch-up to end');
        const end = (1n << 64n) - 1n;
        expect(trace.marks.map((mark) => [mark.kind, mark.position])).toEqual([
          ['confirmation', undefined],
          ['checkpoint', { commit: end, prepare: end }],
          ['caughtUp', undefined],
        ]);
      } finally {
        await following.stop();
      }
    } finally {
      await own.dispose();
      await fresh.stop();
    }
  });
});
