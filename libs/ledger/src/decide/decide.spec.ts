/**
 * The deciders, command by command, as docs/rules.md states them: each command's checks in the
 * order they answer, then its events and what they do to the buckets. Every `then` also proves
 * that decide mutated nothing and that the invariants hold after each event (test/decider-spec.ts).
 */
import type { LedgerCommand } from '../commands';
import { event, type GrantDraw, type LedgerEvent } from '../events';
import type { Instant } from '../fields';
import type { Credits } from '../money';
import type { Period } from '../plan';
import { settlementPosition, initialState } from '../state';
import { given, rejected, type Prior } from '../test/decider-spec';
import {
  ACCOUNT,
  DAY,
  NEXT_PERIOD,
  PERIOD,
  PROJECT,
  T0,
  acceptRunCommand,
  at,
  cmd,
  credits,
  defaultPlan,
  openedAccountCommands,
  principal,
} from '../test-support';

const INCLUDED_ID = `included:${PERIOD.start}`;
const NEXT_INCLUDED_ID = `included:${NEXT_PERIOD.start}`;

// The events the rules say each command records, written out by hand from docs/rules.md.

const amount = (value: Credits | string): Credits => (typeof value === 'string' ? credits(value) : value);
const draws = (...pairs: Array<[string, Credits | string]>): GrantDraw[] =>
  pairs.map(([grantId, value]) => ({ grantId, amount: amount(value) }));

const opened = event('BillingAccountOpened', { accountId: ACCOUNT, name: 'Acme' });

/** A plan's included credits for one period: lapsing at its end, scheduled while it is to come. */
const includedGrant = (period: Period, credited = '500', effectiveAt: Instant | null = null, plan = defaultPlan()) =>
  event('CreditsGranted', {
    accountId: ACCOUNT,
    grantId: `included:${period.start}`,
    source: 'plan_included',
    amount: amount(credited),
    effectiveAt,
    expiresAt: period.end,
    projectId: null,
    reason: `${plan.name}: included credits for the period from ${period.start}`,
  });

const becameEffective = (grantId: string, credited: string, source: 'plan_included' | 'manual' | 'top_up') =>
  event('CreditsBecameEffective', { accountId: ACCOUNT, grantId, source, projectId: null, amount: amount(credited) });

const expired = (
  grantId: string,
  credited: Credits | string,
  reason: 'lapsed' | 'account_closed' = 'lapsed',
  projectId: string | null = null,
) => event('CreditsExpired', { accountId: ACCOUNT, grantId, projectId, amount: amount(credited), reason });

/** RunAccepted and CreditsReserved of a workflow.run in the default project. */
const accepted = (
  runId: string,
  estimate: string,
  from: GrantDraw[],
  kind = { action: 'workflow.run', band: 'standard' },
) => [
  event('RunAccepted', {
    accountId: ACCOUNT,
    runId,
    projectId: PROJECT,
    action: kind.action,
    capabilityBand: kind.band,
    estimatedCost: credits(estimate),
  }),
  event('CreditsReserved', { accountId: ACCOUNT, runId, projectId: PROJECT, amount: credits(estimate), draws: from }),
];

const run = (runId: string) => ({ accountId: ACCOUNT, runId, projectId: PROJECT });

const consumed = (runId: string, fromReservation: GrantDraw[], overrunDraws: GrantDraw[] = []): LedgerEvent => {
  const total = (list: GrantDraw[]) => list.reduce((sum, d) => sum + d.amount, 0n);
  return event('CreditsConsumed', {
    ...run(runId),
    amount: total(fromReservation) + total(overrunDraws),
    fromReservation: total(fromReservation),
    reservationDraws: fromReservation,
    overrun: total(overrunDraws),
    overrunDraws,
  });
};

const released = (runId: string, reason: 'completed' | 'failed' | 'cancelled', from: GrantDraw[]) =>
  event('ReservationReleased', {
    ...run(runId),
    amount: from.reduce((sum, d) => sum + d.amount, 0n),
    reason,
    draws: from,
  });

const completed = (runId: string, actualCost: Credits | string, completedAt: Instant = T0) =>
  event('RunCompleted', { ...run(runId), actualCost: amount(actualCost), completedAt });

const granted = (
  grantId: string,
  credited: Credits | string,
  source: 'plan_included' | 'manual' | 'top_up',
  extra: { effectiveAt?: Instant; expiresAt?: Instant; projectId?: string; reason?: string } = {},
) =>
  event('CreditsGranted', {
    accountId: ACCOUNT,
    grantId,
    source,
    amount: amount(credited),
    effectiveAt: extra.effectiveAt ?? null,
    expiresAt: extra.expiresAt ?? null,
    projectId: extra.projectId ?? null,
    reason: extra.reason ?? null,
  });

const held = (holdId: string, credited: Credits | string, runId = 'r1') =>
  event('SettlementHoldPlaced', { ...run(runId), holdId, provider: 'openai', amount: amount(credited) });

/** Commands sent at a given time. */
const sentAt = (now: Instant, commands: LedgerCommand[]): Prior[] => commands.map((command) => ({ command, now }));

const grant = (
  grantId: string,
  credited: Credits | string,
  source: 'plan_included' | 'manual' | 'top_up' = 'manual',
  extra: { effectiveAt?: Instant; expiresAt?: Instant; projectId?: string } = {},
) => cmd('GrantCredits', { grantId, source, amount: amount(credited), ...extra });

const renew = (period: Period) => cmd('RenewSubscriptionPeriod', { period });

/** The most one command may move (10^12 credits), granted until the account holds `total` of them. */
const largestMove = credits('1000000000000');
const grantsOfLargestMove = (count: number) =>
  Array.from({ length: count }, (_, i) => grant(`big-${i}`, largestMove, 'top_up'));

/** One command of each type, valid against the scenario below. */
function everyCommand(): LedgerCommand[] {
  return [
    cmd('StartSubscription', { plan: defaultPlan(), period: NEXT_PERIOD }),
    cmd('ChangePlan', { plan: defaultPlan() }),
    renew(NEXT_PERIOD),
    cmd('AttachProject', { projectId: 'proj-b' }),
    grant('g-x', '1'),
    cmd('ExpireCredits', { asOf: T0 }),
    acceptRunCommand('run-x', credits('2')),
    cmd('CompleteRun', { runId: 'run-1', actualCost: credits('1') }),
    cmd('FailRun', { runId: 'run-1' }),
    cmd('CancelRun', { runId: 'run-1' }),
    cmd('PlaceSettlementHold', { holdId: 'h-x', runId: 'run-1', provider: 'openai', amount: credits('1') }),
    cmd('ReleaseSettlementHold', { holdId: 'h-1', outcome: 'paid_out' }),
    cmd('SuspendAccount', {}),
    cmd('ReactivateAccount', {}),
    cmd('CloseBillingAccount', {}),
    cmd('DefineAlertRule', { ruleId: 'low', kind: 'available_below', threshold: '50' }),
    cmd('RemoveAlertRule', { ruleId: 'low' }),
  ];
}
const byType = (commands: LedgerCommand[]) => commands.map((c) => [c.type, c] as const);

