/**
 * The projector's engine on a real Postgres: catch-up, live events, batches committed with their
 * checkpoint, a failing projection stopped at exactly its event while the others go on, clean
 * stops and recovery from lost connections.
 */
import { defined } from '../../../test/support/defined';
import { randomUUID } from 'node:crypto';
import { decide, evolve, initialState, type LedgerCommand } from '@ledger/domain';
import {
  ACCOUNT_STREAM_PREFIX,
  accountStreamId,
  toEventToAppend,
  formatPosition,
  PostgresEventStore,
  type GlobalPosition,
  type RecordedEvent,
} from '@ledger/event-store';
import { createKysely, createPool, migrate } from '@ledger/platform';
import {
  projections as realProjections,
  toProjectedEvent,
  type ProjectedEvent,
  type Projection,
  type ReadModelTables,
} from '@ledger/projections';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { ledgerMigrations, lockProjection } from '@ledger/database';
import { growthPlan } from '../../../projections/src/test-support';
import { Projector, type ProjectorOptions, type ProjectionStatus } from '../src/projector';
import { appendHistories } from './support/ledger-history';
import { checkpoints, dumpTables, lastAccountEvent, replayInto, waitForCheckpoints } from './support/read-models';
import { waitFor, waitUntil } from '../../../test/support/wait';

let database: TestDatabase;
let pool: pg.Pool;
let db: Kysely<ReadModelTables>;
let store: PostgresEventStore;
let accountSeed = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createPool(database.url, { max: 30 });
  db = createKysely<ReadModelTables>(pool);
  await migrate(db, ledgerMigrations);
  store = new PostgresEventStore(pool, { pollIntervalMs: 100 });
  await sql`
    CREATE TABLE seen (
      projection text NOT NULL,
      event_id uuid NOT NULL,
      position_commit bigint NOT NULL,
      position_prepare bigint NOT NULL,
      PRIMARY KEY (projection, event_id)
    )`.execute(db);
});

afterAll(async () => {
  await store?.close();
  await db?.destroy();
  await database?.drop();
});

/** Appends fresh accounts' histories; returns how many events. */
const appendAccounts = (accounts: number, eventsPerAccount: number): Promise<number> =>
  appendHistories(store, { accounts, eventsPerAccount, prefix: `acct${accountSeed++}` });

/** Every account event in the store, in global order. */
async function allEvents(): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let after: GlobalPosition | undefined;
  for (;;) {
    const page = await store.readAll({ after, maxCount: 5000, streamPrefix: ACCOUNT_STREAM_PREFIX });
    if (page.length === 0) return events;
    events.push(...page);
    after = page[page.length - 1]?.position;
  }
}

interface Recorder extends Projection {
  /** Sizes of the batches it was given, committed or not. */
  readonly batches: number[];
}

/**
 * A projection that writes one `seen` row per event, one statement each, and throws on a poisoned
 * event after writing the rows before it: whatever it wrote in a failed batch must vanish.
 */
function recorder(name: string, poisoned?: (event: ProjectedEvent) => boolean): Recorder {
  const batches: number[] = [];
  return {
    name,
    tables: [],
    batches,
    async applyBatch(events, tx) {
      batches.push(events.length);
      for (const event of events) {
        if (poisoned?.(event)) throw new Error(`refusing ${event.event.type} ${event.metadata.eventId}`);
        await sql`
          INSERT INTO seen (projection, event_id, position_commit, position_prepare)
          VALUES (${name}, ${event.metadata.eventId}, ${event.position.commit}, ${event.position.prepare})`.execute(tx);
      }
    },
  };
}

async function seenBy(name: string): Promise<string[]> {
  const { rows } = await sql<{ event_id: string }>`
    SELECT event_id FROM seen WHERE projection = ${name} ORDER BY position_commit, position_prepare`.execute(db);
  return rows.map((row) => row.event_id);
}

function start(options: Partial<ProjectorOptions> & Pick<ProjectorOptions, 'projections'>) {
  const projector = new Projector({ db, store, toProjectedEvent, retryDelayMs: [20, 200], ...options });
  const controller = new AbortController();
  const running = projector.run(controller.signal);
  return {
    projector,
    running,
    status: (name: string): ProjectionStatus => projector.status().find((s) => s.name === name)!,
    async stop() {
      controller.abort();
      await running;
    },
  };
}

