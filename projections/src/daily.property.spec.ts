/**
 * Property: for random histories decided by the real domain — days with many events, days with
 * none, now and then a clock a little behind the one before — every day's figures the daily
 * projection keeps (the last row on or before the day, as a reader carries it forward) are what a
 * replay of the account's events up to the end of that day gives, however the events are cut into
 * batches; a row's consumed_in_day is the day's growth of consumed; and every subscription period
 * has its row.
 */
import { defined } from '../../test/support/defined';
import fc from 'fast-check';
import { shareBucketNames, type Credits, type Instant, type LedgerCommand } from '@ledger/domain';
import { dailyProjection } from './daily';
import { replayAccount } from './replay';
import {
  applyInBatches,
  credits,
  growthPlan,
  openReadModelDatabase,
  RecordingLedger,
  truncateReadModels,
  type ReadModelDatabase,
} from './test-support';
import { sql } from 'kysely';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const START: Instant = '2026-11-01T08:00:00.000Z';
const ACCOUNTS = ['acct-a', 'acct-b'];
const PROJECTS = ['p-1', 'p-2', 'p-3'];

interface Action {
  account: number;
  op: 'grant' | 'accept' | 'complete' | 'fail' | 'hold' | 'release' | 'renew' | 'expire';
  /** Clock movement before the command; negative: a clock slightly behind the last one. */
  minutes: number;
  choice: number;
  amount: Credits;
}

const actionArb: fc.Arbitrary<Action> = fc.record({
  account: fc.integer({ min: 0, max: ACCOUNTS.length - 1 }),
  op: fc.constantFrom(
    'grant',
    'accept',
    'accept',
    'complete',
    'complete',
    'fail',
    'hold',
    'release',
    'renew',
    'expire',
  ),
  minutes: fc.oneof(
    fc.integer({ min: 0, max: 90 }),
    fc.integer({ min: 0, max: 4 * 24 * 60 }),
    fc.integer({ min: -12 * 60, max: -1 }),
  ),
  choice: fc.nat({ max: 999 }),
  amount: fc.bigInt({ min: 1n, max: credits('60') }),
});

const later = (instant: Instant, ms: number): Instant => new Date(Date.parse(instant) + ms).toISOString();

function commandFor(ledger: RecordingLedger, accountId: string, action: Action, serial: number): LedgerCommand {
  const state = ledger.state(accountId);
  const runs = [...state.runs.values()];
  const open = runs.filter((run) => run.status === 'accepted');
  const pick = <T>(items: readonly T[]): T | undefined => items[action.choice % Math.max(1, items.length)];
  switch (action.op) {
    case 'grant':
      return {
        type: 'GrantCredits',
        accountId,
        grantId: `g-${serial}`,
        source: 'top_up',
        amount: action.amount * 3n,
        ...(action.choice % 2 === 0 ? { projectId: pick(PROJECTS) } : {}),
        ...(action.choice % 5 === 0 ? { expiresAt: later(START, (action.choice % 20) * DAY) } : {}),
      };
    case 'accept':
      return {
        type: 'AcceptRun',
        accountId,
        runId: `r-${serial}`,
        projectId: defined(pick(PROJECTS)),
        action: 'workflow.run',
        capabilityBand: 'standard',
        estimatedCost: action.amount + credits('1'),
      };
    case 'complete': {
      const run = pick(open);
      const estimate = run?.estimatedCost ?? 0n;
      return {
        type: 'CompleteRun',
        accountId,
        runId: run?.runId ?? 'r-none',
        actualCost: action.choice % 3 === 0 ? estimate + action.amount : estimate / 2n,
      };
    }
    case 'fail':
      return { type: 'FailRun', accountId, runId: pick(open)?.runId ?? 'r-none' };
    case 'hold': {
      const run = pick(runs.filter((r) => r.status === 'completed' && r.consumed > r.held));
      return {
        type: 'PlaceSettlementHold',
        accountId,
        holdId: `h-${serial}`,
        runId: run?.runId ?? 'r-none',
        provider: 'provider-a',
        amount: run ? 1n + (action.amount % (run.consumed - run.held)) : 1n,
      };
    }
    case 'release': {
      const held = [...state.holds.values()].filter((hold) => hold.status === 'held');
      return { type: 'ReleaseSettlementHold', accountId, holdId: pick(held)?.holdId ?? 'h-none', outcome: 'paid_out' };
    }
    case 'renew': {
      const start = state.subscription?.period.end ?? START;
      return { type: 'RenewSubscriptionPeriod', accountId, period: { start, end: later(start, 7 * DAY) } };
    }
    case 'expire':
      return { type: 'ExpireCredits', accountId };
  }
}

