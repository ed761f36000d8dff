/**
 * The event-store port's contract, as one jest suite parameterised by adapter: every adapter (Postgres,
 * EventStoreDB) runs it. Each test uses streams of its own, so it runs on a store other tests (and
 * other runs, for a long-lived server) share.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  comparePositions,
  formatPosition,
  WrongExpectedRevision,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type GlobalPosition,
  type RecordedEvent,
} from '../port';

export interface ContractSubject {
  /** The store under test, shared by the tests of the suite. */
  readonly store: EventStore;
  /** Another store on the same data (as another process would open it), closed by the caller. */
  open(): Promise<EventStore>;
  /** Ends everything the subject started. */
  close(): Promise<void>;
  /** Faults the suite may cause, for a store that has them (see describeEventStoreContract). */
  readonly faults?: ContractFaults;
}

/** Faults of a store behind a connection. */
export interface ContractFaults {
  /**
   * The next append reaches the server, and its connection drops before the server writes it or
   * after (the answer lost); resolves once it has dropped.
   */
  dropNextAppend(at: 'before-write' | 'after-write'): Promise<void>;
  /** Writes into a stream, around the store, an event the ledger cannot read (not JSON). */
  writeUnreadable(streamId: string): Promise<void>;
}

export const newEvent = (type = 'Happened', data: Record<string, unknown> = {}): EventToAppend => ({
  type,
  data,
  metadata: {
    eventId: randomUUID(),
    schemaVersion: 1,
    commandId: randomUUID(),
    commandType: 'Test',
    idempotencyKey: randomUUID(),
    requestHash: 'sha256:0',
    correlationId: randomUUID(),
    causationId: randomUUID(),
    principal: 'user:test',
    occurredAt: '2026-11-28T10:00:00.000Z',
  },
});

export const newEvents = (count: number, type = 'Happened'): EventToAppend[] =>
  Array.from({ length: count }, (_, i) => newEvent(type, { i }));

/** A stream id no other test uses. */
export const newStream = (prefix = 'test-'): string => `${prefix}${randomUUID()}`;

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export async function refusal(promise: Promise<unknown>): Promise<WrongExpectedRevision> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(WrongExpectedRevision);
  return error as WrongExpectedRevision;
}

export function expectStrictlyIncreasing(positions: readonly GlobalPosition[]): void {
  positions.forEach((position, i) => {
    const before = positions[i - 1];
    if (before && comparePositions(before, position) >= 0) {
      throw new Error(`positions out of order at ${i}: ${formatPosition(before)} then ${formatPosition(position)}`);
    }
  });
}

/** Waits until the condition holds, running `refresh` (e.g. a read) before each look. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 120_000,
  refresh?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await refresh?.();
    if (condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Writers append concurrently, each to a stream of its own, in batches of 1–4 events. */
export async function writeConcurrently(
  store: EventStore,
  prefix: string,
  writers: number,
  eventsPerWriter: number,
): Promise<Set<string>> {
  const committed = new Set<string>();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      const streamId = `${prefix}${writer}`;
      let revision: ExpectedRevision = 'no_stream';
      let written = 0;
      while (written < eventsPerWriter) {
        const events = newEvents(Math.min(1 + Math.floor(Math.random() * 4), eventsPerWriter - written));
        await store.append(streamId, events, revision);
        events.forEach((event) => committed.add(event.metadata.eventId));
        written += events.length;
        revision = BigInt(written - 1);
        await sleep(Math.random() * 3);
      }
    }),
  );
  return committed;
}

export function expectEachOnceInOrder(
  received: readonly RecordedEvent[],
  prefix: string,
  committed: Set<string>,
): void {
  expectStrictlyIncreasing(received.map((event) => event.position));
  const ids = received.filter((event) => event.streamId.startsWith(prefix)).map((event) => event.metadata.eventId);
  expect(new Set(ids).size).toBe(ids.length);
  expect(new Set(ids)).toEqual(committed);
}

/**
 * The suite. With `faults`, the subject supplies ContractFaults and the suite also checks that a
 * dropped append is stored once when sent again, and that an unreadable event is delivered in its
 * place rather than breaking reads and subscriptions.
 */