const until = (condition: () => boolean | Promise<boolean>): Promise<void> => waitUntil(condition, 'the condition');

test('catches up from zero, then follows live events: each exactly once, in order, with the real projections', async () => {
  await appendAccounts(8, 250);
  const rec = recorder('rec-catch-up');
  const run = start({ projections: [rec, ...realProjections] });
  const names = [rec.name, ...realProjections.map((projection) => projection.name)];
  try {
    await waitForCheckpoints(db, names);
    let events = await allEvents();
    expect(await seenBy(rec.name)).toEqual(events.map((event) => event.metadata.eventId));
    await until(() => names.every((name) => run.status(name).state === 'live'));

    // Live: events appended while it runs.
    await appendAccounts(3, 120);
    await waitForCheckpoints(db, names);
    events = await allEvents();
    expect(await seenBy(rec.name)).toEqual(events.map((event) => event.metadata.eventId));
    const rows = await checkpoints(db);
    for (const name of names) {
      expect(rows.get(name)).toMatchObject({
        events_applied: BigInt(events.length),
        position: formatPosition(defined(events[events.length - 1]?.position)),
        failed_position: null,
        failure: null,
      });
    }

    // The incremental read models equal one replay of the whole log.
    await replayInto(db, store, 'reference', realProjections, toProjectedEvent, 700);
    const tables = realProjections.flatMap((projection) => projection.tables);
    expect(await dumpTables(db, 'public', tables)).toEqual(await dumpTables(db, 'reference', tables));
  } finally {
    await run.stop();
  }
  expect(run.projector.status().every((s) => s.state === 'stopped')).toBe(true);
});

test('a lone live event is committed at once, woken by its notification: no poll, no waiting for companions', async () => {
  // Polling every ten minutes: an event committed before the wait below ends was announced.
  const quiet = new PostgresEventStore(pool, { pollIntervalMs: 600_000 });
  const rec = recorder('rec-lone');
  const run = start({ projections: [rec], store: quiet });
  try {
    await waitForCheckpoints(db, [rec.name]);
    await until(() => run.status(rec.name).state === 'live');
    const before = rec.batches.length;
    const appended = await appendAccounts(1, 1);
    await waitForCheckpoints(db, [rec.name], 300_000);
    // One append, one transaction.
    expect(rec.batches.slice(before)).toEqual([appended]);
    expect(await seenBy(rec.name)).toEqual((await allEvents()).map((event) => event.metadata.eventId));
  } finally {
    await run.stop();
    await quiet.close();
  }
});

test('events that arrive while a batch commits are committed together next, in batches of at most batchSize', async () => {
  let release: (() => void) | undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let holding = false;
  let entered = 0;
  const inner = recorder('rec-behind');
  const gated: Recorder = {
    ...inner,
    async applyBatch(events, tx) {
      entered++;
      if (holding) await gate;
      await inner.applyBatch(events, tx);
    },
  };
  const run = start({ projections: [gated], batchSize: 20 });
  try {
    await waitForCheckpoints(db, [gated.name]);
    await until(() => run.status(gated.name).state === 'live');
    holding = true;
    const before = inner.batches.length;
    // Counted before the append: the projector may enter the batch before the append returns.
    const enteredBefore = entered;
    const first = await appendAccounts(1, 1);
    await until(() => entered > enteredBefore);
    // The first append is being committed; these queue up behind it.
    holding = false;
    const queued = await appendAccounts(1, 45);
    expect(queued).toBeGreaterThan(40);
    release!();
    await waitForCheckpoints(db, [gated.name]);
    const batches = inner.batches.slice(before);
    expect(batches[0]).toBe(first);
    expect(batches[1]).toBe(20);
    expect(Math.max(...batches.slice(1))).toBe(20);
    expect(batches.slice(1).reduce((sum, size) => sum + size, 0)).toBe(queued);
    expect(await seenBy(gated.name)).toEqual((await allEvents()).map((event) => event.metadata.eventId));
  } finally {
    release?.();
    await run.stop();
  }
});