describe('the account steps every command but OpenBillingAccount starts with', () => {
  const scenario = [...openedAccountCommands(), acceptRunCommand('run-1', credits('5'))];
  const closed = [...openedAccountCommands(), cmd('CloseBillingAccount', {})];

  it.each(byType(everyCommand()))('%s: role_forbidden for a dashboard key', (_type, command) => {
    given(scenario)
      .when(command, { principal: principal({ role: 'dashboard' }) })
      .then(rejected('role_forbidden', { check: 'identity' }));
  });

  it.each(byType(everyCommand()))('%s: identity_denied for a key of other accounts', (_type, command) => {
    given(scenario)
      .when(command, { principal: principal({ accounts: ['acct-9'] }) })
      .then(rejected('identity_denied', { check: 'identity' }));
  });

  it.each(byType(everyCommand()))('%s: account_not_found before the account is opened', (_type, command) => {
    given()
      .when(command)
      .then(rejected('account_not_found', { check: 'account' }));
  });

  it.each(byType(everyCommand()))('%s: account_closed once the account is closed', (_type, command) => {
    given(closed)
      .when(command)
      .then(rejected('account_closed', { check: 'account_state' }));
  });

  it.each([
    ['role_forbidden before identity_denied', closed, principal({ role: 'auditor', accounts: [] }), 'role_forbidden'],
    ['identity_denied before account_not_found', [], principal({ accounts: [] }), 'identity_denied'],
    ['account_closed, not account_not_active, for a closed account', closed, principal(), 'account_closed'],
  ] as const)('in order: %s', (_rule, history, who, code) => {
    given(history)
      .when(acceptRunCommand('run-x', credits('2')), { principal: who })
      .then(rejected(code));
  });

  describe('a suspended account accepts every command but AcceptRun and SuspendAccount', () => {
    const suspended = [...scenario, cmd('SuspendAccount', {})];
    const ofType = (...types: string[]) => types.map((type) => expect.objectContaining({ type }));
    const answers: Record<LedgerCommand['type'], LedgerEvent[] | ReturnType<typeof rejected>> = {
      OpenBillingAccount: rejected('account_already_exists'),
      StartSubscription: rejected('subscription_already_started'),
      ChangePlan: ofType('PlanChanged'),
      RenewSubscriptionPeriod: ofType('SubscriptionPeriodRenewed', 'CreditsGranted'),
      AttachProject: ofType('ProjectAttached'),
      GrantCredits: ofType('CreditsGranted'),
      ExpireCredits: [],
      AcceptRun: rejected('account_not_active', { check: 'account_state' }),
      CompleteRun: ofType('CreditsConsumed', 'ReservationReleased', 'RunCompleted'),
      FailRun: ofType('ReservationReleased', 'RunFailed'),
      CancelRun: ofType('ReservationReleased', 'RunCancelled'),
      PlaceSettlementHold: rejected('run_not_completed'),
      ReleaseSettlementHold: rejected('hold_not_found'),
      SuspendAccount: rejected('account_not_active', { check: 'account_state' }),
      ReactivateAccount: ofType('AccountReactivated'),
      CloseBillingAccount: rejected('account_has_open_commitments'),
      DefineAlertRule: ofType('AlertRuleDefined'),
      RemoveAlertRule: rejected('alert_rule_not_found'),
    };
    it.each(byType(everyCommand()))('%s', (type, command) => {
      given(suspended).when(command).then(answers[type]);
    });
  });
});

describe('OpenBillingAccount: role_forbidden → identity_denied → account_already_exists', () => {
  it('opens an account, active and with every bucket at zero', () => {
    const then = given()
      .when(cmd('OpenBillingAccount', { name: 'Acme' }))
      .then([opened])
      .buckets({});
    expect(then.state.status).toBe('active');
  });

  it('account_already_exists: an account opens once', () => {
    given(opened)
      .when(cmd('OpenBillingAccount', { name: 'Acme again' }))
      .then(rejected('account_already_exists'));
  });

  it('account_already_exists: a closed account is never opened again', () => {
    given(cmd('OpenBillingAccount', { name: 'Acme' }), cmd('CloseBillingAccount', {}))
      .when(cmd('OpenBillingAccount', { name: 'Acme' }))
      .then(rejected('account_already_exists'));
  });

  it.each([
    ['role_forbidden: an auditor key, no account yet', [], principal({ role: 'auditor' }), 'role_forbidden'],
    ['role_forbidden before account_already_exists', [opened], principal({ role: 'auditor' }), 'role_forbidden'],
    ['identity_denied: a key of another account', [], principal({ accounts: ['acct-2'] }), 'identity_denied'],
    ['identity_denied before account_already_exists', [opened], principal({ accounts: ['acct-2'] }), 'identity_denied'],
    ['role_forbidden before identity_denied', [], principal({ role: 'dashboard', accounts: [] }), 'role_forbidden'],
  ] as const)('%s', (_rule, history, who, code) => {
    // like every command's identity step, it names the check
    given(history)
      .when(cmd('OpenBillingAccount', { name: 'Acme' }), { principal: who })
      .then(rejected(code, { check: 'identity' }));
  });
});

describe('StartSubscription: account(open) → plan_invalid → period_invalid → subscription_already_started → period_already_ended → account_credit_limit', () => {
  const plan = defaultPlan();
  const start = (period: Period, terms = plan) => cmd('StartSubscription', { plan: terms, period });

  it('records the plan and grants its included credits for the period, lapsing at its end', () => {
    given(opened)
      .when(start(PERIOD))
      .then([event('SubscriptionStarted', { accountId: ACCOUNT, plan, period: PERIOD }), includedGrant(PERIOD)])
      .buckets({ included: credits('500'), available: credits('500') });
  });

  it('grants nothing for a plan without included credits', () => {
    const none = defaultPlan({ includedCredits: 0n });
    given(opened)
      .when(start(PERIOD, none))
      .then([event('SubscriptionStarted', { accountId: ACCOUNT, plan: none, period: PERIOD })])
      .buckets({});
  });

  it('account_credit_limit: the period’s included credits count toward the most an account is granted', () => {
    // 100 grants of 10^12 credits reach the limit exactly: no included credits fit beside them
    given(opened, grantsOfLargestMove(100)).when(start(PERIOD)).then(rejected('account_credit_limit'));
    given(opened, grantsOfLargestMove(100)).when(start(NEXT_PERIOD)).then(rejected('account_credit_limit'));
    const none = defaultPlan({ includedCredits: 0n });
    given(opened, grantsOfLargestMove(100))
      .when(start(PERIOD, none))
      .then([event('SubscriptionStarted', { accountId: ACCOUNT, plan: none, period: PERIOD })]);
  });

  it('schedules the included credits of a period still to come: no runs and no credits before it starts', () => {
    given(opened)
      .when(start(NEXT_PERIOD))
      .then([
        event('SubscriptionStarted', { accountId: ACCOUNT, plan, period: NEXT_PERIOD }),
        includedGrant(NEXT_PERIOD, '500', NEXT_PERIOD.start),
      ])
      .buckets({})
      .when(cmd('AttachProject', { projectId: PROJECT }))
      .then([event('ProjectAttached', { accountId: ACCOUNT, projectId: PROJECT, name: null })])
      .when(acceptRunCommand('r1', credits('2')))
      .then(rejected('subscription_period_not_started', { check: 'plan' }))
      .when(acceptRunCommand('r1', credits('2')), { now: NEXT_PERIOD.start })
      .then([
        becameEffective(NEXT_INCLUDED_ID, '500', 'plan_included'),
        ...accepted('r1', '2', draws([NEXT_INCLUDED_ID, '2'])),
      ])
      .buckets({ included: credits('500'), reserved: credits('2'), available: credits('498') });
  });

  it.each([
    [
      'a rate card band the plan does not allow',
      defaultPlan({ rateCard: [{ action: 'x.run', capabilityBand: 'premium', minimumCost: 0n }] }),
    ],
    [
      'an action priced twice',
      defaultPlan({
        rateCard: [
          { action: 'x.run', capabilityBand: 'standard', minimumCost: 0n },
          { action: 'x.run', capabilityBand: 'advanced', minimumCost: 0n },
        ],
      }),
    ],
  ])('plan_invalid: %s', (_name, badPlan) => {
    given(opened).when(start(PERIOD, badPlan)).then(rejected('plan_invalid'));
  });

  it.each([
    ['ends before it starts', { start: PERIOD.end, end: PERIOD.start }],
    ['ends as it starts', { start: PERIOD.start, end: PERIOD.start }],
  ])('period_invalid: a period that %s', (_name, period) => {
    given(opened).when(start(period)).then(rejected('period_invalid'));
  });

  it('subscription_already_started: a subscription starts once', () => {
    given(openedAccountCommands()).when(start(NEXT_PERIOD)).then(rejected('subscription_already_started'));
  });

  it('period_already_ended: a period over by now, as GrantCredits refuses a past expiry', () => {
    given(opened).when(start(PERIOD), { now: PERIOD.end }).then(rejected('period_already_ended'));
  });

  const badPlan = defaultPlan({ capabilityBands: ['advanced'] });
  const backwards = { start: PERIOD.end, end: PERIOD.start };
  it.each([
    ['plan_invalid before period_invalid', [opened], start(backwards, badPlan), T0, 'plan_invalid'],
    [
      'period_invalid before subscription_already_started',
      openedAccountCommands(),
      start(backwards),
      T0,
      'period_invalid',
    ],
    [
      'subscription_already_started before period_already_ended',
      openedAccountCommands(),
      start(PERIOD),
      PERIOD.end,
      'subscription_already_started',
    ],
  ] as const)('in order: %s', (_rule, history, command, now, code) => {
    given(history).when(command, { now }).then(rejected(code));
  });
});