export function describeEventStoreContract(
  name: string,
  makeSubject: () => Promise<ContractSubject>,
  options: { readonly faults?: boolean } = {},
): void {
  describe(`${name}: the event-store contract`, () => {
    let subject: ContractSubject;
    let store: EventStore;

    beforeAll(async () => {
      subject = await makeSubject();
      store = subject.store;
    });

    afterAll(async () => {
      await subject?.close();
    });

    describe('streams', () => {
      it('appends events and reads them back in order, revisions counting from 0', async () => {
        const streamId = newStream();
        const first = await store.append(streamId, newEvents(2), 'no_stream');
        const second = await store.append(streamId, newEvents(3), 1n);

        expect(first.revision).toBe(1n);
        expect(second.revision).toBe(4n);
        expect(comparePositions(first.position, second.position)).toBeLessThan(0);

        const read = await collect(store.readStream(streamId));
        expect(read.map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
        expect(read.map((event) => event.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 0 }, { i: 1 }, { i: 2 }]);
        expect(read.every((event) => event.streamId === streamId)).toBe(true);
        expect(read[1]?.position).toEqual(first.position);
        expect(read[4]?.position).toEqual(second.position);
        expectStrictlyIncreasing(read.map((event) => event.position));
      });

      it('reads a stream from a revision', async () => {
        const streamId = newStream();
        await store.append(streamId, newEvents(10), 'no_stream');

        const revisions = async (fromRevision?: bigint) =>
          (await collect(store.readStream(streamId, { fromRevision }))).map((event) => event.revision);
        expect(await revisions()).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
        expect(await revisions(7n)).toEqual([7n, 8n, 9n]);
        expect(await revisions(10n)).toEqual([]);
      });

      it('reads nothing from a stream that does not exist', async () => {
        expect(await collect(store.readStream(newStream()))).toEqual([]);
      });

      it('round-trips type, data and metadata exactly', async () => {
        const streamId = newStream();
        const event = newEvent('CreditsGranted', {
          amount: '24.0000',
          nested: { list: [1, 'two', null, { deep: true }], empty: {} },
          text: 'quotes " and \\ backslashes, unicode 信用 ✓',
          nothing: null,
        });
        await store.append(streamId, [event], 'no_stream');

        const [read] = await collect(store.readStream(streamId));
        expect(read?.type).toBe('CreditsGranted');
        expect(read?.data).toEqual(event.data);
        expect(read?.metadata).toEqual(event.metadata);
        const [fromLog] = await store.readAll({ streamPrefix: streamId });
        expect(fromLog).toEqual(read);
      });

      it('stores large events whole', async () => {
        const streamId = newStream();
        const big = 'x'.repeat(400_000);
        const events = [newEvent('Big', { big, n: 1 }), newEvent('Big', { big: `${big}y`, n: 2 })];
        await store.append(streamId, events, 'no_stream');

        const read = await collect(store.readStream(streamId));
        expect(read.map((event) => event.data)).toEqual(events.map((event) => event.data));
        expect((await store.readAll({ streamPrefix: streamId })).map((event) => event.data.n)).toEqual([1, 2]);
      });

      it('keeps many streams apart', async () => {
        const prefix = newStream('many-');
        const streams = Array.from({ length: 100 }, (_, i) => `${prefix}-${i}`);
        await Promise.all(streams.map((streamId, i) => store.append(streamId, newEvents(1 + (i % 3)), 'no_stream')));

        for (const [i, streamId] of streams.entries()) {
          const read = await collect(store.readStream(streamId));
          expect(read.map((event) => event.revision)).toEqual(Array.from({ length: 1 + (i % 3) }, (_, r) => BigInt(r)));
          expect(read.every((event) => event.streamId === streamId)).toBe(true);
        }
        const all = await store.readAll({ streamPrefix: prefix, maxCount: 10_000 });
        expect(all).toHaveLength(streams.reduce((sum, _, i) => sum + 1 + (i % 3), 0));
        expectStrictlyIncreasing(all.map((event) => event.position));
      });
    });

    describe('expected revision', () => {
      it('no_stream: only for a stream that does not exist', async () => {
        const streamId = newStream();
        await store.append(streamId, newEvents(2), 'no_stream');

        const refused = await refusal(store.append(streamId, newEvents(1), 'no_stream'));
        expect(refused).toMatchObject({ streamId, expected: 'no_stream', actual: 1n });
      });

      it('exact: only when it is the last revision', async () => {
        const streamId = newStream();
        await store.append(streamId, newEvents(2), 'no_stream');

        expect(await refusal(store.append(streamId, newEvents(1), 0n))).toMatchObject({ expected: 0n, actual: 1n });
        expect(await refusal(store.append(streamId, newEvents(1), 2n))).toMatchObject({ expected: 2n, actual: 1n });
        expect((await store.append(streamId, newEvents(1), 1n)).revision).toBe(2n);
      });

      it('exact: refused for a stream that does not exist', async () => {
        const streamId = newStream();
        expect(await refusal(store.append(streamId, newEvents(1), 0n))).toMatchObject({ actual: 'no_stream' });
        expect(await collect(store.readStream(streamId))).toEqual([]);
      });

      it('any: starts or extends the stream', async () => {
        const streamId = newStream();
        expect((await store.append(streamId, newEvents(2), 'any')).revision).toBe(1n);
        expect((await store.append(streamId, newEvents(2), 'any')).revision).toBe(3n);
        expect((await collect(store.readStream(streamId))).map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n]);
      });

      it('appending no events writes nothing, checks the revision, and needs the stream to exist', async () => {
        const streamId = newStream();
        await expect(store.append(streamId, [], 'any')).rejects.toThrow(/does not exist/);
        const appended = await store.append(streamId, newEvents(2), 'no_stream');

        expect(await store.append(streamId, [], 1n)).toEqual(appended);
        expect(await store.append(streamId, [], 'any')).toEqual(appended);
        expect(await refusal(store.append(streamId, [], 0n))).toMatchObject({ actual: 1n });
        expect(await refusal(store.append(streamId, [], 'no_stream'))).toMatchObject({ actual: 1n });
        expect(await collect(store.readStream(streamId))).toHaveLength(2);
      });

      it('of 20 concurrent appends expecting the same revision, exactly one wins', async () => {
        const streamId = newStream();
        await store.append(streamId, newEvents(1), 'no_stream');

        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, () => store.append(streamId, newEvents(2), 0n)),
        );

        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
        const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(19);
        for (const error of lost) expect(error).toMatchObject({ name: 'WrongExpectedRevision', actual: 2n });
        expect((await collect(store.readStream(streamId))).map((event) => event.revision)).toEqual([0n, 1n, 2n]);
      });

      it('of 20 concurrent appends creating the same stream, exactly one wins', async () => {
        const streamId = newStream();
        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, () => store.append(streamId, newEvents(1), 'no_stream')),
        );

        expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ actual: 0n });
        }
        expect(await collect(store.readStream(streamId))).toHaveLength(1);
      });
    });

    describe('appendMany: many streams, each under its own expected revision', () => {
      it('stores every part whose revision holds, refuses only the others', async () => {
        const [fresh, extended, stale, missing] = [newStream(), newStream(), newStream(), newStream()];
        await store.append(extended, newEvents(2), 'no_stream');
        await store.append(stale, newEvents(3), 'no_stream');

        const outcomes = await store.appendMany([
          { streamId: fresh, events: newEvents(2), expected: 'no_stream' },
          { streamId: stale, events: newEvents(1), expected: 0n },
          { streamId: extended, events: newEvents(3), expected: 1n },
          { streamId: missing, events: newEvents(1), expected: 4n },
        ]);

        expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false, true, false]);
        const [first, second, third, fourth] = outcomes;
        expect(first).toMatchObject({ ok: true, result: { revision: 1n } });
        expect(second).toMatchObject({ ok: false, conflict: { streamId: stale, expected: 0n, actual: 2n } });
        expect(third).toMatchObject({ ok: true, result: { revision: 4n } });
        expect(fourth).toMatchObject({ ok: false, conflict: { actual: 'no_stream' } });
        expect((await collect(store.readStream(fresh))).map((event) => event.revision)).toEqual([0n, 1n]);
        expect(await collect(store.readStream(stale))).toHaveLength(3);
        expect((await collect(store.readStream(extended))).map((event) => event.revision)).toEqual([
          0n,
          1n,
          2n,
          3n,
          4n,
        ]);
        expect(await collect(store.readStream(missing))).toEqual([]);
      });

      it("gives each stored part its last event's position, as a read of the stream does", async () => {
        const [a, b] = [newStream(), newStream()];
        const [one, two] = await store.appendMany([
          { streamId: a, events: newEvents(3), expected: 'no_stream' },
          { streamId: b, events: newEvents(1), expected: 'any' },
        ]);
        const readA = (await collect(store.readStream(a))).at(-1);
        const readB = (await collect(store.readStream(b))).at(-1);
        expect(one).toMatchObject({ ok: true, result: { revision: 2n, position: readA?.position } });
        expect(two).toMatchObject({ ok: true, result: { revision: 0n, position: readB?.position } });
      });

      it('a part with no events only checks its revision', async () => {
        const [existing, absent] = [newStream(), newStream()];
        await store.append(existing, newEvents(2), 'no_stream');
        const outcomes = await store.appendMany([
          { streamId: existing, events: [], expected: 1n },
          { streamId: absent, events: [], expected: 'no_stream' },
          { streamId: newStream(), events: [], expected: 0n },
        ]);
        expect(outcomes).toEqual([
          { ok: true, result: null },
          { ok: true, result: null },
          expect.objectContaining({ ok: false }),
        ]);
        expect(await collect(store.readStream(existing))).toHaveLength(2);
      });

      it('refuses a stream named twice, writing nothing', async () => {
        const streamId = newStream();
        await expect(
          store.appendMany([
            { streamId, events: newEvents(1), expected: 'no_stream' },
            { streamId, events: newEvents(1), expected: 0n },
          ]),
        ).rejects.toThrow(/once/);
        expect(await collect(store.readStream(streamId))).toEqual([]);
      });

      it('of concurrent appendMany calls over the same streams, each stream takes exactly one winner per revision', async () => {
        const streams = Array.from({ length: 6 }, () => newStream());
        for (const streamId of streams) await store.append(streamId, newEvents(1), 'no_stream');
        // Every call names every stream, half of them in reverse order, all expecting revision 0.
        const orderOf = (call: number): string[] => (call % 2 === 0 ? [...streams] : [...streams].reverse());
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, call) =>
            store.appendMany(orderOf(call).map((streamId) => ({ streamId, events: newEvents(2), expected: 0n }))),
          ),
        );
        for (const streamId of streams) {
          const wins = results.filter((outcomes, call) => outcomes[orderOf(call).indexOf(streamId)]?.ok);
          expect(wins).toHaveLength(1);
          expect((await collect(store.readStream(streamId))).map((event) => event.revision)).toEqual([0n, 1n, 2n]);
        }
      });
    });

    describe('the global log', () => {
      it('pages through readAll with after, in position order, exclusive of after', async () => {
        const prefix = newStream('page-');
        const appended: EventToAppend[] = [];
        for (let i = 0; i < 4; i++) {
          const events = newEvents(3);
          await store.append(`${prefix}-${i}`, events, 'no_stream');
          appended.push(...events);
        }

        const read: RecordedEvent[] = [];
        let after: GlobalPosition | undefined;
        for (;;) {
          const page = await store.readAll({ after, maxCount: 5, streamPrefix: prefix });
          expect(page.length).toBeLessThanOrEqual(5);
          const [first] = page;
          if (!first) break;
          if (after) expect(comparePositions(first.position, after)).toBeGreaterThan(0);
          read.push(...page);
          after = page.at(-1)?.position;
        }

        expect(read.map((event) => event.metadata.eventId)).toEqual(appended.map((event) => event.metadata.eventId));
        expectStrictlyIncreasing(read.map((event) => event.position));
      });

      it('reads the log up to the head, and nothing after it', async () => {
        const streamId = newStream();
        const before = (await store.headPosition()) ?? undefined;
        const appended = await store.append(streamId, newEvents(2), 'no_stream');
        const head = await store.headPosition();
        expect(head).toEqual(appended.position);

        const tail = await store.readAll({ after: before, maxCount: 100_000 });
        expect(tail[tail.length - 1]?.position).toEqual(head);
        expectStrictlyIncreasing(tail.map((event) => event.position));
        expect(await store.readAll({ after: head! })).toEqual([]);
        expect(await store.readAll({ maxCount: 0 })).toEqual([]);
        const first = await store.readAll({ maxCount: 3 });
        expect(first.length).toBeGreaterThan(0);
        expectStrictlyIncreasing(first.map((event) => event.position));
      });

      it('returns only application events: no system ($) streams or types', async () => {
        await store.append(newStream(), newEvents(3), 'no_stream');
        const all = await store.readAll({ maxCount: 100_000 });
        expect(all.filter((event) => event.streamId.startsWith('$') || event.type.startsWith('$'))).toEqual([]);
      });

      it('filters by stream prefix, taken literally', async () => {
        const base = `prefix-${randomUUID()}`;
        await store.append(`${base}_a%-1`, newEvents(1), 'no_stream');
        await store.append(`${base}_a%-2`, newEvents(1), 'no_stream');
        await store.append(`${base}Xab-3`, newEvents(1), 'no_stream');
        await store.append(`${base}\\a%-4`, newEvents(1), 'no_stream');

        const streams = async (prefix: string) =>
          (await store.readAll({ streamPrefix: prefix })).map((event) => event.streamId);
        // The log may hold appends back while older transactions elsewhere still run: first wait
        // until all four are readable, then ask with each prefix.
        let all: string[] = [];
        await waitFor(
          () => all.length === 4,
          'the four appends in the log',
          undefined,
          async () => void (all = await streams(base)),
        );
        expect(await streams(`${base}_a%`)).toEqual([`${base}_a%-1`, `${base}_a%-2`]);
        expect(await streams(`${base}\\`)).toEqual([`${base}\\a%-4`]);
        expect(await streams(base)).toHaveLength(4);
      });

      it('counts the events after a position, optionally in streams with a prefix', async () => {
        const prefix = newStream('count-');
        const before = (await store.headPosition()) ?? undefined;
        await store.append(`${prefix}a-1`, newEvents(1), 'no_stream');
        await store.append(newStream(), newEvents(1), 'no_stream');
        await store.append(`${prefix}a-2`, newEvents(2), 'no_stream');

        expect(await store.countAfter({ after: before, streamPrefix: prefix })).toBe(3);
        expect(await store.countAfter({ after: before, streamPrefix: `${prefix}a-2` })).toBe(2);
        expect(await store.countAfter({ after: before })).toBeGreaterThanOrEqual(4);
        const head = await store.headPosition();
        expect(await store.countAfter({ after: head!, streamPrefix: prefix })).toBe(0);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up, then delivers live events, each exactly once and in order', async () => {
        const prefix = newStream('sub-');
        const before = (await store.headPosition()) ?? undefined;
        const backlog = await writeConcurrently(store, prefix, 4, 50);

        const abort = new AbortController();
        const received: RecordedEvent[] = [];
        let ours = 0;
        const subscriber = (async () => {
          for await (const event of store.subscribeToAll({ after: before, signal: abort.signal })) {
            received.push(event);
            if (event.streamId.startsWith(prefix)) ours++;
          }
        })();
        try {
          await waitFor(() => ours >= backlog.size, 'the backlog');
          const live = await writeConcurrently(store, `${prefix}live-`, 6, 100);
          const committed = new Set([...backlog, ...live]);
          await waitFor(() => ours >= committed.size, 'the subscriber to catch up');
          await sleep(300); // time for a duplicate to show up, if there were one
          abort.abort();
          await subscriber;
          expectEachOnceInOrder(received, prefix, committed);
          expect(received.filter((event) => event.streamId.startsWith('$') || event.type.startsWith('$'))).toEqual([]);
        } finally {
          abort.abort();
        }
      });

      it('loses and repeats nothing when resubscribing from the last position seen', async () => {
        const prefix = newStream('resub-');
        const start = (await store.headPosition()) ?? undefined;
        const received: RecordedEvent[] = [];
        let ours = 0;
        const take = (event: RecordedEvent) => {
          received.push(event);
          if (event.streamId.startsWith(prefix)) ours++;
        };

        const writing = writeConcurrently(store, prefix, 4, 100);

        const firstAbort = new AbortController();
        for await (const event of store.subscribeToAll({
          after: start,
          streamPrefix: prefix,
          signal: firstAbort.signal,
        })) {
          take(event);
          if (ours >= 150) firstAbort.abort();
        }
        const lastSeen = received[received.length - 1]?.position;
        const firstCount = received.length;

        const secondAbort = new AbortController();
        const second = (async () => {
          for await (const event of store.subscribeToAll({
            after: lastSeen,
            streamPrefix: prefix,
            signal: secondAbort.signal,
          })) {
            take(event);
          }
        })();
        try {
          const committed = await writing;
          await waitFor(() => ours >= committed.size, 'the second subscriber to catch up');
          await sleep(300);
          secondAbort.abort();
          await second;

          expect(firstCount).toBeGreaterThanOrEqual(150);
          expect(received.length).toBeGreaterThan(firstCount);
          expectEachOnceInOrder(received, prefix, committed);
        } finally {
          secondAbort.abort();
        }
      });

      it('starts after the position it is given, never at it', async () => {
        const prefix = newStream('after-');
        await store.append(`${prefix}-a`, newEvents(3), 'no_stream');
        const [first, second] = await store.readAll({ streamPrefix: prefix });

        const abort = new AbortController();
        const received: RecordedEvent[] = [];
        for await (const event of store.subscribeToAll({
          after: first?.position,
          streamPrefix: prefix,
          signal: abort.signal,
        })) {
          received.push(event);
          if (received.length === 2) abort.abort();
        }
        expect(received[0]).toEqual(second);
        expect(received.map((event) => event.revision)).toEqual([1n, 2n]);
      });

      it('filters a subscription by stream prefix', async () => {
        const prefix = newStream('only-');
        const after = (await store.headPosition()) ?? undefined;
        await store.append(`${prefix}-a`, newEvents(2), 'no_stream');
        await store.append(newStream(), newEvents(2), 'no_stream');
        await store.append(`${prefix}-b`, newEvents(1), 'no_stream');

        const abort = new AbortController();
        const received: RecordedEvent[] = [];
        for await (const event of store.subscribeToAll({ after, streamPrefix: prefix, signal: abort.signal })) {
          received.push(event);
          if (received.length === 3) abort.abort();
        }
        expect(received.map((event) => event.streamId)).toEqual([`${prefix}-a`, `${prefix}-a`, `${prefix}-b`]);
      });

      it('ends when aborted while waiting', async () => {
        const abort = new AbortController();
        const after = (await store.headPosition()) ?? undefined;
        const subscriber = collect(
          store.subscribeToAll({ after, streamPrefix: newStream('none-'), signal: abort.signal }),
        );
        await sleep(150);
        abort.abort();
        expect(await subscriber).toEqual([]);
      });

      it('does not start when already aborted', async () => {
        expect(await collect(store.subscribeToAll({ signal: AbortSignal.abort() }))).toEqual([]);
      });

      it('ends on close(), even a subscription nobody is iterating', async () => {
        const own = await subject.open();
        const streamId = newStream();
        await store.append(streamId, newEvents(1), 'no_stream');
        const iterator = own.subscribeToAll({ streamPrefix: streamId })[Symbol.asyncIterator]();
        expect((await iterator.next()).done).toBe(false);

        await own.close();
        expect((await iterator.next()).done).toBe(true);
      });
    });

    if (!options.faults) return;
    describe('faults', () => {
      const faults = (): ContractFaults => {
        if (!subject.faults) throw new Error(`${name} was described with faults but supplies none`);
        return subject.faults;
      };

      it.each(['before-write', 'after-write'] as const)(
        'an append whose connection drops %s is sent again and stored once',
        async (at) => {
          const streamId = newStream();
          await store.append(streamId, newEvents(1), 'no_stream');
          const events = newEvents(3);
          const dropped = faults().dropNextAppend(at);
          const appended = await store.append(streamId, events, 0n);
          await dropped;

          const read = await collect(store.readStream(streamId));
          expect(read.slice(1).map((event) => event.metadata.eventId)).toEqual(
            events.map((event) => event.metadata.eventId),
          );
          expect(appended).toEqual({ revision: 3n, position: read[3]?.position });
        },
      );

      it('delivers an event it cannot read in its place, marked, and reads and subscriptions go on', async () => {
        const prefix = newStream('unreadable-');
        const streamId = `${prefix}-a`;
        await store.append(streamId, newEvents(1), 'no_stream');
        await faults().writeUnreadable(streamId);
        await store.append(streamId, newEvents(1), 1n);

        const read = await collect(store.readStream(streamId));
        expect(read.map((event) => event.revision)).toEqual([0n, 1n, 2n]);
        expect(read.map((event) => event.undecodable !== undefined)).toEqual([false, true, false]);
        expect(read[1]).toMatchObject({ data: {}, undecodable: { reason: expect.any(String) } });
        expect(await store.readAll({ streamPrefix: prefix })).toEqual(read);

        const abort = new AbortController();
        const received: RecordedEvent[] = [];
        for await (const event of store.subscribeToAll({ streamPrefix: prefix, signal: abort.signal })) {
          received.push(event);
          if (received.length === 3) abort.abort();
        }
        expect(received).toEqual(read);
      });
    });
  });
}