test('batches hold at most batchSize events; with a flush interval, a live append is committed in a few transactions', async () => {
  const rec = recorder('rec-batches');
  const run = start({ projections: [rec], batchSize: 100, flushIntervalMs: 50 });
  try {
    await waitForCheckpoints(db, [rec.name]);
    expect(Math.max(...rec.batches)).toBe(100);
    const committed = run.status(rec.name).batches;
    const total = (await allEvents()).length;
    expect(committed).toBeLessThanOrEqual(Math.ceil(total / 100) + 5);

    // One append of 50 events while live: one or two transactions, not fifty.
    const before = run.status(rec.name).batches;
    await appendAccounts(1, 45);
    await waitForCheckpoints(db, [rec.name]);
    // (How soon it lands is the machine's business, not asserted: how many transactions it took is.)
    expect(run.status(rec.name).batches - before).toBeLessThanOrEqual(3);
    expect(await seenBy(rec.name)).toEqual((await allEvents()).map((event) => event.metadata.eventId));
  } finally {
    await run.stop();
  }
});

test('a projection that throws on one event stops exactly before it, records why, and the others go on', async () => {
  const events = await allEvents();
  const culprit = events[777];
  const fragile = recorder('rec-fragile', (event) => event.metadata.eventId === culprit?.metadata.eventId);
  const sturdy = recorder('rec-sturdy');
  const run = start({ projections: [fragile, sturdy], batchSize: 100 });
  try {
    await until(() => run.status(fragile.name).state === 'failed');
    const expectedFailure = {
      failed_position: formatPosition(defined(culprit?.position)),
      failure: `refusing ${culprit?.type} ${culprit?.metadata.eventId}`,
      position: formatPosition(defined(events[776]?.position)),
      events_applied: 777n,
    };
    expect((await checkpoints(db)).get(fragile.name)).toMatchObject(expectedFailure);
    const { rows } = await sql<{ failed_at: Date | null }>`
      SELECT failed_at FROM projection_checkpoints WHERE projection = ${fragile.name}`.execute(db);
    expect(rows[0]?.failed_at).toBeInstanceOf(Date);
    // The rows the failed batch wrote before throwing were rolled back with it.
    expect(await seenBy(fragile.name)).toEqual(events.slice(0, 777).map((event) => event.metadata.eventId));
    expect(run.status(fragile.name)).toMatchObject({
      state: 'failed',
      failure: { position: expectedFailure.failed_position, message: expectedFailure.failure },
    });

    // The other projection reaches the head and keeps following live events.
    await appendAccounts(2, 60);
    await waitForCheckpoints(db, [sturdy.name]);
    expect(await seenBy(sturdy.name)).toEqual((await allEvents()).map((event) => event.metadata.eventId));
    expect((await checkpoints(db)).get(fragile.name)).toMatchObject(expectedFailure);
    expect(run.status(sturdy.name).state).toBe('live');
  } finally {
    await run.stop();
  }

  // A clean restart with the projection fixed clears the failure and goes on from the culprit.
  const fixed = recorder('rec-fragile');
  const restarted = start({ projections: [fixed], batchSize: 100 });
  try {
    await waitForCheckpoints(db, [fixed.name]);
    const all = await allEvents();
    expect(await seenBy(fixed.name)).toEqual(all.map((event) => event.metadata.eventId));
    expect((await checkpoints(db)).get(fixed.name)).toMatchObject({
      failed_position: null,
      failure: null,
      events_applied: BigInt(all.length),
    });
  } finally {
    await restarted.stop();
  }
});

test('a restart with the projection still broken fails again at the same event', async () => {
  const events = await allEvents();
  const culprit = events[10];
  const broken = (): Recorder =>
    recorder('rec-broken', (event) => event.metadata.eventId === culprit?.metadata.eventId);
  for (let attempt = 0; attempt < 2; attempt++) {
    const run = start({ projections: [broken()] });
    await until(() => run.status('rec-broken').state === 'failed');
    await run.stop();
    expect((await checkpoints(db)).get('rec-broken')).toMatchObject({
      failed_position: formatPosition(defined(culprit?.position)),
      position: formatPosition(defined(events[9]?.position)),
      events_applied: 10n,
    });
  }
});