describe('ChangePlan: account(open) → plan_invalid → subscription_missing', () => {
  const premium = defaultPlan({
    planId: 'scale',
    includedCredits: credits('2000'),
    capabilityBands: ['premium'],
    rateCard: [{ action: 'video.render', capabilityBand: 'premium', minimumCost: credits('5') }],
  });

  it('changes bands and rate card at once, and the included credits from the next period', () => {
    const changed = given(openedAccountCommands())
      .when(cmd('ChangePlan', { plan: premium }))
      .then([event('PlanChanged', { accountId: ACCOUNT, plan: premium })])
      // this period keeps its 500 included credits
      .buckets({ included: credits('500'), available: credits('500') });
    // the old band is gone and the new one is allowed now
    changed.when(acceptRunCommand('r1', credits('5'))).then(rejected('capability_band_not_in_plan', { check: 'plan' }));
    changed
      .when(acceptRunCommand('r1', credits('5'), { action: 'video.render', capabilityBand: 'premium' }))
      .then(accepted('r1', '5', draws([INCLUDED_ID, '5']), { action: 'video.render', band: 'premium' }));
    // the next period gets 2000
    changed
      .when(renew(NEXT_PERIOD), { now: NEXT_PERIOD.start })
      .then([
        expired(INCLUDED_ID, '500'),
        event('SubscriptionPeriodRenewed', { accountId: ACCOUNT, period: NEXT_PERIOD }),
        includedGrant(NEXT_PERIOD, '2000', null, premium),
      ])
      .buckets({ included: credits('2500'), expired: credits('500'), available: credits('2000') });
  });

  it('plan_invalid: inconsistent terms', () => {
    const badPlan = defaultPlan({ capabilityBands: ['advanced'] }); // workflow.run is 'standard'
    given(openedAccountCommands())
      .when(cmd('ChangePlan', { plan: badPlan }))
      .then(rejected('plan_invalid'));
  });

  it('subscription_missing: an account without a subscription', () => {
    given(opened)
      .when(cmd('ChangePlan', { plan: defaultPlan() }))
      .then(rejected('subscription_missing'));
  });

  it('in order: plan_invalid before subscription_missing', () => {
    given(opened)
      .when(cmd('ChangePlan', { plan: defaultPlan({ capabilityBands: ['advanced'] }) }))
      .then(rejected('plan_invalid'));
  });
});

describe('RenewSubscriptionPeriod: account(open) → period_invalid → subscription_missing → period_already_renewed → period_not_after_current → period_already_ended → account_credit_limit', () => {
  const early = at(PERIOD.end, -5 * DAY);

  it('schedules the next period’s included credits; the current ones lapse at the period’s end, not at the renewal', () => {
    const renewed = given(openedAccountCommands(), acceptRunCommand('r1', credits('24')))
      .when(renew(NEXT_PERIOD), { now: early })
      .then([
        event('SubscriptionPeriodRenewed', { accountId: ACCOUNT, period: NEXT_PERIOD }),
        includedGrant(NEXT_PERIOD, '500', NEXT_PERIOD.start),
      ])
      // nothing expired, nothing new spendable yet: the next period's credits wait for its start
      .buckets({ included: credits('500'), reserved: credits('24'), available: credits('476') });

    // failed before the period ends, the run's 24 go back to a grant still in force
    renewed
      .when(cmd('FailRun', { runId: 'r1' }), { now: at(early, 1) })
      .then([released('r1', 'failed', draws([INCLUDED_ID, '24'])), event('RunFailed', { ...run('r1'), reason: null })])
      .buckets({ included: credits('500'), available: credits('500') });

    // failed after it ended, the first command of the new period records what time did first:
    // the new grant takes effect, the old one's free credits lapse; the 24 released to it expire at once
    renewed
      .when(cmd('FailRun', { runId: 'r1' }), { now: at(NEXT_PERIOD.start, 1) })
      .then([
        becameEffective(NEXT_INCLUDED_ID, '500', 'plan_included'),
        expired(INCLUDED_ID, '476'),
        released('r1', 'failed', draws([INCLUDED_ID, '24'])),
        expired(INCLUDED_ID, '24'),
        event('RunFailed', { ...run('r1'), reason: null }),
      ])
      .buckets({ included: credits('1000'), expired: credits('500'), available: credits('500') });
  });

  it('the issue’s sequence: credits released after the renewed period began are not spendable again', () => {
    // 100 included for now−1d → E; a run reserves 60; renewal for E → E+30d; the run fails after E
    const now = '2026-11-10T00:00:00.000Z';
    const E = '2026-12-10T00:00:00.000Z';
    const first = { start: at(now, -DAY), end: E };
    const plan = defaultPlan({ includedCredits: credits('100') });
    given(
      sentAt(now, [
        ...openedAccountCommands(plan, first),
        acceptRunCommand('r1', credits('60')),
        renew({ start: E, end: at(E, 30 * DAY) }),
      ]),
    )
      .buckets({ included: credits('100'), reserved: credits('60'), available: credits('40') })
      .when(cmd('FailRun', { runId: 'r1' }), { now: at(E, 1) })
      .then([
        becameEffective(`included:${E}`, '100', 'plan_included'),
        expired(`included:${first.start}`, '40'),
        released('r1', 'failed', draws([`included:${first.start}`, '60'])),
        expired(`included:${first.start}`, '60'),
        event('RunFailed', { ...run('r1'), reason: null }),
      ])
      .buckets({ included: credits('200'), expired: credits('100'), available: credits('100') });
  });

  it('touches only the included grants of the period that ends: a plan_included grant by hand keeps its expiry', () => {
    given(
      openedAccountCommands(),
      grant('goodwill', '7', 'plan_included', { expiresAt: '2027-06-01T00:00:00.000Z' }),
      grant('dec-15', '3', 'top_up', { expiresAt: '2026-12-15T00:00:00.000Z' }),
      { command: renew(NEXT_PERIOD), now: '2026-11-25T00:00:00.000Z' },
    )
      .when(cmd('ExpireCredits', {}), { now: at(NEXT_PERIOD.start, 1) })
      .then([becameEffective(NEXT_INCLUDED_ID, '500', 'plan_included'), expired(INCLUDED_ID, '500')])
      .buckets({
        included: credits('1007'),
        bonus: credits('3'),
        expired: credits('500'),
        available: credits('510'),
      });
  });

  it('keeps the current period current until the renewed one starts', () => {
    const renewed = given(openedAccountCommands(), { command: renew(NEXT_PERIOD), now: at(PERIOD.end, -DAY) });
    renewed
      .when(acceptRunCommand('r1', credits('2')), { now: at(PERIOD.end, -1) })
      .then(accepted('r1', '2', draws([INCLUDED_ID, '2'])));
    renewed
      .when(acceptRunCommand('r1', credits('2')), { now: NEXT_PERIOD.start })
      .then([
        becameEffective(NEXT_INCLUDED_ID, '500', 'plan_included'),
        expired(INCLUDED_ID, '500'),
        ...accepted('r1', '2', draws([NEXT_INCLUDED_ID, '2'])),
      ]);
    renewed
      .when(acceptRunCommand('r1', credits('2')), { now: NEXT_PERIOD.end })
      .then(rejected('subscription_period_ended', { check: 'plan' }));
  });

  it('lets runs be accepted again after a lapsed period is renewed', () => {
    const later = at(PERIOD.end, DAY);
    const renewal = { start: PERIOD.end, end: at(PERIOD.end, 30 * DAY) };
    given(openedAccountCommands())
      .when(acceptRunCommand('r1', credits('2')), { now: later })
      .then(rejected('subscription_period_ended', { check: 'plan' }))
      .when(renew(renewal), { now: later })
      .then([
        expired(INCLUDED_ID, '500'),
        event('SubscriptionPeriodRenewed', { accountId: ACCOUNT, period: renewal }),
        includedGrant(renewal), // begun already: in effect at once
      ])
      .buckets({ included: credits('1000'), expired: credits('500'), available: credits('500') })
      .when(acceptRunCommand('r1', credits('500.0001')), { now: later })
      .then(rejected('insufficient_credits', { check: 'credits' }))
      .when(acceptRunCommand('r1', credits('500')), { now: later })
      .then(accepted('r1', '500', draws([`included:${renewal.start}`, '500'])));
  });

  it('leaves a gap between periods in no period', () => {
    const gap = { start: at(PERIOD.end, 2 * DAY), end: at(PERIOD.end, 30 * DAY) };
    given(openedAccountCommands(), { command: renew(gap), now: at(PERIOD.end, -DAY) })
      .when(acceptRunCommand('r1', credits('2')), { now: at(PERIOD.end, DAY) })
      .then(rejected('subscription_period_not_started', { check: 'plan' }));
  });

  it('renews for the next period only: again once the renewed period has begun', () => {
    const after = { start: NEXT_PERIOD.end, end: at(NEXT_PERIOD.end, 30 * DAY) };
    const renewed = given(openedAccountCommands())
      .when(renew(NEXT_PERIOD))
      .then([
        event('SubscriptionPeriodRenewed', { accountId: ACCOUNT, period: NEXT_PERIOD }),
        includedGrant(NEXT_PERIOD, '500', NEXT_PERIOD.start),
      ]);
    renewed.when(renew(after)).then(rejected('period_already_renewed'));
    renewed
      .when(renew(after), { now: NEXT_PERIOD.start })
      .then([
        becameEffective(NEXT_INCLUDED_ID, '500', 'plan_included'),
        expired(INCLUDED_ID, '500'),
        event('SubscriptionPeriodRenewed', { accountId: ACCOUNT, period: after }),
        includedGrant(after, '500', after.start),
      ]);
  });

  const nearLimit = [
    ...openedAccountCommands(),
    ...grantsOfLargestMove(99),
    grant('rest', largestMove - credits('500')),
  ];
  it('account_credit_limit: the new period’s included credits may not pass the most an account is granted', () => {
    given(nearLimit).when(renew(NEXT_PERIOD)).then(rejected('account_credit_limit'));
  });

  it.each([
    [
      'period_invalid: a period that ends before it starts',
      openedAccountCommands(),
      renew({ start: NEXT_PERIOD.end, end: NEXT_PERIOD.start }),
      T0,
      'period_invalid',
    ],
    ['subscription_missing: an account without a subscription', [opened], renew(PERIOD), T0, 'subscription_missing'],
    [
      'period_invalid before subscription_missing',
      [opened],
      renew({ start: PERIOD.end, end: PERIOD.start }),
      T0,
      'period_invalid',
    ],
    [
      'period_already_renewed before period_not_after_current',
      [...openedAccountCommands(), renew(NEXT_PERIOD)],
      renew({ start: at(PERIOD.end, -1), end: NEXT_PERIOD.end }),
      T0,
      'period_already_renewed',
    ],
    [
      'period_not_after_current: a period starting before the current one ends',
      openedAccountCommands(),
      renew({ start: at(PERIOD.end, -1), end: NEXT_PERIOD.end }),
      T0,
      'period_not_after_current',
    ],
    [
      'period_not_after_current before period_already_ended',
      openedAccountCommands(),
      renew({ start: at(PERIOD.end, -2 * DAY), end: at(PERIOD.end, -DAY) }),
      PERIOD.end,
      'period_not_after_current',
    ],
    [
      'period_already_ended: a period over by now',
      openedAccountCommands(),
      renew({ start: PERIOD.end, end: NEXT_PERIOD.end }),
      NEXT_PERIOD.end,
      'period_already_ended',
    ],
    [
      'period_already_ended before account_credit_limit',
      nearLimit,
      renew(NEXT_PERIOD),
      NEXT_PERIOD.end,
      'period_already_ended',
    ],
  ] as const)('%s', (_rule, history, command, now, code) => {
    given(history).when(command, { now }).then(rejected(code));
  });
});

