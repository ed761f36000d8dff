/**
 * The projector on EVENT_STORE=eventstoredb (the in-process EventStoreDB double, appending through
 * BatchAppend as against a real server): an event in a billing-account stream that the ledger
 * cannot read — written by another tool as binary, of a type the ledger does not know, or of a
 * known type in a shape it does not have — stops every projection visibly at that event. The
 * events before it are applied, the failure is recorded at its position, the store's subscription
 * never drops, and a restart fails there again.
 */
import {
  ACCOUNT_STREAM_PREFIX,
  accountStreamId,
  comparePositions,
  EventStoreDbEventStore,
  formatPosition,
  type GlobalPosition,
  type RecordedEvent,
} from '@ledger/event-store';
import { ledgerMigrations } from '@ledger/database';
import { createKysely, createPool, migrate } from '@ledger/platform';
import { projections, toProjectedEvent, type ReadModelTables } from '@ledger/projections';
import { binaryEvent, EventStoreDBClient, jsonEvent, type EventData } from '@eventstore/db-client';
import type { Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { defined } from '../../../test/support/defined';
import {
  startEventStoreDbDouble,
  type EventStoreDbDouble,
} from '../../../test/support/eventstoredb-double/eventstoredb-double';
import { waitUntil } from '../../../test/support/wait';
import { Projector } from '../src/projector';
import { appendHistories } from './support/ledger-history';
import { checkpoints } from './support/read-models';

let database: TestDatabase;
let pool: pg.Pool;
let db: Kysely<ReadModelTables>;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createPool(database.url, { max: 30 });
  db = createKysely<ReadModelTables>(pool);
  await migrate(db, ledgerMigrations);
});

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

/** Metadata as the ledger writes it, so that only the data or type is wrong. */
const ledgerMetadata = () => ({
  eventId: randomUUID(),
  schemaVersion: 1,
  commandId: randomUUID(),
  commandType: 'Foreign',
  idempotencyKey: randomUUID(),
  requestHash: 'sha256:0',
  correlationId: randomUUID(),
  causationId: randomUUID(),
  principal: 'tool:import',
  occurredAt: '2026-11-28T10:00:00.000Z',
});

const poisons: [string, () => EventData, RegExp][] = [
  [
    'binary',
    () => binaryEvent({ type: 'CreditsGranted', data: Buffer.from('not json') }),
    /cannot be read as a ledger event: it is stored as binary/,
  ],
  [
    'of an unknown type',
    () => jsonEvent({ type: 'LegacyCreditsMoved', data: { amount: '5' }, metadata: ledgerMetadata() }),
    /unknown event type "LegacyCreditsMoved"/,
  ],
  [
    'of a known type in a wrong shape',
    () => jsonEvent({ type: 'CreditsGranted', data: { amount: 5 }, metadata: ledgerMetadata() }),
    /does not match its schema/,
  ],
];

describe.each(poisons)('an event %s', (kind, poison, reason) => {
  let double: EventStoreDbDouble;
  let store: EventStoreDbEventStore;
  const drops: string[] = [];

  beforeAll(async () => {
    double = await startEventStoreDbDouble();
    store = EventStoreDbEventStore.connect(double.connectionString, {
      resubscribeDelayMs: [20, 200],
      onSubscriptionDropped: (error) => drops.push(error.message),
    });
    // The read models start empty for each kind.
    await db.deleteFrom('projection_checkpoints').execute();
  });

  afterAll(async () => {
    await store?.close();
    await double?.stop();
  });

  /** Every account event in the store, in global order. */
  async function accountEvents(): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    let after: GlobalPosition | undefined;
    for (;;) {
      const page = await store.readAll({ after, maxCount: 1000, streamPrefix: ACCOUNT_STREAM_PREFIX });
      if (page.length === 0) return events;
      events.push(...page);
      after = page.at(-1)?.position;
    }
  }

  function start() {
    const projector = new Projector({ db, store, projections, toProjectedEvent, retryDelayMs: [20, 200] });
    const controller = new AbortController();
    const running = projector.run(controller.signal);
    return {
      projector,
      async stop() {
        controller.abort();
        await running;
      },
    };
  }

  it('stops every projection at it, visibly, with the events before it applied', async () => {
    const prefix = `poison-${kind.replace(/\W+/g, '-')}`;
    await appendHistories(store, { accounts: 3, eventsPerAccount: 40, prefix });
    const raw = EventStoreDBClient.connectionString(double.connectionString);
    let poisonedAt: GlobalPosition;
    try {
      const written = await raw.appendToStream(accountStreamId(`${prefix}-1`), poison());
      poisonedAt = defined(written.position);
    } finally {
      await raw.dispose();
    }
    // More accounts after it, which no projection may reach.
    await appendHistories(store, { accounts: 2, eventsPerAccount: 20, prefix: `${prefix}-after` });

    const events = await accountEvents();
    const index = events.findIndex((event) => comparePositions(event.position, poisonedAt) === 0);
    expect(index).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(index + 1);
    const before = defined(events[index - 1]);
    const expected = {
      position: formatPosition(before.position),
      events_applied: BigInt(index),
      failed_position: formatPosition(poisonedAt),
      failure: expect.stringMatching(reason),
    };

    for (let run = 0; run < 2; run++) {
      // A restart forgets the failure and tries the event again: it fails there again.
      const running = start();
      try {
        await waitUntil(
          () => running.projector.status().every((status) => status.state === 'failed'),
          'every projection to stop at the unreadable event',
        );
        const rows = await checkpoints(db);
        for (const { name } of projections) expect(rows.get(name)).toMatchObject(expected);
        for (const status of running.projector.status()) {
          expect(status.failure).toEqual({
            position: formatPosition(poisonedAt),
            message: expect.stringMatching(reason),
          });
        }
      } finally {
        await running.stop();
      }
    }
    // The store's subscription was never taken for dropped, and nothing is down.
    expect(drops).toEqual([]);
    expect(store.status().subscriptionsDown).toBe(0);
    expect(double.appends.answered.append).toBe(0);
  });
});