test('an abort mid catch-up stops promptly, with every committed batch matching its checkpoint', async () => {
  const rec = recorder('rec-abort');
  const run = start({ projections: [rec], batchSize: 10 });
  await until(() => run.status(rec.name).batches >= 5);
  const batchesAtAbort = run.status(rec.name).batches;
  await run.stop();
  // Promptly: the abort ends the loop after the batch it was committing, not after the catch-up
  // (a count of batches, not a time: a busy machine takes longer over the same batch).
  expect(run.status(rec.name).batches - batchesAtAbort).toBeLessThanOrEqual(1);
  expect(run.status(rec.name).state).toBe('stopped');
  const row = (await checkpoints(db)).get(rec.name)!;
  const seen = await seenBy(rec.name);
  const events = await allEvents();
  expect(seen.length).toBeLessThan(events.length);
  expect(BigInt(seen.length)).toBe(row.events_applied);
  expect(row.position).toBe(formatPosition(defined(events[seen.length - 1]?.position)));
  expect(seen).toEqual(events.slice(0, seen.length).map((event) => event.metadata.eventId));
});

test('lost connections are survived: the loop resumes from its checkpoint, nothing lost or doubled', async () => {
  const url = new URL(database.url);
  url.searchParams.set('application_name', 'projector-victim');
  const victimPool = createPool(url.toString(), { max: 10 });
  const victimDb = createKysely<ReadModelTables>(victimPool);
  const victimStore = new PostgresEventStore(victimPool, { pollIntervalMs: 100 });
  const rec = recorder('rec-victim');
  const projector = new Projector({
    db: victimDb,
    store: victimStore,
    projections: [rec],
    toProjectedEvent,
    batchSize: 20,
    retryDelayMs: [10, 50],
  });
  const controller = new AbortController();
  const running = projector.run(controller.signal);
  let terminated = 0;
  try {
    for (let i = 0; i < 8; i++) {
      // Each time the projector has connected again (after its retry delay), its connections are cut.
      // Two statements: a WHERE clause may evaluate pg_terminate_backend before the other conditions.
      const victims = async () =>
        (
          await sql<{ pid: number }>`
            SELECT pid FROM pg_stat_activity
            WHERE application_name = 'projector-victim' AND datname = current_database()`.execute(db)
        ).rows;
      const rows = await waitFor(victims, (found) => found.length > 0, 'the projector to connect again');
      for (const { pid } of rows) await sql`SELECT pg_terminate_backend(${pid}::int)`.execute(db);
      terminated += rows.length;
    }
    expect(terminated).toBeGreaterThanOrEqual(8);
    await appendAccounts(1, 40);
    await waitForCheckpoints(db, [rec.name]);
    const events = await allEvents();
    expect(await seenBy(rec.name)).toEqual(events.map((event) => event.metadata.eventId));
    expect((await checkpoints(db)).get(rec.name)?.events_applied).toBe(BigInt(events.length));
  } finally {
    controller.abort();
    await running;
    await victimStore.close();
    await victimDb.destroy();
  }
  expect(await lastAccountEvent(db)).not.toBeNull();
});