describe('AttachProject: account(open) → project_already_attached', () => {
  it('attaches a project, with its buckets at zero', () => {
    given(opened)
      .when(cmd('AttachProject', { projectId: 'p1' }))
      .then([event('ProjectAttached', { accountId: ACCOUNT, projectId: 'p1', name: null })])
      .buckets({});
  });

  it('project_already_attached: a project attaches once', () => {
    given(opened, cmd('AttachProject', { projectId: 'p1' }))
      .when(cmd('AttachProject', { projectId: 'p1', name: 'again' }))
      .then(rejected('project_already_attached'));
  });
});

describe('GrantCredits: account(open) → grant_already_exists → grant_id_reserved → project_not_attached → grant_expiry_not_in_future → grant_window_invalid → account_credit_limit', () => {
  it('grants a block with its source, expiry and project', () => {
    given(openedAccountCommands())
      .when(
        cmd('GrantCredits', {
          grantId: 'promo-1',
          source: 'top_up',
          amount: credits('12.5'),
          expiresAt: at(T0, DAY),
          projectId: PROJECT,
          reason: 'launch promo',
        }),
      )
      .then([
        {
          type: 'CreditsGranted',
          data: {
            accountId: ACCOUNT,
            grantId: 'promo-1',
            source: 'top_up',
            amount: 125_000n,
            effectiveAt: null,
            expiresAt: '2026-11-02T00:00:00.000Z',
            projectId: PROJECT,
            reason: 'launch promo',
          },
        },
      ])
      .buckets({ included: credits('500'), bonus: credits('12.5'), available: credits('512.5') });
  });

  it('counts manual grants and top-ups as bonus, plan_included as included', () => {
    given(opened, grant('a', '1', 'manual'), grant('b', '2', 'top_up'), grant('c', '4', 'plan_included')).buckets({
      included: credits('4'),
      bonus: credits('3'),
      available: credits('7'),
    });
  });

  it('is allowed on a suspended account', () => {
    given(openedAccountCommands(), cmd('SuspendAccount', {}))
      .when(grant('g', '1'))
      .then([granted('g', '1', 'manual')]);
  });

  describe('validity window [effectiveAt, expiresAt)', () => {
    const later = at(T0, 2 * DAY);
    const scheduledGrant = (fields: { effectiveAt?: string; expiresAt?: string } = {}) =>
      grant('dec', '30', 'top_up', { effectiveAt: later, ...fields });

    it('a grant effective later is in no bucket, and not spendable, until its window begins', () => {
      given(openedAccountCommands())
        .when(scheduledGrant({ expiresAt: at(later, DAY) }))
        .then([granted('dec', '30', 'top_up', { effectiveAt: later, expiresAt: at(later, DAY) })])
        .buckets({ included: credits('500'), available: credits('500') })
        .when(acceptRunCommand('r1', credits('500.0001')), { now: at(later, -1) })
        .then(rejected('insufficient_credits', { check: 'credits' }))
        .when(acceptRunCommand('r1', credits('510')), { now: later })
        .then([
          becameEffective('dec', '30', 'top_up'),
          ...accepted('r1', '510', draws(['dec', '30'], [INCLUDED_ID, '480'])),
        ])
        .buckets({
          included: credits('500'),
          bonus: credits('30'),
          reserved: credits('510'),
          available: credits('20'),
        });
    });

    it('a window that begins at or before now is in effect at once', () => {
      given(openedAccountCommands())
        .when(scheduledGrant({ effectiveAt: at(T0, -DAY) }))
        .then([granted('dec', '30', 'top_up')])
        .buckets({ included: credits('500'), bonus: credits('30'), available: credits('530') });
    });

    it('a window passed unseen takes effect and expires in the same command, so the books still show it', () => {
      given(openedAccountCommands(), scheduledGrant({ expiresAt: at(later, DAY) }))
        .when(cmd('ExpireCredits', {}), { now: at(later, 2 * DAY) })
        .then([becameEffective('dec', '30', 'top_up'), expired('dec', '30')])
        .buckets({ included: credits('500'), bonus: credits('30'), expired: credits('30'), available: credits('500') });
    });
  });

  it('grant_already_exists: a grant id used before, even once that grant is spent', () => {
    const spent = given(
      openedAccountCommands(),
      grant('g1', '5', 'manual', { expiresAt: at(T0, 1000) }),
      acceptRunCommand('r1', credits('5')),
      cmd('CompleteRun', { runId: 'r1', actualCost: credits('5') }),
    );
    expect(spent.state.grants.has('g1')).toBe(false); // spent grants are dropped from state
    spent.when(grant('g1', '1')).then(rejected('grant_already_exists'));
    spent.when(grant(INCLUDED_ID, '1')).then(rejected('grant_already_exists'));
  });

  it('grant_id_reserved: the ids of future included credits stay free, so a renewal can always record its grant', () => {
    const subscribed = given(openedAccountCommands());
    subscribed.when(grant(NEXT_INCLUDED_ID, '1', 'plan_included')).then(rejected('grant_id_reserved'));
    subscribed.when(grant('included:anything', '1', 'plan_included')).then(rejected('grant_id_reserved'));
    subscribed.when(grant('includedish', '1', 'plan_included')).then([granted('includedish', '1', 'plan_included')]);
    const renewed = subscribed
      .when(renew(NEXT_PERIOD), { now: NEXT_PERIOD.start })
      .then([
        expired(INCLUDED_ID, '500'),
        event('SubscriptionPeriodRenewed', { accountId: ACCOUNT, period: NEXT_PERIOD }),
        includedGrant(NEXT_PERIOD),
      ]);
    expect(renewed.state.grantIds.has(NEXT_INCLUDED_ID)).toBe(true);
  });

  it('project_not_attached: a grant to a project the account does not have', () => {
    given(openedAccountCommands())
      .when(grant('g', 1n, 'manual', { projectId: 'nope' }))
      .then(rejected('project_not_attached'));
  });

  it.each([
    ['now', T0],
    ['in the past', at(T0, -1)],
  ])('grant_expiry_not_in_future: an expiry %s; a millisecond later is fine', (_name, expiresAt) => {
    given(openedAccountCommands())
      .when(grant('g', 1n, 'manual', { expiresAt }))
      .then(rejected('grant_expiry_not_in_future'));
    given(openedAccountCommands())
      .when(grant('g', 1n, 'manual', { expiresAt: at(T0, 1) }))
      .then([granted('g', 1n, 'manual', { expiresAt: at(T0, 1) })]);
  });

  it.each([
    ['ends as it begins', at(T0, 2 * DAY)],
    ['ends before it begins', at(T0, 2 * DAY - 1)],
  ])('grant_window_invalid: a window that %s', (_name, expiresAt) => {
    given(openedAccountCommands())
      .when(grant('dec', '30', 'top_up', { effectiveAt: at(T0, 2 * DAY), expiresAt }))
      .then(rejected('grant_window_invalid'));
  });

  describe('account_credit_limit: at most 10^14 credits over the account’s life', () => {
    it('stops at the most credits an account may ever be granted', () => {
      given(opened, grantsOfLargestMove(100)) // every one accepted, or the setup throws
        .buckets({ bonus: 10n ** 14n * 10_000n, available: 10n ** 14n * 10_000n })
        .when(grant('one-more', 1n))
        .then(rejected('account_credit_limit'));
    });

    it('allows a grant that reaches the limit exactly', () => {
      given(opened, grantsOfLargestMove(99))
        .when(grant('a', largestMove - 1n))
        .then([granted('a', largestMove - 1n, 'manual')])
        .when(grant('b', 2n))
        .then(rejected('account_credit_limit'))
        .when(grant('b', 1n))
        .then([granted('b', 1n, 'manual')]);
    });

    it('counts scheduled grants too', () => {
      given(opened, grantsOfLargestMove(99), grant('later', largestMove, 'top_up', { effectiveAt: at(T0, DAY) }))
        .buckets({ bonus: 99n * largestMove, available: 99n * largestMove })
        .when(grant('one-more', 1n))
        .then(rejected('account_credit_limit'));
    });
  });

  const atLimit = [opened, ...grantsOfLargestMove(100)];
  it.each([
    [
      'grant_already_exists before grant_id_reserved',
      openedAccountCommands(),
      grant(INCLUDED_ID, 1n, 'manual', { projectId: 'nope' }),
      'grant_already_exists',
    ],
    [
      'grant_id_reserved before project_not_attached',
      openedAccountCommands(),
      grant('included:x', 1n, 'manual', { projectId: 'nope', expiresAt: T0 }),
      'grant_id_reserved',
    ],
    [
      'project_not_attached before grant_expiry_not_in_future',
      openedAccountCommands(),
      grant('g', 1n, 'manual', { projectId: 'nope', expiresAt: T0 }),
      'project_not_attached',
    ],
    [
      'grant_expiry_not_in_future before grant_window_invalid',
      openedAccountCommands(),
      grant('g', 1n, 'manual', { effectiveAt: at(T0, DAY), expiresAt: T0 }),
      'grant_expiry_not_in_future',
    ],
    [
      'grant_window_invalid before account_credit_limit',
      atLimit,
      grant('g', 1n, 'manual', { effectiveAt: at(T0, DAY), expiresAt: at(T0, DAY) }),
      'grant_window_invalid',
    ],
  ] as const)('in order: %s', (_rule, history, command, code) => {
    given(history).when(command).then(rejected(code));
  });
});