function record(actions: readonly Action[]): RecordingLedger {
  const ledger = new RecordingLedger();
  let now = START;
  for (const accountId of ACCOUNTS) {
    ledger.must({ type: 'OpenBillingAccount', accountId, name: accountId }, now);
    ledger.must(
      {
        type: 'StartSubscription',
        accountId,
        plan: growthPlan({ includedCredits: credits('100') }),
        period: { start: '2026-11-01T00:00:00.000Z', end: '2026-11-08T00:00:00.000Z' },
      },
      now,
    );
    for (const projectId of PROJECTS) ledger.must({ type: 'AttachProject', accountId, projectId }, now);
  }
  actions.forEach((action, serial) => {
    now = later(now, action.minutes * 60_000);
    ledger.send(commandFor(ledger, defined(ACCOUNTS[action.account]), action, serial), now);
  });
  return ledger;
}

const nextDay = (day: string): string => new Date(Date.parse(`${day}T00:00:00.000Z`) + DAY).toISOString().slice(0, 10);

let database: ReadModelDatabase;
beforeAll(async () => {
  database = await openReadModelDatabase();
});
afterAll(async () => {
  await database?.close();
});

const RUNS = 25;

describe('the daily projection under random histories', () => {
  it(`keeps each day's end as a replay to that day's end computes it (${RUNS} histories)`, async () => {
    const { db } = database;
    await fc.assert(
      fc.asyncProperty(
        fc.array(actionArb, { minLength: 5, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 15 }), { minLength: 1, maxLength: 5 }),
        async (actions, cuts) => {
          const ledger = record(actions);
          await truncateReadModels(db);
          await applyInBatches(db, [dailyProjection], ledger.events, cuts);
          const { rows } = await sql<{
            account_id: string;
            project_id: string;
            day: string;
            [bucket: string]: unknown;
          }>`SELECT *, day::text AS day FROM daily_balances ORDER BY account_id, project_id, daily_balances.day`.execute(
            db,
          );

          for (const accountId of ACCOUNTS) {
            const events = ledger.events.filter((e) => e.event.data.accountId === accountId);
            const mine = rows.filter((row) => row.account_id === accountId);
            const first = defined(mine[0]).day;
            const last = defined(mine.at(-1)).day;
            // The stored days are the days of the stream's events, in order (never going back).
            expect(mine.filter((r) => r.project_id === '').map((r) => r.day)).toEqual(
              [...new Set(daysOf(events.map((e) => e.metadata.occurredAt)))].sort(),
            );
            for (let day = first; day <= last; day = nextDay(day)) {
              const replay = replayAccount(events, { instant: `${day}T23:59:59.999Z` });
              const carried = (projectId: string) =>
                mine.filter((r) => r.project_id === projectId && r.day <= day).at(-1);
              const account = defined(carried(''), `the account's row on ${day}`);
              expect({ day, ...figures(account, true) }).toEqual({ day, ...replay.buckets() });
              for (const projectId of PROJECTS) {
                const row = carried(projectId);
                const share = replay.share(projectId);
                expect({ day, projectId, ...(row && figures(row, false)) }).toEqual({ day, projectId, ...share });
              }
            }
            // A row's consumption in its day is how far consumed grew since the row before it.
            for (const projectId of ['', ...PROJECTS]) {
              let before = 0n;
              for (const row of mine.filter((r) => r.project_id === projectId)) {
                expect(BigInt(row.consumed_in_day as string) + before).toBe(BigInt(row.consumed as string));
                before = BigInt(row.consumed as string);
              }
            }
          }

          const periods = await db.selectFrom('subscription_periods').selectAll().execute();
          const started = ledger.events.filter(
            (e) => e.event.type === 'SubscriptionStarted' || e.event.type === 'SubscriptionPeriodRenewed',
          );
          expect(periods).toHaveLength(started.length);
        },
      ),
      { numRuns: RUNS },
    );
  }, 300_000);
});

/** Each event's day as the projection dates it: its own, or the day before it when the clock went back. */
function daysOf(instants: readonly string[]): string[] {
  let latest = '';
  return instants.map((instant) => {
    const own = new Date(instant).toISOString().slice(0, 10);
    latest = own > latest ? own : latest;
    return latest;
  });
}

function figures(row: Record<string, unknown>, withAvailable: boolean): Record<string, bigint> {
  const names = withAvailable ? [...shareBucketNames, 'available'] : shareBucketNames;
  return Object.fromEntries(names.map((name) => [name, BigInt(row[name] as string)]));
}