test('rows rewritten behind its back at its own position (a rebuild by fixed code) are read again, not remembered', async () => {
  // One account, its commands decided by the real domain and appended as the API would.
  const accountId = `acct-remembered-${accountSeed++}`;
  const streamId = accountStreamId(accountId);
  const state = initialState();
  let revision: bigint | 'no_stream' = 'no_stream';
  let clock = Date.parse('2026-11-02T00:00:00.000Z');
  const send = async (command: LedgerCommand): Promise<void> => {
    clock += 60_000;
    const occurredAt = new Date(clock).toISOString();
    const decision = decide(command, state, {
      principal: { id: 'svc-runner', role: 'service', accounts: '*' },
      now: occurredAt,
    });
    if (!decision.ok) throw new Error(`${command.type} refused: ${decision.rejection.code}`);
    const commandId = randomUUID();
    const events = decision.events.map((event) => {
      evolve(state, event);
      return toEventToAppend(event, randomUUID(), {
        commandId,
        commandType: command.type,
        idempotencyKey: commandId,
        requestHash: 'sha256:test',
        correlationId: commandId,
        causationId: commandId,
        principal: 'svc-runner',
        occurredAt,
      });
    });
    revision = (await store.append(streamId, events, revision)).revision;
  };
  const run = (runId: string): LedgerCommand => ({
    type: 'AcceptRun',
    accountId,
    runId,
    projectId: 'proj-a',
    action: 'workflow.run',
    capabilityBand: 'standard',
    estimatedCost: 10_0000n,
  });
  await send({ type: 'OpenBillingAccount', accountId, name: 'Remembered' });
  await send({
    type: 'StartSubscription',
    accountId,
    plan: growthPlan(),
    period: { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' },
  });
  await send({ type: 'AttachProject', accountId, projectId: 'proj-a' });
  await send(run('r1'));
  // The plan's included credits, which the runs draw on.
  const [grantId] = state.grants.keys();

  const grants = realProjections.find((projection) => projection.name === 'grants')!;
  const live = start({ projections: [grants] });
  const grantRow = async () =>
    (
      await sql<{ free: bigint; reserved: bigint }>`
        SELECT free, reserved FROM credit_grants WHERE account_id = ${accountId} AND grant_id = ${grantId}`.execute(db)
    ).rows[0];
  try {
    await waitForCheckpoints(db, [grants.name]);
    expect(await grantRow()).toEqual({ free: 490_0000n, reserved: 10_0000n });

    // What a rebuild by changed code does when no event came meanwhile: other rows, same position.
    await db.transaction().execute(async (tx) => {
      await lockProjection(tx, grants.name);
      await sql`UPDATE credit_grants SET free = free + 5000000 WHERE account_id = ${accountId}`.execute(tx);
      await sql`UPDATE projection_checkpoints SET updated_at = now() WHERE projection = ${grants.name}`.execute(tx);
    });

    await send(run('r2'));
    await waitForCheckpoints(db, [grants.name]);
    // Built on the rewritten row: the projector noticed the other writer and read it again.
    expect(await grantRow()).toEqual({ free: 480_0000n + 500_0000n, reserved: 20_0000n });

    // And what it wrote itself it remembers: the next command's batch reads nothing back.
    const before = { ...live.projector.counters };
    await send(run('r3'));
    await waitForCheckpoints(db, [grants.name]);
    // The projector counts a batch once its COMMIT has answered, which may be after this test saw it.
    await until(() => live.projector.counters.transactions > before.transactions);
    const transactions = live.projector.counters.transactions - before.transactions;
    expect(transactions).toBeGreaterThan(0);
    // The three every batch costs (BEGIN, the locks, COMMIT) and the one of its writes: no read.
    expect(live.projector.counters.statements - before.statements).toBe(4 * transactions);
    expect(await grantRow()).toEqual({ free: 470_0000n + 500_0000n, reserved: 30_0000n });
  } finally {
    await live.stop();
  }
});

test('a projection that announces a channel has it notified after batches that wrote its rows, and only then', async () => {
  let writing = false;
  const announcer: Projection = {
    name: 'announcer',
    tables: [],
    announces: 'ledger_test_announcer',
    async applyBatch(events, tx) {
      if (!writing) return;
      for (const event of events) {
        await sql`
          INSERT INTO seen (projection, event_id, position_commit, position_prepare)
          VALUES ('announcer', ${event.metadata.eventId}, ${event.position.commit}, ${event.position.prepare})`.execute(
          tx,
        );
      }
    },
  };
  const listener = await pool.connect();
  let notified = 0;
  listener.on('notification', (message) => {
    if (message.channel === 'ledger_test_announcer') notified++;
  });
  await listener.query('LISTEN ledger_test_announcer');
  const live = start({ projections: [announcer] });
  try {
    await appendAccounts(2, 40);
    await waitForCheckpoints(db, [announcer.name]);
    // A notification sent at a commit arrives before the listener's next answer: ask once more.
    await listener.query('SELECT 1');
    expect(notified).toBe(0);

    writing = true;
    await appendAccounts(1, 40);
    await waitForCheckpoints(db, [announcer.name]);
    await waitUntil(() => notified > 0, 'the announcement');
    expect((await seenBy(announcer.name)).length).toBeGreaterThan(0);
  } finally {
    await live.stop();
    await listener.query('UNLISTEN *');
    listener.release();
  }
});