describe('ExpireCredits: account(open) → as_of_in_future; records only what fell due by now (Rule T)', () => {
  const withShortGrants = [
    ...openedAccountCommands(),
    grant('day-1', '10', 'top_up', { expiresAt: at(T0, DAY) }),
    grant('day-3', '20', 'manual', { expiresAt: at(T0, 3 * DAY) }),
    grant('forever', '40', 'manual'),
  ];

  it('expires the free credits of every grant lapsed by now, and nothing else', () => {
    const now = at(T0, 5 * DAY);
    given(withShortGrants)
      .when(cmd('ExpireCredits', {}), { now: at(T0, 2 * DAY) })
      .then([expired('day-1', '10')])
      .when(cmd('ExpireCredits', { asOf: at(T0, 2 * DAY) }), { now })
      .then([expired('day-3', '20')])
      .buckets({ included: credits('500'), bonus: credits('70'), expired: credits('30'), available: credits('540') })
      // nothing left to expire: accepted, and no events
      .when(cmd('ExpireCredits', { asOf: now }), { now })
      .then([]);
  });

  it('a grant lapses at its expiry instant, not before', () => {
    given(withShortGrants)
      .when(cmd('ExpireCredits', {}), { now: at(T0, DAY - 1) })
      .then([]);
    given(withShortGrants)
      .when(cmd('ExpireCredits', {}), { now: at(T0, DAY) })
      .then([expired('day-1', '10')]);
  });

  it('Rule T: what fell due is recorded before any other command accepted after it, and not by a rejected one', () => {
    given(withShortGrants)
      .when(grant('g2', '1'), { now: at(T0, DAY) })
      .then([expired('day-1', '10'), granted('g2', '1', 'manual')])
      .when(grant('g2', 1n), { now: at(T0, 3 * DAY) })
      .then(rejected('grant_already_exists'))
      // the rejection appended nothing: day-3 is still to be recorded
      .buckets({ included: credits('500'), bonus: credits('71'), expired: credits('10'), available: credits('561') });
  });

  it('Rule T: activations first, earliest effectiveAt then grant id; then expiries in draw order', () => {
    given(
      openedAccountCommands(),
      grant('b', '1', 'top_up', { effectiveAt: at(T0, 2 * DAY), expiresAt: at(T0, 3 * DAY) }),
      grant('a', '2', 'top_up', { effectiveAt: at(T0, 2 * DAY) }),
      grant('c', '3', 'manual', { effectiveAt: at(T0, DAY), expiresAt: at(T0, 4 * DAY) }),
      grant('d', '4', 'manual', { expiresAt: at(T0, 4 * DAY) }),
    )
      .when(cmd('ExpireCredits', {}), { now: at(T0, 5 * DAY) })
      .then([
        becameEffective('c', '3', 'manual'),
        becameEffective('a', '2', 'top_up'),
        becameEffective('b', '1', 'top_up'),
        expired('b', '1'), // earliest expiry
        expired('d', '4'), // same expiry as c, granted (in effect) before it
        expired('c', '3'),
      ])
      .buckets({ included: credits('500'), bonus: credits('10'), expired: credits('8'), available: credits('502') });
  });

  it('leaves reserved credits alone; they expire when released', () => {
    given(withShortGrants, acceptRunCommand('r1', credits('4')))
      .when(cmd('ExpireCredits', { asOf: at(T0, DAY) }), { now: at(T0, DAY) })
      .then([expired('day-1', '6')])
      .buckets({
        included: credits('500'),
        bonus: credits('70'),
        reserved: credits('4'),
        expired: credits('6'),
        available: credits('560'),
      });
  });

  it('as_of_in_future: an asOf after now; asOf now is fine', () => {
    given(withShortGrants)
      .when(cmd('ExpireCredits', { asOf: at(T0, 1) }))
      .then(rejected('as_of_in_future'));
    given(withShortGrants)
      .when(cmd('ExpireCredits', { asOf: T0 }))
      .then([]);
  });
});

