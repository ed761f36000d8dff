/**
 * One account with 100,000 events: decided by the real domain, appended straight to the store in
 * big batches, projected by the real projector — then replayed by the auditor's tools, which must
 * finish and find the read models equal to the replay.
 */
import { randomUUID } from 'node:crypto';
import {
  bucketsOf,
  decide,
  evolve,
  initialState,
  type Instant,
  type LedgerCommand,
  type LedgerEvent,
  type Principal,
} from '@ledger/domain';
import { accountStreamId, comparePositions, PostgresEventStore, toEventToAppend } from '@ledger/event-store';
import { createKysely, createPool, migrate } from '@ledger/platform';
import { projections, replayAccountStream, toProjectedEvent, type ReadModelTables } from '@ledger/projections';
import type { Kysely } from 'kysely';
import { ledgerMigrations } from '@ledger/database';
import { Projector } from '../../../test/support/projector';
import { verifyReadModels } from '../src/audit/verify';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { waitUntil } from '../../../test/support/wait';

const ACCOUNT = 'acct-long';
const EVENTS = 100_000;
const SERVICE: Principal = { id: 'bulk-runner', role: 'service', accounts: '*' };
const C = 10_000n; // one credit

let database: TestDatabase;
let db: Kysely<ReadModelTables>;
let store: PostgresEventStore;

beforeAll(async () => {
  database = await createTestDatabase();
  const pool = createPool(database.url, { max: 12 });
  db = createKysely<ReadModelTables>(pool);
  await migrate(db, ledgerMigrations);
  store = new PostgresEventStore(pool, { pageSize: 5000 });
});
afterAll(async () => {
  await store?.close();
  await db?.destroy();
  await database?.drop();
});

/** Commands that produce at least `count` events: runs accepted and completed, failed, held, released. */
function* history(): Generator<LedgerCommand> {
  const account = { accountId: ACCOUNT };
  yield { type: 'OpenBillingAccount', ...account, name: 'Long history' };
  yield {
    type: 'StartSubscription',
    ...account,
    plan: {
      planId: 'bulk',
      name: 'Bulk plan',
      includedCredits: 1_000_000n * C,
      capabilityBands: ['standard'],
      rateCard: [{ action: 'workflow.run', capabilityBand: 'standard', minimumCost: C }],
      creditPriceFen: 100n,
      settlementThresholdFen: 10_000n,
    },
    period: { start: '2026-01-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
  };
  yield { type: 'AttachProject', ...account, projectId: 'proj-a' };
  yield { type: 'AttachProject', ...account, projectId: 'proj-b' };
  yield { type: 'GrantCredits', ...account, grantId: 'top-up', source: 'top_up', amount: 10_000_000n * C };
  for (let n = 0; ; n++) {
    const runId = `run-${n}`;
    yield {
      type: 'AcceptRun',
      ...account,
      runId,
      projectId: n % 2 ? 'proj-a' : 'proj-b',
      action: 'workflow.run',
      capabilityBand: 'standard',
      estimatedCost: 3n * C,
    };
    if (n % 10 === 9) {
      yield { type: 'FailRun', ...account, runId };
      continue;
    }
    // Some runs overrun their reservation.
    yield { type: 'CompleteRun', ...account, runId, actualCost: (n % 7 === 0 ? 4n : 2n) * C + BigInt(n % 13) };
    if (n % 20 === 0) {
      yield { type: 'PlaceSettlementHold', ...account, holdId: `hold-${n}`, runId, provider: 'p', amount: C };
      yield { type: 'ReleaseSettlementHold', ...account, holdId: `hold-${n}`, outcome: 'paid_out' };
    }
  }
}

it('replays an account of 100,000 events and finds the read models equal to it', async () => {
  const state = initialState();
  const pending: ReturnType<typeof toEventToAppend>[] = [];
  let appended = 0;
  let clock = Date.parse('2026-01-02T00:00:00.000Z');
  const flush = async () => {
    if (pending.length === 0) return;
    await store.append(
      accountStreamId(ACCOUNT),
      pending.splice(0),
      appended === 0 ? 'no_stream' : BigInt(appended - 1),
    );
  };
  let commandNumber = 0;
  for (const command of history()) {
    if (appended + pending.length >= EVENTS) break;
    const now: Instant = new Date((clock += 1000)).toISOString();
    const decision = decide(command, state, { principal: SERVICE, now });
    if (!decision.ok) throw new Error(`${command.type}: ${decision.rejection.code} ${decision.rejection.message}`);
    const commandId = randomUUID();
    commandNumber++;
    for (const event of decision.events as LedgerEvent[]) {
      evolve(state, event);
      pending.push(
        toEventToAppend(event, randomUUID(), {
          commandId,
          commandType: command.type,
          idempotencyKey: `bulk-${commandNumber}`,
          requestHash: 'bulk',
          correlationId: commandId,
          causationId: commandId,
          principal: SERVICE.id,
          occurredAt: now,
        }),
      );
    }
    if (pending.length >= 5000) {
      const count = pending.length;
      await flush();
      appended += count;
    }
  }
  const rest = pending.length;
  await flush();
  appended += rest;
  expect(appended).toBeGreaterThanOrEqual(EVENTS);

  // The real projector, until every projection has applied the head.
  const projector = new Projector({ db, store, projections, toProjectedEvent, batchSize: 5000, flushIntervalMs: 5 });
  const controller = new AbortController();
  const running = projector.run(controller.signal);
  const head = (await store.headPosition())!;
  try {
    await waitUntil(
      async () => {
        const rows = await db.selectFrom('projection_checkpoints').selectAll().execute();
        if (rows.some((row) => row.failure)) throw new Error(rows.map((row) => row.failure).join('; '));
        return (
          rows.length === projections.length &&
          rows.every(
            (row) =>
              comparePositions({ commit: BigInt(row.position_commit), prepare: BigInt(row.position_prepare) }, head) >=
              0,
          )
        );
      },
      'every projection at the head',
      { timeoutMs: 10 * 60_000, intervalMs: 100 },
    );
  } finally {
    controller.abort();
    await running;
  }

  // The auditor's replay from the stream alone equals the domain's own fold.
  const { replay } = await replayAccountStream(store, ACCOUNT);
  expect(replay.events).toBe(appended);
  expect(replay.buckets()).toEqual(bucketsOf(state));

  // And verify replays it through the projections and compares every row.
  const report = await verifyReadModels({ db, store, accountId: ACCOUNT });
  expect(report.mismatches).toEqual([]);
  expect(report.mismatchCount).toBe(0);
  expect(report.eventsReplayed).toBe(appended);
  // How fast it goes is not asserted (a busy machine is many times slower): bench/ measures the
  // projector's and the replay's speed. Idle, about 30 s to generate, append and project and
  // about 20 s to verify; the timeout leaves room for a loaded machine.
}, 900_000);
