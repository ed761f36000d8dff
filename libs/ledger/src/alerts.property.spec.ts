/**
 * Property test of alert rules: random rules over random command sequences with a moving clock.
 * After every accepted command each condition rule is firing exactly when its condition holds —
 * judged here by an independent reading of the state, not by the domain's own — its firings and
 * clearings alternate, a firing comes only from a rule that was not firing (or was just defined),
 * an exception rule fires once per exception, and the ledger's invariants hold after every event.
 */
import fc from 'fast-check';
import { alertKinds, type AlertKind, type LedgerCommand } from './commands';
import { decide } from './decide';
import type { LedgerEvent } from './events';
import { evolve } from './evolve';
import type { Instant } from './fields';
import { invariantViolations } from './invariants';
import { formatCredits } from './money';
import { initialState, type AccountState } from './state';
import { DAY, PERIOD, T0, acceptRunCommand, at, cmd, context, credits, defaultPlan, principal } from './test-support';

const HOUR = 60 * 60 * 1000;

/** The condition, read from the state's raw parts (grants, totals, plan) rather than its helpers. */
function holds(state: AccountState, kind: AlertKind, threshold: string | null, now: Instant): boolean {
  if (state.status === 'closed') return false;
  let free = 0n;
  for (const grant of state.grants.values()) free += grant.free;
  switch (kind) {
    case 'available_below':
      return free < credits(threshold!);
    case 'available_below_share': {
      const sub = state.subscription;
      if (!sub) return false;
      const inside = [sub.period, sub.previousPeriod].some((p) => p !== null && p.start <= now && now < p.end);
      // share × included, by the decimal text: "0.25" of 500 is 500 × 25 / 100
      const digits = threshold!.slice(2);
      const limitTimesScale = sub.plan.includedCredits * BigInt(digits);
      return inside && sub.plan.includedCredits > 0n && free * 10n ** BigInt(digits.length) < limitTimesScale;
    }
    case 'settlement_threshold_reached': {
      const plan = state.subscription?.plan;
      if (!plan || state.totals.hold === 0n) return false;
      return (state.totals.hold * plan.creditPriceFen) / 10_000n >= plan.settlementThresholdFen;
    }
    case 'credits_expiring': {
      const horizon = Date.parse(now) + Number(threshold) * DAY;
      return [...state.grants.values()].some(
        (g) => g.free > 0n && g.expiresAt !== null && g.expiresAt > now && Date.parse(g.expiresAt) <= horizon,
      );
    }
    case 'account_suspended':
      return state.status === 'suspended';
    case 'commercial_exception':
      return false;
  }
}

const thresholdFor = (kind: AlertKind, pick: number): string | undefined => {
  switch (kind) {
    case 'available_below':
      return formatCredits(credits(String(1 + (pick % 700))));
    case 'available_below_share':
      return ['0.1', '0.25', '0.5', '0.9', '0.999999'][pick % 5];
    case 'credits_expiring':
      return String(1 + (pick % 30));
    default:
      return undefined;
  }
};

type Kind =
  | 'grant'
  | 'accept'
  | 'complete'
  | 'fail'
  | 'hold'
  | 'release'
  | 'suspend'
  | 'reactivate'
  | 'expire'
  | 'define'
  | 'remove'
  | 'renew';
const weights: Array<[Kind, number]> = [
  ['grant', 4],
  ['accept', 8],
  ['complete', 5],
  ['fail', 2],
  ['hold', 3],
  ['release', 2],
  ['suspend', 1],
  ['reactivate', 2],
  ['expire', 2],
  ['define', 3],
  ['remove', 1],
  ['renew', 1],
];

interface Step {
  kind: Kind;
  advance: number;
  pick: number;
  amount: bigint;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.oneof(...weights.map(([kind, weight]) => ({ weight, arbitrary: fc.constant(kind) }))),
  advance: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 12 * HOUR }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 * DAY }) },
  ),
  pick: fc.nat({ max: 10_000 }),
  amount: fc.bigInt({ min: 1n, max: credits('300') }),
});

interface World {
  state: AccountState;
  now: Instant;
  periodEnd: Instant;
  n: number;
  /** Per rule: the alert events it has had, in order. */
  history: Map<string, string[]>;
  fired: number;
  cleared: number;
}

function commandFor(step: Step, world: World): LedgerCommand {
  const { state, now } = world;
  const runs = [...state.runs.values()];
  const choose = <T>(items: T[]): T | undefined => items[step.pick % Math.max(1, items.length)];
  switch (step.kind) {
    case 'grant':
      return cmd('GrantCredits', {
        grantId: `g-${world.n++}`,
        source: step.pick % 2 ? 'top_up' : 'manual',
        amount: step.amount,
        ...(step.pick % 3 === 0 ? {} : { expiresAt: at(now, (1 + (step.pick % 40)) * DAY) }),
      });
    case 'accept':
      return acceptRunCommand(`r-${world.n++}`, step.amount);
    case 'complete': {
      const run = choose(runs.filter((r) => r.status === 'accepted'));
      const cost = run ? (step.pick % 4 === 0 ? run.estimatedCost + step.amount : run.estimatedCost / 2n) : 1n;
      return cmd('CompleteRun', { runId: run?.runId ?? 'none', actualCost: cost });
    }
    case 'fail':
      return cmd('FailRun', { runId: choose(runs.filter((r) => r.status === 'accepted'))?.runId ?? 'none' });
    case 'hold': {
      const run = choose(runs.filter((r) => r.status === 'completed' && r.consumed > r.held));
      const amount = run ? 1n + (step.amount % (run.consumed - run.held)) : 1n;
      return cmd('PlaceSettlementHold', {
        holdId: `h-${world.n++}`,
        runId: run?.runId ?? 'none',
        provider: 'p',
        amount,
      });
    }
    case 'release': {
      const hold = choose([...state.holds.values()].filter((h) => h.status === 'held'));
      return cmd('ReleaseSettlementHold', {
        holdId: hold?.holdId ?? 'none',
        outcome: step.pick % 2 ? 'paid_out' : 'reversed',
      });
    }
    case 'suspend':
      return cmd('SuspendAccount', {});
    case 'reactivate':
      return cmd('ReactivateAccount', {});
    case 'expire':
      return cmd('ExpireCredits', {});
    case 'define': {
      const kind = alertKinds[step.pick % alertKinds.length]!;
      const threshold = thresholdFor(kind, Math.floor(step.pick / alertKinds.length));
      return cmd('DefineAlertRule', { ruleId: `rule-${step.pick % 8}`, kind, ...(threshold ? { threshold } : {}) });
    }
    case 'remove':
      return cmd('RemoveAlertRule', { ruleId: `rule-${step.pick % 8}` });
    case 'renew': {
      const start = world.periodEnd;
      return cmd('RenewSubscriptionPeriod', { period: { start, end: at(start, 30 * DAY) } });
    }
  }
}