/** The checks of AcceptRun, in order, are in admission.spec.ts. */
describe('AcceptRun: reserves the estimate', () => {
  it('records the run and reserves its estimate from available credits', () => {
    given(openedAccountCommands())
      .when(acceptRunCommand('r1', credits('24')))
      .then([
        {
          type: 'RunAccepted',
          data: {
            accountId: ACCOUNT,
            runId: 'r1',
            projectId: PROJECT,
            action: 'workflow.run',
            capabilityBand: 'standard',
            estimatedCost: credits('24'),
          },
        },
        {
          type: 'CreditsReserved',
          data: {
            accountId: ACCOUNT,
            runId: 'r1',
            projectId: PROJECT,
            amount: credits('24'),
            draws: [{ grantId: INCLUDED_ID, amount: credits('24') }],
          },
        },
      ])
      .buckets({ included: credits('500'), reserved: credits('24'), available: credits('476') })
      .when(acceptRunCommand('r1', credits('1')))
      .then(rejected('run_already_exists', { check: 'action' }));
  });

  describe('draw order: earliest expiry first (no expiry last), then the oldest grant', () => {
    // granted in this order; included (expires Dec 1) was granted first
    const grants = [
      ...openedAccountCommands(),
      grant('never-1', '10'),
      grant('nov-20', '10', 'top_up', { expiresAt: '2026-11-20T00:00:00.000Z' }),
      grant('nov-10-a', '10', 'manual', { expiresAt: '2026-11-10T00:00:00.000Z' }),
      grant('nov-10-b', '10', 'manual', { expiresAt: '2026-11-10T00:00:00.000Z' }),
      grant('never-2', '10'),
    ];

    it('spends the soonest-lapsing credits first and grants without expiry last, oldest first', () => {
      given(grants)
        .when(acceptRunCommand('r1', credits('25')))
        .then(accepted('r1', '25', draws(['nov-10-a', '10'], ['nov-10-b', '10'], ['nov-20', '5'])))
        .when(acceptRunCommand('r2', credits('510')))
        .then(accepted('r2', '510', draws(['nov-20', '5'], [INCLUDED_ID, '500'], ['never-1', '5'])))
        .when(acceptRunCommand('r3', credits('15')))
        .then(accepted('r3', '15', draws(['never-1', '5'], ['never-2', '10'])))
        .buckets({ included: credits('500'), bonus: credits('50'), reserved: credits('550'), available: 0n });
    });

    it('expires lapsed credits before it reserves, and never reserves them', () => {
      given(grants)
        .when(acceptRunCommand('r1', credits('15')), { now: '2026-11-15T00:00:00.000Z' })
        .then([
          expired('nov-10-a', '10'),
          expired('nov-10-b', '10'),
          ...accepted('r1', '15', draws(['nov-20', '10'], [INCLUDED_ID, '5'])),
        ])
        .buckets({
          included: credits('500'),
          bonus: credits('50'),
          expired: credits('20'),
          reserved: credits('15'),
          available: credits('515'),
        });
    });
  });
});

describe('CompleteRun: account(open) → run_not_found → run_already_finished', () => {
  /** Run r1 reserved 25: 10 from nov-10, 15 from the included grant. */
  const reserved25 = [
    ...openedAccountCommands(),
    grant('nov-10', '10', 'top_up', { expiresAt: '2026-11-10T00:00:00.000Z' }),
    acceptRunCommand('r1', credits('25')),
  ];
  const complete = (actualCost: Credits | string, runId = 'r1') =>
    cmd('CompleteRun', { runId, actualCost: amount(actualCost) });

  it('under the reservation: consumes the actual cost in draw order and releases the rest', () => {
    given(reserved25)
      .when(complete('12.5'))
      .then([
        {
          type: 'CreditsConsumed',
          data: {
            accountId: ACCOUNT,
            runId: 'r1',
            projectId: PROJECT,
            amount: credits('12.5'),
            fromReservation: credits('12.5'),
            reservationDraws: [
              { grantId: 'nov-10', amount: credits('10') },
              { grantId: INCLUDED_ID, amount: credits('2.5') },
            ],
            overrun: 0n,
            overrunDraws: [],
          },
        },
        {
          type: 'ReservationReleased',
          data: {
            accountId: ACCOUNT,
            runId: 'r1',
            projectId: PROJECT,
            amount: credits('12.5'),
            reason: 'completed',
            draws: [{ grantId: INCLUDED_ID, amount: credits('12.5') }],
          },
        },
        {
          type: 'RunCompleted',
          data: { accountId: ACCOUNT, runId: 'r1', projectId: PROJECT, actualCost: credits('12.5'), completedAt: T0 },
        },
      ])
      .buckets({
        included: credits('500'),
        bonus: credits('10'),
        consumed: credits('12.5'),
        available: credits('497.5'),
      });
  });

  it('exactly the reservation: consumes it all and releases nothing', () => {
    given(reserved25)
      .when(complete('25'))
      .then([consumed('r1', draws(['nov-10', '10'], [INCLUDED_ID, '15'])), completed('r1', '25')])
      .buckets({ included: credits('500'), bonus: credits('10'), consumed: credits('25'), available: credits('485') });
  });

  it('at zero cost: consumes nothing and releases the whole reservation', () => {
    given(reserved25)
      .when(complete(0n))
      .then([released('r1', 'completed', draws(['nov-10', '10'], [INCLUDED_ID, '15'])), completed('r1', 0n)])
      .buckets({ included: credits('500'), bonus: credits('10'), available: credits('510') });
  });

  it('over the reservation: takes the overrun from available credits, in draw order', () => {
    const then = given(reserved25)
      .when(complete('31'))
      .then([
        consumed('r1', draws(['nov-10', '10'], [INCLUDED_ID, '15']), draws([INCLUDED_ID, '6'])),
        completed('r1', '31'),
      ])
      .buckets({ included: credits('500'), bonus: credits('10'), consumed: credits('31'), available: credits('479') });
    expect(then.state.shortfall).toBe(0n);
  });

  it('beyond available: consumes what there is and records the shortfall, never a negative balance', () => {
    const then = given(
      openedAccountCommands(),
      acceptRunCommand('r1', credits('24')),
      acceptRunCommand('r2', credits('470')),
    )
      .buckets({ included: credits('500'), reserved: credits('494'), available: credits('6') })
      .when(complete('40'))
      .then([
        consumed('r1', draws([INCLUDED_ID, '24']), draws([INCLUDED_ID, '6'])),
        completed('r1', '40'),
        {
          type: 'CommercialExceptionRecorded',
          data: {
            accountId: ACCOUNT,
            runId: 'r1',
            projectId: PROJECT,
            kind: 'overrun_shortfall',
            amount: credits('10'),
          },
        },
      ])
      .buckets({ included: credits('500'), reserved: credits('470'), consumed: credits('30'), available: 0n });
    expect(then.state.shortfall).toBe(credits('10')); // consumed 30 + shortfall 10 = the cost, 40
  });

  it('does not cover an overrun with lapsed credits: they expire in the same decision', () => {
    given(
      openedAccountCommands(),
      acceptRunCommand('r1', credits('490')),
      grant('nov-10', '5', 'top_up', { expiresAt: '2026-11-10T00:00:00.000Z' }),
      acceptRunCommand('r2', credits('2')),
    )
      // r2 drew its 2 from nov-10 (earliest expiry); nov-10 keeps 3 free, included keeps 10
      .when(complete('505'), { now: '2026-11-15T00:00:00.000Z' })
      .then([
        expired('nov-10', '3'),
        consumed('r1', draws([INCLUDED_ID, '490']), draws([INCLUDED_ID, '10'])),
        completed('r1', '505', '2026-11-15T00:00:00.000Z'),
        event('CommercialExceptionRecorded', { ...run('r1'), kind: 'overrun_shortfall', amount: credits('5') }),
      ])
      .buckets({
        included: credits('500'),
        bonus: credits('5'),
        reserved: credits('2'),
        consumed: credits('500'),
        expired: credits('3'),
        available: 0n,
      });
  });

  it('releases credits reserved from a grant that lapsed meanwhile, and expires them at once', () => {
    given(reserved25) // 10 from nov-10, 15 from included
      .when(complete('4'), { now: '2026-11-12T00:00:00.000Z' })
      // consumption draws the reservation in draw order (nov-10 first); the other 6 of nov-10 expire
      .then([
        consumed('r1', draws(['nov-10', '4'])),
        released('r1', 'completed', draws(['nov-10', '6'], [INCLUDED_ID, '15'])),
        {
          type: 'CreditsExpired',
          data: { accountId: ACCOUNT, grantId: 'nov-10', projectId: null, amount: credits('6'), reason: 'lapsed' },
        },
        completed('r1', '4', '2026-11-12T00:00:00.000Z'),
      ])
      .buckets({
        included: credits('500'),
        bonus: credits('10'),
        consumed: credits('4'),
        expired: credits('6'),
        available: credits('500'),
      });
  });

  it('is allowed while the account is suspended', () => {
    given(openedAccountCommands(), acceptRunCommand('r1', credits('3')), cmd('SuspendAccount', {}))
      .when(complete('3'))
      .then([consumed('r1', draws([INCLUDED_ID, '3'])), completed('r1', '3')]);
  });

  it('run_not_found: a run never accepted', () => {
    given(reserved25).when(complete(1n, 'r9')).then(rejected('run_not_found'));
  });

  it('run_already_finished: a run completes once', () => {
    given(reserved25)
      .when(complete(1n))
      .then([
        consumed('r1', draws(['nov-10', 1n])),
        released('r1', 'completed', draws(['nov-10', credits('10') - 1n], [INCLUDED_ID, '15'])),
        completed('r1', 1n),
      ])
      .when(complete(1n))
      .then(rejected('run_already_finished', { status: 'completed' }));
  });
});

