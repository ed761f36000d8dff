/**
 * Property: for random valid histories of two accounts, decided by the real domain, the read
 * models equal the domain's fold however the events are cut into batches — and two different
 * cuts give identical tables, row for row.
 */
import { defined } from '../../test/support/defined';
import fc from 'fast-check';
import type { Credits, Instant, LedgerCommand } from '@ledger/domain';
import { projections, readModelTableNames } from './index';
import {
  applyInBatches,
  credits,
  dumpTables,
  growthPlan,
  openReadModelDatabase,
  RecordingLedger,
  truncateReadModels,
  verifyReadModels,
  type ReadModelDatabase,
} from './test-support';

const HOUR = 60 * 60 * 1000;
const START: Instant = '2026-11-01T08:00:00.000Z';
const FIRST_PERIOD = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
const ACCOUNTS = ['acct-a', 'acct-b'];
const tables = readModelTableNames.filter((t) => t !== 'projection_checkpoints');

/** What a random step does, with how often it comes up. */
const ops = [
  ['grant', 3],
  ['accept', 8],
  ['complete', 6],
  ['fail', 2],
  ['cancel', 2],
  ['hold', 4],
  ['releaseHold', 4],
  ['expire', 1],
  ['renew', 1],
  ['suspend', 1],
  ['reactivate', 3],
  ['changePlan', 1],
  ['attach', 1],
] as const;
type Op = (typeof ops)[number][0];

interface Action {
  account: number;
  op: Op;
  /** How far the clock moves before the command. */
  hours: number;
  choice: number;
  amount: Credits;
  variant: number;
}

const actionArb: fc.Arbitrary<Action> = fc.record({
  account: fc.integer({ min: 0, max: ACCOUNTS.length - 1 }),
  op: fc.oneof(...ops.map(([op, weight]) => ({ weight, arbitrary: fc.constant<Op>(op) }))),
  hours: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 96 })),
  choice: fc.nat({ max: 999 }),
  amount: fc.oneof(fc.bigInt({ min: 1n, max: credits('40') }), fc.bigInt({ min: 1n, max: credits('300') })),
  variant: fc.nat({ max: 6 }),
});

const one = <T>(items: readonly T[], choice: number): T | undefined =>
  items.length === 0 ? undefined : items[choice % items.length];

const later = (instant: Instant, ms: number): Instant => new Date(Date.parse(instant) + ms).toISOString();

/** A command the action stands for, given the account as it stands (it may still be refused). */
function commandFor(
  ledger: RecordingLedger,
  accountId: string,
  action: Action,
  now: Instant,
  serial: number,
): LedgerCommand {
  const state = ledger.state(accountId);
  const runs = [...state.runs.values()];
  const open = runs.filter((run) => run.status === 'accepted');
  const projects = [...state.projects.keys()];
  const base = { accountId };
  switch (action.op) {
    case 'grant':
      return {
        ...base,
        type: 'GrantCredits',
        grantId: `g-${serial}`,
        source: action.variant % 2 === 0 ? 'top_up' : 'manual',
        amount: action.amount,
        ...(action.variant < 3 ? { expiresAt: later(now, (1 + (action.choice % 72)) * HOUR) } : {}),
        // some grants take effect later: scheduled, then in effect with the first command after
        ...(action.choice % 3 === 0 ? { effectiveAt: later(now, (action.choice % 48) * HOUR) } : {}),
        ...(action.variant % 3 === 0 ? {} : { projectId: one(projects, action.choice) }),
      };
    case 'accept': {
      const advanced = action.variant % 2 === 1;
      return {
        ...base,
        type: 'AcceptRun',
        runId: `r-${serial}`,
        projectId: one(projects, action.choice) ?? 'p-none',
        action: advanced ? 'agent.run' : 'workflow.run',
        capabilityBand: advanced ? 'advanced' : 'standard',
        estimatedCost: action.amount + credits('1'),
      };
    }
    case 'complete': {
      const run = one(open, action.choice);
      const estimate = run?.estimatedCost ?? 0n;
      // under, at, a little over, nothing, far over, beyond any balance, a sliver
      const actualCost = [
        estimate / 2n,
        estimate,
        estimate + action.amount / 4n,
        0n,
        estimate + action.amount * 3n,
        estimate + credits('5000'),
        1n,
      ][action.variant];
      return { ...base, type: 'CompleteRun', runId: run?.runId ?? 'r-none', actualCost: defined(actualCost) };
    }
    case 'fail':
    case 'cancel':
      return {
        ...base,
        type: action.op === 'fail' ? 'FailRun' : 'CancelRun',
        runId: one(open, action.choice)?.runId ?? 'r-none',
      };
    case 'hold': {
      const run = one(
        runs.filter((r) => r.status === 'completed' && r.consumed > r.held),
        action.choice,
      );
      const holdable = run ? run.consumed - run.held : 1n;
      return {
        ...base,
        type: 'PlaceSettlementHold',
        holdId: `h-${serial}`,
        runId: run?.runId ?? 'r-none',
        provider: action.variant % 2 === 0 ? 'provider-a' : 'provider-b',
        amount: 1n + (action.amount % holdable),
      };
    }
    case 'releaseHold': {
      const held = [...state.holds.values()].filter((hold) => hold.status === 'held');
      return {
        ...base,
        type: 'ReleaseSettlementHold',
        holdId: one(held, action.choice)?.holdId ?? 'h-none',
        outcome: action.variant % 2 === 0 ? 'paid_out' : 'reversed',
      };
    }
    case 'expire':
      return { ...base, type: 'ExpireCredits' };
    case 'renew': {
      const start = state.subscription?.period.end ?? now;
      return { ...base, type: 'RenewSubscriptionPeriod', period: { start, end: later(start, 30 * 24 * HOUR) } };
    }
    case 'suspend':
      return { ...base, type: 'SuspendAccount', reason: 'late payment' };
    case 'reactivate':
      return { ...base, type: 'ReactivateAccount' };
    case 'changePlan':
      return {
        ...base,
        type: 'ChangePlan',
        plan: growthPlan({ planId: `plan-${action.variant}`, includedCredits: action.amount }),
      };
    case 'attach':
      return { ...base, type: 'AttachProject', projectId: `p-${serial}`, name: `Project ${serial}` };
  }
}