function perform(world: World, command: LedgerCommand): void {
  const { state, now } = world;
  const firingBefore = new Map([...state.alertRules].map(([id, rule]) => [id, rule.firing]));
  const decision = decide(command, state, context(now, principal()));
  if (!decision.ok) return;
  const exceptions = decision.events.filter((e) => e.type === 'CommercialExceptionRecorded').length;
  const alertEvents: Array<Extract<LedgerEvent, { type: 'AlertFired' | 'AlertCleared' }>> = [];
  for (const event of decision.events) {
    evolve(state, event);
    const violations = invariantViolations(state);
    if (violations.length > 0) expect(violations).toEqual([]);
    if (event.type === 'AlertFired' || event.type === 'AlertCleared') alertEvents.push(event);
  }
  if (command.type === 'RenewSubscriptionPeriod') world.periodEnd = command.period.end;
  // alert events come last, after every event of the command they judge
  const firstAlert = decision.events.findIndex((e) => e.type === 'AlertFired' || e.type === 'AlertCleared');
  if (firstAlert >= 0) expect(decision.events.slice(firstAlert)).toEqual(alertEvents);

  const justDefined = command.type === 'DefineAlertRule' && !firingBefore.has(command.ruleId);
  for (const event of alertEvents) {
    const { ruleId, kind } = event.data;
    const rule = state.alertRules.get(ruleId)!;
    expect(rule.kind).toBe(kind);
    if (kind === 'commercial_exception') {
      expect(event.type).toBe('AlertFired');
      continue;
    }
    const list = world.history.get(ruleId) ?? [];
    // alternation: fired, cleared, fired, …; never fired while firing
    const expected = list.length % 2 === 0 ? 'AlertFired' : 'AlertCleared';
    expect(event.type).toBe(expected);
    if (event.type === 'AlertFired') {
      world.fired++;
      // a rule fires from not firing: defined earlier and not firing, or defined by this very command
      if (justDefined && command.type === 'DefineAlertRule' && command.ruleId === ruleId) {
        expect(firingBefore.has(ruleId)).toBe(false);
      } else expect(firingBefore.get(ruleId)).toBe(false);
    } else world.cleared++;
    list.push(event.type);
    world.history.set(ruleId, list);
  }
  for (const rule of state.alertRules.values()) {
    if (rule.kind === 'commercial_exception') {
      const own = alertEvents.filter((e) => e.data.ruleId === rule.ruleId).length;
      expect(own).toBe(exceptions);
      expect(rule.firing).toBe(false);
      continue;
    }
    // right after the command: firing exactly when the condition holds
    const condition = holds(state, rule.kind, rule.threshold, now);
    if (rule.firing !== condition) {
      expect({ rule: rule.ruleId, kind: rule.kind, threshold: rule.threshold, firing: rule.firing }).toEqual({
        rule: rule.ruleId,
        kind: rule.kind,
        threshold: rule.threshold,
        firing: condition,
      });
    }
  }
  if (command.type === 'RemoveAlertRule') world.history.delete(command.ruleId);
}

function play(steps: Step[]): World {
  const world: World = {
    state: initialState(),
    now: T0,
    periodEnd: PERIOD.end,
    n: 0,
    history: new Map(),
    fired: 0,
    cleared: 0,
  };
  for (const command of [
    cmd('OpenBillingAccount', { name: 'Acme' }),
    cmd('StartSubscription', { plan: defaultPlan({ settlementThresholdFen: 5000n }), period: PERIOD }),
    cmd('AttachProject', { projectId: 'proj-a' }),
  ]) {
    perform(world, command);
  }
  for (const step of steps) {
    world.now = at(world.now, step.advance);
    perform(world, commandFor(step, world));
  }
  return world;
}

describe('alert rules under random command sequences', () => {
  it('fire once per crossing, alternate with clearings, and follow their conditions (300 sequences)', () => {
    let fired = 0;
    let cleared = 0;
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 80, size: 'max' }), (steps) => {
        const world = play(steps);
        fired += world.fired;
        cleared += world.cleared;
      }),
      { numRuns: 300 },
    );
    // the sequences crossed thresholds both ways, many times
    expect(fired).toBeGreaterThan(300);
    expect(cleared).toBeGreaterThan(100);
  }, 300_000);
});