describe.each([
  ['FailRun', 'RunFailed', 'failed'],
  ['CancelRun', 'RunCancelled', 'cancelled'],
] as const)('%s: account(open) → run_not_found → run_already_finished', (type, eventType, reason) => {
  it('releases the whole reservation', () => {
    given(openedAccountCommands(), acceptRunCommand('r1', credits('24')))
      .when(cmd(type, { runId: 'r1', reason: 'provider timeout' }))
      .then([
        {
          type: 'ReservationReleased',
          data: {
            accountId: ACCOUNT,
            runId: 'r1',
            projectId: PROJECT,
            amount: credits('24'),
            reason,
            draws: [{ grantId: INCLUDED_ID, amount: credits('24') }],
          },
        },
        { type: eventType, data: { accountId: ACCOUNT, runId: 'r1', projectId: PROJECT, reason: 'provider timeout' } },
      ])
      .buckets({ included: credits('500'), available: credits('500') })
      .when(cmd(type, { runId: 'r1' }))
      .then(rejected('run_already_finished', { status: reason }))
      .when(cmd('CompleteRun', { runId: 'r1', actualCost: 1n }))
      .then(rejected('run_already_finished', { status: reason }))
      .when(cmd(type, { runId: 'nope' }))
      .then(rejected('run_not_found'));
  });

  it('a release back to a lapsed grant expires those credits at once', () => {
    given(
      openedAccountCommands(),
      grant('day-1', '10', 'top_up', { expiresAt: at(T0, DAY) }),
      acceptRunCommand('r1', credits('14')), // 10 from day-1, 4 from included
    )
      .when(cmd(type, { runId: 'r1' }), { now: at(T0, 2 * DAY) })
      .then([
        released('r1', reason, draws(['day-1', '10'], [INCLUDED_ID, '4'])),
        expired('day-1', '10'),
        { type: eventType, data: { ...run('r1'), reason: null } },
      ])
      .buckets({ included: credits('500'), bonus: credits('10'), expired: credits('10'), available: credits('500') });
  });
});

/** r1 completed at 44, r2 still open. */
const completedRun = [
  ...openedAccountCommands(),
  acceptRunCommand('r1', credits('44')),
  cmd('CompleteRun', { runId: 'r1', actualCost: credits('44') }),
  acceptRunCommand('r2', credits('24')),
];
const hold = (holdId: string, credited: Credits | string, runId = 'r1') =>
  cmd('PlaceSettlementHold', { holdId, runId, provider: 'openai', amount: amount(credited) });

describe('PlaceSettlementHold: account(open) → run_not_found → run_not_completed → hold_already_exists → hold_exceeds_consumed', () => {
  it('holds part of a completed run, up to what it consumed and has not held yet; held credits stay consumed', () => {
    given(completedRun)
      .when(hold('h1', '30'))
      .then([
        {
          type: 'SettlementHoldPlaced',
          data: {
            accountId: ACCOUNT,
            runId: 'r1',
            projectId: PROJECT,
            holdId: 'h1',
            provider: 'openai',
            amount: credits('30'),
          },
        },
      ])
      .when(hold('h2', '14.0001'))
      .then(rejected('hold_exceeds_consumed', { holdable: '14' }))
      .when(hold('h2', '14'))
      .then([held('h2', '14')])
      .when(hold('h3', 1n))
      .then(rejected('hold_exceeds_consumed', { holdable: '0' }))
      .buckets({
        included: credits('500'),
        reserved: credits('24'),
        consumed: credits('44'),
        hold: credits('44'),
        available: credits('432'),
      });
  });

  it('run_not_found, run_not_completed (open or failed), hold_already_exists', () => {
    given(completedRun)
      .when(hold('h1', 1n, 'r9'))
      .then(rejected('run_not_found'))
      .when(hold('h1', 1n, 'r2'))
      .then(rejected('run_not_completed'))
      .when(cmd('FailRun', { runId: 'r2' }))
      .then([released('r2', 'failed', draws([INCLUDED_ID, '24'])), event('RunFailed', { ...run('r2'), reason: null })])
      .when(hold('h1', 1n, 'r2'))
      .then(rejected('run_not_completed'))
      .when(hold('h1', 1n))
      .then([held('h1', 1n)])
      .when(hold('h1', 1n))
      .then(rejected('hold_already_exists'));
  });

  it('a run consumed with a shortfall can hold only what it consumed', () => {
    given(
      openedAccountCommands(),
      acceptRunCommand('r1', credits('490')),
      acceptRunCommand('r2', credits('10')),
      cmd('CompleteRun', { runId: 'r2', actualCost: credits('15') }), // 10 consumed, 5 short
    )
      .when(hold('h1', '10.0001', 'r2'))
      .then(rejected('hold_exceeds_consumed', { holdable: '10' }))
      .when(hold('h1', '10', 'r2'))
      .then([held('h1', '10', 'r2')]);
  });

  const withHold = [...completedRun, hold('h1', '40')];
  it.each([
    ['run_not_found before hold_already_exists', hold('h1', '99', 'r9'), 'run_not_found'],
    ['run_not_completed before hold_already_exists', hold('h1', '99', 'r2'), 'run_not_completed'],
    ['hold_already_exists before hold_exceeds_consumed', hold('h1', '99'), 'hold_already_exists'],
  ] as const)('in order: %s', (_rule, command, code) => {
    given(withHold).when(command).then(rejected(code));
  });
});

describe('ReleaseSettlementHold: account(open) → hold_not_found → hold_already_released', () => {
  it.each(['paid_out', 'reversed'] as const)(
    'release (%s) lowers the hold and keeps the credits consumed',
    (outcome) => {
      const releasedHold = given(completedRun, hold('h1', '8'))
        .buckets({
          included: credits('500'),
          reserved: credits('24'),
          consumed: credits('44'),
          hold: credits('8'),
          available: credits('432'),
        })
        .when(cmd('ReleaseSettlementHold', { holdId: 'h1', outcome }))
        .then([
          {
            type: 'SettlementHoldReleased',
            data: {
              accountId: ACCOUNT,
              runId: 'r1',
              projectId: PROJECT,
              holdId: 'h1',
              provider: 'openai',
              amount: credits('8'),
              outcome,
            },
          },
        ])
        .buckets({
          included: credits('500'),
          reserved: credits('24'),
          consumed: credits('44'),
          available: credits('432'),
        });
      expect(releasedHold.state.holds.get('h1')?.status).toBe(outcome);

      releasedHold
        .when(cmd('ReleaseSettlementHold', { holdId: 'h1', outcome: 'paid_out' }))
        .then(rejected('hold_already_released'));
      releasedHold.when(cmd('ReleaseSettlementHold', { holdId: 'h9', outcome })).then(rejected('hold_not_found'));

      // paid-out credits are settled for good; a reversed hold's credits may be held again
      const holdable = outcome === 'paid_out' ? '36' : '44';
      const heldAgain = releasedHold
        .when(hold('h2', holdable))
        .then([held('h2', holdable)])
        .when(hold('h3', 1n))
        .then(rejected('hold_exceeds_consumed', { holdable: '0' }));
      expect(heldAgain.state.runs.get('r1')?.held).toBe(credits('44'));
    },
  );
});