/** Records the accounts' opening, then every action the domain accepts; `outcomes` counts how each went. */
function record(actions: readonly Action[], outcomes?: Map<string, number>): RecordingLedger {
  const ledger = new RecordingLedger();
  let now = START;
  for (const accountId of ACCOUNTS) {
    ledger.must({ type: 'OpenBillingAccount', accountId, name: `Account ${accountId}` }, now);
    ledger.must(
      {
        type: 'StartSubscription',
        accountId,
        plan: growthPlan({ includedCredits: credits('120') }),
        period: FIRST_PERIOD,
      },
      now,
    );
    for (const projectId of ['p-1', 'p-2']) ledger.must({ type: 'AttachProject', accountId, projectId }, now);
    // alerts (issue #17): rules that fire and clear as the history moves
    for (const [ruleId, kind, threshold] of [
      ['low', 'available_below', '60'],
      ['share', 'available_below_share', '0.3'],
      ['payout', 'settlement_threshold_reached', undefined],
      ['soon', 'credits_expiring', '2'],
      ['owed', 'commercial_exception', undefined],
      ['off', 'account_suspended', undefined],
    ] as const) {
      ledger.must({ type: 'DefineAlertRule', accountId, ruleId, kind, ...(threshold ? { threshold } : {}) }, now);
    }
  }
  actions.forEach((action, serial) => {
    now = later(now, action.hours * HOUR);
    const decision = ledger.send(commandFor(ledger, defined(ACCOUNTS[action.account]), action, now, serial), now);
    if (outcomes) {
      const outcome = decision.ok ? `${action.op}: ok` : `${action.op}: ${decision.rejection.code}`;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
  });
  return ledger;
}

const splitArb = fc.oneof(
  fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
  fc.constant([1]),
  fc.constant([100_000]),
);

let database: ReadModelDatabase;
beforeAll(async () => {
  database = await openReadModelDatabase();
});
afterAll(async () => {
  await database?.close();
});

const historyArb = fc.array(actionArb, { minLength: 5, maxLength: 70, size: 'max' });
/** Sized by count: each run is a few database round trips per event, slow on a busy machine. */
const RUNS = 30;
const GUARD_HISTORIES = 5 * RUNS;

describe('read models under random histories and random batch cuts', () => {
  it(`equal the domain fold, and every cut gives the same tables (${RUNS} histories)`, async () => {
    const { db } = database;
    await fc.assert(
      fc.asyncProperty(historyArb, splitArb, splitArb, async (actions, firstCut, secondCut) => {
        const ledger = record(actions);

        await truncateReadModels(db);
        await applyInBatches(db, projections, ledger.events, firstCut);
        await verifyReadModels(db, ledger);
        const first = await dumpTables(db, tables);

        await truncateReadModels(db);
        await applyInBatches(db, projections, ledger.events, secondCut);
        expect(await dumpTables(db, tables)).toEqual(first);
      }),
      { numRuns: RUNS },
    );
    // About 15 s on an idle 2-core machine; the margin is for a busy one.
  }, 300_000);

  it(`reaches every kind of event in ${GUARD_HISTORIES} histories of the generator`, () => {
    // A guard against a generator that stops reaching the rare events: it draws its own histories
    // (so it holds when run alone) and counts what they record. Five times the property's runs:
    // in 30 histories SettlementHoldReleased came up 3–25 times (200 draws of 30), and fewer than 3
    // once in CI, a failure of chance rather than of the generator.
    const outcomes = new Map<string, number>();
    const seen = new Map<string, number>();
    for (const actions of fc.sample(historyArb, GUARD_HISTORIES)) {
      for (const e of record(actions, outcomes).events) seen.set(e.event.type, (seen.get(e.event.type) ?? 0) + 1);
    }
    if (process.env.LEDGER_PROPERTY_STATS)
      console.log(Object.fromEntries([...outcomes].sort()), Object.fromEntries(seen));
    const rare = [
      'CreditsGranted',
      'CreditsBecameEffective',
      'CreditsReserved',
      'CreditsConsumed',
      'ReservationReleased',
      'CreditsExpired',
      'CommercialExceptionRecorded',
      'SettlementHoldPlaced',
      'SettlementHoldReleased',
      'SubscriptionPeriodRenewed',
      'PlanChanged',
      'AccountSuspended',
      'AccountReactivated',
      'RunFailed',
      'RunCancelled',
      'ProjectAttached',
      'AlertFired',
      'AlertCleared',
    ].filter((type) => (seen.get(type) ?? 0) < 3);
    expect(rare).toEqual([]);
  });
});
