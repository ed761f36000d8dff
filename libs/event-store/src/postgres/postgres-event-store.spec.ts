import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createKysely, createPool, migrate } from '../../../platform/src/database';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { waitUntil } from '../../../../test/support/wait';
import { comparePositions, type EventToAppend, type ExpectedRevision, type RecordedEvent } from '../port';
import {
  collect,
  expectEachOnceInOrder,
  expectStrictlyIncreasing,
  newEvent,
  newEvents,
  newStream,
  waitFor,
} from '../conformance/event-store-contract';
import { eventStoreMigrations } from './migrations';
import { appendToStream, PostgresEventStore } from './postgres-event-store';

let database: TestDatabase;
let pool: pg.Pool;
let store: PostgresEventStore;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createPool(database.url, { max: 40 });
  await migrate(createKysely(pool), eventStoreMigrations);
  store = new PostgresEventStore(pool, { pollIntervalMs: 100 });
});

afterAll(async () => {
  await store?.close();
  await pool?.end();
  await database?.drop();
});

/** Appends inside a transaction of its own that stays open for a while before it ends. */
async function appendHeldOpen(
  streamId: string,
  events: readonly EventToAppend[],
  expected: ExpectedRevision,
  options: { holdMs: number; takeTransactionIdFirst?: boolean; rollback?: boolean },
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    if (options.takeTransactionIdFirst) {
      // The transaction id comes before the positions of events appended meanwhile by others.
      await client.query('SELECT pg_current_xact_id()');
      await sleep(options.holdMs / 2);
    }
    await appendToStream(client, streamId, events, expected);
    await client.query('SELECT pg_sleep($1)', [options.holdMs / 1000]);
    await client.query(options.rollback ? 'ROLLBACK' : 'COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** What only the Postgres adapter does; the port's contract is in ../conformance. */
describe('PostgresEventStore', () => {
  describe('streams', () => {
    it('reads a stream from a revision, across pages', async () => {
      const paged = new PostgresEventStore(pool, { pageSize: 3 });
      const streamId = newStream();
      await paged.append(streamId, newEvents(10), 'no_stream');

      expect((await collect(paged.readStream(streamId))).map((event) => event.revision)).toEqual(
        Array.from({ length: 10 }, (_, i) => BigInt(i)),
      );
      expect((await collect(paged.readStream(streamId, { fromRevision: 7n }))).map((event) => event.revision)).toEqual([
        7n,
        8n,
        9n,
      ]);
      expect(await collect(paged.readStream(streamId, { fromRevision: 10n }))).toEqual([]);
    });
  });

  describe('expected revision', () => {
    it('appends all of a batch or none of it', async () => {
      const streamId = newStream();
      const taken = newEvent();
      await store.append(newStream(), [taken], 'no_stream');

      // The second event reuses an event id, which must be unique.
      await expect(store.append(streamId, [newEvent(), taken], 'any')).rejects.toThrow(/event_id/);
      expect(await collect(store.readStream(streamId))).toEqual([]);
      expect((await store.append(streamId, newEvents(1), 'no_stream')).revision).toBe(0n);
    });
  });

  describe('appendMany with a write alongside', () => {
    beforeAll(async () => {
      await pool.query('CREATE TABLE IF NOT EXISTS alongside_notes (stream_id text PRIMARY KEY, note text)');
    });

    // Notes one row per stored stream; a stream whose id is in `taken` already has one.
    const notes = (vetoFor: readonly string[]) => ({
      veto: (param: (value: unknown) => string) =>
        `SELECT stream_id, json_build_object('why', 'listed') AS detail FROM unnest(${param(vetoFor)}::text[]) AS v(stream_id)`,
      sql: () => `INSERT INTO alongside_notes SELECT stream_id, 'stored' FROM stored RETURNING 1`,
    });

    it("gives each event's own position, as a read of the stream does", async () => {
      const [a, b] = [newStream(), newStream()];
      const [one, two] = await store.appendManyWith(
        [
          { streamId: a, events: newEvents(3), expected: 'no_stream' },
          { streamId: b, events: newEvents(2), expected: 'no_stream' },
        ],
        notes([]),
      );
      for (const [outcome, streamId] of [
        [one, a],
        [two, b],
      ] as const) {
        const read = await collect(store.readStream(streamId));
        expect(outcome).toEqual({
          ok: true,
          result: {
            revision: BigInt(read.length - 1),
            position: read.at(-1)!.position,
            eventPositions: read.map((e) => e.position),
          },
        });
      }
    });

    it('stores nothing of a vetoed part, and the others with their write', async () => {
      const [kept, vetoed] = [newStream(), newStream()];
      const outcomes = await store.appendManyWith(
        [
          { streamId: kept, events: newEvents(1), expected: 'no_stream' },
          { streamId: vetoed, events: newEvents(1), expected: 'no_stream' },
        ],
        notes([vetoed]),
      );
      expect(outcomes[0]).toMatchObject({ ok: true });
      expect(outcomes[1]).toEqual({ ok: false, vetoed: { why: 'listed' } });
      expect(await collect(store.readStream(vetoed))).toHaveLength(0);
      const { rows } = await pool.query('SELECT stream_id FROM alongside_notes WHERE stream_id = ANY($1)', [
        [kept, vetoed],
      ]);
      expect(rows).toEqual([{ stream_id: kept }]);
    });

    it('fails as a whole, events included, when its write fails', async () => {
      const [fresh, noted] = [newStream(), newStream()];
      await pool.query(`INSERT INTO alongside_notes VALUES ($1, 'there before')`, [noted]);
      await expect(
        store.appendManyWith(
          [
            { streamId: fresh, events: newEvents(1), expected: 'no_stream' },
            { streamId: noted, events: newEvents(1), expected: 'no_stream' },
          ],
          notes([]),
        ),
      ).rejects.toMatchObject({ code: '23505' });
      expect(await collect(store.readStream(fresh))).toHaveLength(0);
      expect(await collect(store.readStream(noted))).toHaveLength(0);
    });
  });

  describe('the global log', () => {
    it('reads the whole log from the start, and nothing after the head', async () => {
      const streamId = newStream();
      await store.append(streamId, newEvents(2), 'no_stream');
      const head = await store.headPosition();

      const all = await store.readAll({ maxCount: 100_000 });
      expect(all[all.length - 1]?.position).toEqual(head);
      expectStrictlyIncreasing(all.map((event) => event.position));
      expect(await store.readAll({ after: head! })).toEqual([]);
      expect(await store.readAll({ maxCount: 0 })).toEqual([]);
    });

    it('filters by stream prefix, with LIKE wildcards taken literally', async () => {
      const base = `prefix-${randomUUID()}`;
      await store.append(`${base}_a%-1`, newEvents(1), 'no_stream');
      await store.append(`${base}_a%-2`, newEvents(1), 'no_stream');
      await store.append(`${base}Xab-3`, newEvents(1), 'no_stream');
      await store.append(`${base}\\a%-4`, newEvents(1), 'no_stream');

      const streams = async (prefix: string) => (await store.readAll({ streamPrefix: prefix })).map((e) => e.streamId);
      expect(await streams(`${base}_a%`)).toEqual([`${base}_a%-1`, `${base}_a%-2`]);
      expect(await streams(`${base}\\`)).toEqual([`${base}\\a%-4`]);
      expect(await streams(base)).toHaveLength(4);
    });

    it('holds back events appended after a transaction that is still open', async () => {
      const blocker = await pool.connect();
      try {
        const before = await store.headPosition();
        await blocker.query('BEGIN');
        await blocker.query('SELECT pg_current_xact_id()');

        const streamId = newStream();
        const appended = await store.append(streamId, newEvents(1), 'no_stream');
        // Committed, and readable by stream, but not yet in the global log.
        expect(await collect(store.readStream(streamId))).toHaveLength(1);
        expect(await store.readAll({ after: before ?? undefined })).toEqual([]);
        expect(await store.headPosition()).toEqual(before);

        await blocker.query('COMMIT');
        // Other writers of the cluster (other test files) may hold it back a moment longer.
        await waitUntil(async () => (await store.readAll({ after: before ?? undefined })).length > 0, 'the event');
        expect((await store.readAll({ after: before ?? undefined })).map((e) => e.position)).toEqual([
          appended.position,
        ]);
      } finally {
        await blocker.query('ROLLBACK').catch(() => undefined);
        blocker.release();
      }
    });

    it('is not held back by a read-only transaction, however long, even one that holds a snapshot', async () => {
      const reader = await pool.connect();
      try {
        // A report or a dump: a snapshot held open, no transaction id.
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await reader.query('SELECT count(*) FROM events');
        const appended = await store.append(newStream(), newEvents(1), 'no_stream');
        // Other writers of the cluster (other test files) may hold it back a moment; this one never.
        await waitUntil(async () => {
          const head = await store.headPosition();
          return head !== null && comparePositions(head, appended.position) === 0;
        }, 'the head to reach the append while the read-only transaction stays open');
      } finally {
        await reader.query('ROLLBACK').catch(() => undefined);
        reader.release();
      }
    });

    it('is held back by a transaction with an id in another database of the cluster, then reads everything', async () => {
      // Transaction ids are the cluster's: a writer anywhere could be older than the events read.
      const other = `other_${randomUUID().replace(/-/g, '')}`;
      await pool.query(`CREATE DATABASE ${other}`);
      const url = new URL(database.url);
      url.pathname = `/${other}`;
      const elsewhere = new pg.Client({ connectionString: url.toString() });
      await elsewhere.connect();
      try {
        const before = await store.headPosition();
        await elsewhere.query('BEGIN');
        await elsewhere.query('SELECT pg_current_xact_id()');
        const appended = await store.append(newStream(), newEvents(1), 'no_stream');
        expect(await store.readAll({ after: before ?? undefined })).toEqual([]);
        await elsewhere.query('COMMIT');
        await waitUntil(async () => (await store.readAll({ after: before ?? undefined })).length > 0, 'the event');
        expect((await store.readAll({ after: before ?? undefined })).map((e) => e.position)).toEqual([
          appended.position,
        ]);
      } finally {
        await elsewhere.end();
        await pool.query(`DROP DATABASE ${other}`);
      }
    });

    it('refuses to update, delete or truncate events', async () => {
      const streamId = newStream();
      await store.append(streamId, newEvents(1), 'no_stream');

      await expect(pool.query(`UPDATE events SET type = 'Rewritten' WHERE stream_id = $1`, [streamId])).rejects.toThrow(
        /append-only: UPDATE/,
      );
      await expect(pool.query(`DELETE FROM events WHERE stream_id = $1`, [streamId])).rejects.toThrow(
        /append-only: DELETE/,
      );
      await expect(pool.query(`TRUNCATE events`)).rejects.toThrow(/append-only: TRUNCATE/);
      expect((await collect(store.readStream(streamId)))[0]?.type).toBe('Happened');
    });
  });

  describe('subscribeToAll', () => {
    /**
     * Writers append to streams of their own, concurrently, some in transactions held open so that
     * events with lower positions (or lower transaction ids) commit after higher ones, some rolled back.
     */
    async function write(prefix: string, writers: number, eventsPerWriter: number) {
      const committed = new Set<string>();
      await Promise.all(
        Array.from({ length: writers }, async (_, writer) => {
          const streamId = `${prefix}${writer}`;
          let revision: ExpectedRevision = 'no_stream';
          let written = 0;
          for (let attempt = 0; written < eventsPerWriter; attempt++) {
            const events = newEvents(Math.min(1 + Math.floor(Math.random() * 4), eventsPerWriter - written));
            const ids = events.map((event) => event.metadata.eventId);
            if (attempt % 9 === 4) {
              const rollback = attempt % 27 === 13;
              await appendHeldOpen(streamId, events, revision, {
                holdMs: 20 + Math.random() * 80,
                takeTransactionIdFirst: attempt % 2 === 0,
                rollback,
              });
              if (rollback) continue;
            } else {
              await store.append(streamId, events, revision);
            }
            ids.forEach((id) => committed.add(id));
            written += events.length;
            revision = BigInt(written - 1);
            await sleep(Math.random() * 3);
          }
        }),
      );
      return { committed };
    }

    it('delivers every event exactly once and in order while appends commit out of order', async () => {
      const prefix = newStream('sub-');
      const abort = new AbortController();
      const received: RecordedEvent[] = [];
      let ours = 0;
      const subscriber = (async () => {
        for await (const event of store.subscribeToAll({ signal: abort.signal })) {
          received.push(event);
          if (event.streamId.startsWith(prefix)) ours++;
        }
      })();

      try {
        const { committed } = await write(prefix, 8, 250);
        expect(committed.size).toBe(2000);

        await waitFor(() => ours >= committed.size, 'the subscriber to catch up');
        await sleep(300); // time for a duplicate to show up, if there were one
        abort.abort();
        await subscriber;

        expectEachOnceInOrder(received, prefix, committed);
      } finally {
        abort.abort();
      }
    });

    it('appends in transactions held open really do commit out of position order', async () => {
      // Guards the test above: without inversions it would prove nothing.
      const client = await pool.connect();
      try {
        const streamId = newStream();
        await client.query('BEGIN');
        const held = await appendToStream(client, streamId, newEvents(1), 'no_stream');
        const later = await store.append(newStream(), newEvents(1), 'no_stream');
        expect(later.position.prepare).toBeGreaterThan(held.position.prepare);
        expect(await store.readAll({ after: { commit: held.position.commit, prepare: 0n } })).toEqual([]);
        await client.query('COMMIT');

        // Another database's transaction in the cluster (a test running alongside) can hold the
        // horizon back for a moment: wait for it rather than read once.
        let read: RecordedEvent[] = [];
        await waitFor(
          () => read.length >= 2,
          'both events',
          60_000,
          async () => {
            read = await store.readAll({ after: { commit: held.position.commit, prepare: 0n } });
          },
        );
        expect(read.map((event) => event.position)).toEqual([held.position, later.position]);
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release();
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

      const writing = write(prefix, 4, 150);

      const firstAbort = new AbortController();
      for await (const event of store.subscribeToAll({ after: start, signal: firstAbort.signal })) {
        take(event);
        if (ours >= 200) firstAbort.abort();
      }
      const lastSeen = received[received.length - 1]?.position;
      const firstCount = received.length;

      const secondAbort = new AbortController();
      const second = (async () => {
        for await (const event of store.subscribeToAll({ after: lastSeen, signal: secondAbort.signal })) take(event);
      })();
      try {
        const { committed } = await writing;
        await waitFor(() => ours >= committed.size, 'the second subscriber to catch up');
        await sleep(300);
        secondAbort.abort();
        await second;

        expect(firstCount).toBeGreaterThanOrEqual(200);
        expect(received.length).toBeGreaterThan(firstCount);
        expectEachOnceInOrder(received, prefix, committed);
      } finally {
        secondAbort.abort();
      }
    });

    it('wakes without a notification once a transaction holding events back ends (poll fallback)', async () => {
      const blocker = await pool.connect();
      const abort = new AbortController();
      try {
        const after = (await store.headPosition()) ?? undefined;
        const received: RecordedEvent[] = [];
        const subscriber = (async () => {
          for await (const event of store.subscribeToAll({ after, signal: abort.signal })) received.push(event);
        })();

        await blocker.query('BEGIN');
        await blocker.query('SELECT pg_current_xact_id()');
        const appended = await store.append(newStream(), newEvents(1), 'no_stream');
        await sleep(300);
        expect(received).toEqual([]);

        // Ending a transaction that appended nothing notifies nobody.
        await blocker.query('COMMIT');
        await waitFor(() => received.length === 1, 'the held-back event', 60_000);
        expect(received[0]?.position).toEqual(appended.position);

        abort.abort();
        await subscriber;
      } finally {
        abort.abort();
        await blocker.query('ROLLBACK').catch(() => undefined);
        blocker.release();
      }
    });

    it('ends when aborted while waiting, and gives its connection back', async () => {
      const abort = new AbortController();
      const after = (await store.headPosition()) ?? undefined;
      const subscriber = collect(store.subscribeToAll({ after, signal: abort.signal }));
      await sleep(150);
      abort.abort();
      expect(await subscriber).toEqual([]);
      expect(pool.idleCount).toBe(pool.totalCount);
    });

    it('ends on close(), even a subscription nobody is iterating', async () => {
      const own = new PostgresEventStore(pool, { pollIntervalMs: 100 });
      await store.append(newStream(), newEvents(1), 'no_stream');
      const iterator = own.subscribeToAll()[Symbol.asyncIterator]();
      expect((await iterator.next()).done).toBe(false);

      await own.close();
      expect(pool.idleCount).toBe(pool.totalCount);
      expect((await iterator.next()).done).toBe(true);
    });
  });
});