describe('SuspendAccount: account(active)', () => {
  it('suspends an active account; the buckets do not move', () => {
    given(openedAccountCommands())
      .when(cmd('SuspendAccount', { reason: 'unpaid' }))
      .then([{ type: 'AccountSuspended', data: { accountId: ACCOUNT, reason: 'unpaid' } }])
      .buckets({ included: credits('500'), available: credits('500') })
      .when(cmd('SuspendAccount', {}))
      .then(rejected('account_not_active', { check: 'account_state' }));
  });
});

describe('ReactivateAccount: account(open) → account_not_suspended', () => {
  it('reactivates a suspended account, which accepts runs again', () => {
    given(openedAccountCommands(), cmd('SuspendAccount', { reason: 'unpaid' }))
      .when(cmd('ReactivateAccount', {}))
      .then([{ type: 'AccountReactivated', data: { accountId: ACCOUNT } }])
      .buckets({ included: credits('500'), available: credits('500') })
      .when(cmd('ReactivateAccount', {}))
      .then(rejected('account_not_suspended'))
      .when(acceptRunCommand('r1', credits('2')))
      .then(accepted('r1', '2', draws([INCLUDED_ID, '2'])));
  });
});

describe('CloseBillingAccount: account(open) → account_has_open_commitments', () => {
  it('closes only without open runs or settlement holds; what is left expires and available is 0', () => {
    const closed = given(openedAccountCommands(), acceptRunCommand('r1', credits('5')))
      .when(cmd('CloseBillingAccount', {}))
      .then(rejected('account_has_open_commitments', { openRuns: 1, openHolds: 0 }))
      .when(cmd('CompleteRun', { runId: 'r1', actualCost: credits('5') }))
      .then([consumed('r1', draws([INCLUDED_ID, '5'])), completed('r1', '5')])
      .when(cmd('PlaceSettlementHold', { holdId: 'h1', runId: 'r1', provider: 'p', amount: credits('2') }))
      .then([event('SettlementHoldPlaced', { ...run('r1'), holdId: 'h1', provider: 'p', amount: credits('2') })])
      .when(cmd('CloseBillingAccount', {}))
      .then(rejected('account_has_open_commitments', { openRuns: 0, openHolds: 1 }))
      .when(cmd('ReleaseSettlementHold', { holdId: 'h1', outcome: 'paid_out' }))
      .then([
        event('SettlementHoldReleased', {
          ...run('r1'),
          holdId: 'h1',
          provider: 'p',
          amount: credits('2'),
          outcome: 'paid_out',
        }),
      ])
      .when(cmd('CloseBillingAccount', {}))
      .then([
        {
          type: 'CreditsExpired',
          data: {
            accountId: ACCOUNT,
            grantId: INCLUDED_ID,
            projectId: null,
            amount: credits('495'),
            reason: 'account_closed',
          },
        },
        { type: 'BillingAccountClosed', data: { accountId: ACCOUNT } },
      ])
      // the final buckets say where every credit went: nothing is left available
      .buckets({ included: credits('500'), consumed: credits('5'), expired: credits('495') });
    expect(closed.state.status).toBe('closed');
    closed.when(acceptRunCommand('r2', credits('2'))).then(rejected('account_closed', { check: 'account_state' }));
  });

  it('closes a suspended account', () => {
    given(openedAccountCommands(), cmd('SuspendAccount', {}))
      .when(cmd('CloseBillingAccount', {}))
      .then([expired(INCLUDED_ID, '500', 'account_closed'), event('BillingAccountClosed', { accountId: ACCOUNT })])
      .buckets({ included: credits('500'), expired: credits('500') });
  });

  it('expires scheduled grants too: they take effect and expire, so the books show them', () => {
    const closed = given(
      openedAccountCommands(),
      grant('later', '3', 'top_up', { effectiveAt: at(T0, DAY), projectId: PROJECT }),
    )
      .when(cmd('CloseBillingAccount', {}))
      .then([
        event('CreditsBecameEffective', {
          accountId: ACCOUNT,
          grantId: 'later',
          source: 'top_up',
          projectId: PROJECT,
          amount: credits('3'),
        }),
        expired('later', '3', 'account_closed', PROJECT),
        expired(INCLUDED_ID, '500', 'account_closed'),
        event('BillingAccountClosed', { accountId: ACCOUNT }),
      ])
      .buckets({ included: credits('500'), bonus: credits('3'), expired: credits('503') });
    expect(closed.state.scheduledGrants.size).toBe(0);
  });
});

describe('the seed billing overview', () => {
  /** included 500 · reserved 24 · consumed 44, of which 8 in a settlement hold · available 432 */
  const seed = given(
    openedAccountCommands(),
    acceptRunCommand('run-a', credits('40')),
    cmd('CompleteRun', { runId: 'run-a', actualCost: credits('44') }), // a 4-credit overrun
    cmd('PlaceSettlementHold', { holdId: 'hold-1', runId: 'run-a', provider: 'openai', amount: credits('8') }),
    acceptRunCommand('run-b', credits('24')),
  );

  it('shows the page’s buckets', () => {
    seed.buckets({
      included: 5_000_000n,
      bonus: 0n,
      available: 4_320_000n,
      reserved: 240_000n,
      consumed: 440_000n,
      hold: 80_000n,
      expired: 0n,
    });
    // available = included + bonus − reserved − consumed − expired = 500 − 24 − 36 − 8
    expect(500 - 24 - 36 - 8).toBe(432);
  });

  it('values the hold at 800 fen against a 10000-fen threshold: not reached', () => {
    expect(settlementPosition(seed.state)).toEqual({ thresholdFen: 10000n, heldValueFen: 800n, reached: false });
  });

  it('reaches the threshold when the held value equals it, not a ten-thousandth of a credit before', () => {
    const holdOnC = (holdId: string, credited: string) => hold(holdId, credited, 'run-c');
    // 100 credits × 100 fen = 10000 fen; hold 8 + 91.9999 = 99.9999 first
    const almost = seed
      .when(acceptRunCommand('run-c', credits('100')))
      .then(accepted('run-c', '100', draws([INCLUDED_ID, '100'])))
      .when(cmd('CompleteRun', { runId: 'run-c', actualCost: credits('100') }))
      .then([consumed('run-c', draws([INCLUDED_ID, '100'])), completed('run-c', '100')])
      .when(holdOnC('hold-2', '91.9999'))
      .then([held('hold-2', '91.9999', 'run-c')]);
    // 9999.99 fen, shown in whole fen rounded down: a payout is never overstated
    expect(settlementPosition(almost.state)).toEqual({ thresholdFen: 10000n, heldValueFen: 9999n, reached: false });
    const reached = almost.when(holdOnC('hold-3', '0.0001')).then([held('hold-3', '0.0001', 'run-c')]);
    expect(settlementPosition(reached.state)).toEqual({ thresholdFen: 10000n, heldValueFen: 10000n, reached: true });
  });

  it('has no settlement position without a subscription', () => {
    expect(settlementPosition(initialState())).toBeNull();
  });
});

describe('orders by code point, never by the host’s locale', () => {
  it('takes effect in start order, then grant id by code point (B before a, a-b before ab)', () => {
    const later = at(T0, DAY);
    const scheduled = (grantId: string) =>
      cmd('GrantCredits', { grantId, source: 'manual', amount: credits('1'), effectiveAt: later });
    const effective = (grantId: string) =>
      event('CreditsBecameEffective', {
        accountId: ACCOUNT,
        grantId,
        source: 'manual',
        projectId: null,
        amount: credits('1'),
      });
    given(openedAccountCommands(), scheduled('ab'), scheduled('a-b'), scheduled('B'), scheduled('a'))
      .when(cmd('ExpireCredits', {}), { now: later })
      .then(['B', 'a', 'a-b', 'ab'].map(effective));
  });
});
