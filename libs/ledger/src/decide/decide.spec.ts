import type { LedgerCommand } from '../commands';
import type { LedgerEvent } from '../events';
import { invariantViolations } from '../invariants';
import { bucketsOf, initialState, settlementPosition, type AccountState, type Buckets } from '../state';
import { decide } from './index';
import {
  ACCOUNT,
  DAY,
  NEXT_PERIOD,
  PERIOD,
  PROJECT,
  T0,
  acceptRunCommand,
  apply,
  at,
  cmd,
  context,
  credits,
  defaultPlan,
  eventsOfType,
  expectAccepted,
  expectRejected,
  openedAccount,
  openedAccountCommands,
  principal,
  runCommands,
  typesOf,
} from '../test-support';

const INCLUDED_ID = `included:${PERIOD.start}`;
const NEXT_INCLUDED_ID = `included:${NEXT_PERIOD.start}`;

/** Decides one command against the state, at `now`, without applying it. */
const judge = (state: AccountState, command: LedgerCommand, now = T0) => decide(command, state, context(now));

const rejectionOf = (state: AccountState, command: LedgerCommand, now = T0) =>
  expectRejected(judge(state, command, now)).code;

/** Buckets with everything not named at zero. */
const buckets = (named: Partial<Buckets>): Buckets => ({
  included: 0n,
  bonus: 0n,
  available: 0n,
  reserved: 0n,
  consumed: 0n,
  hold: 0n,
  expired: 0n,
  ...named,
});

function expectSound(state: AccountState): void {
  expect(invariantViolations(state)).toEqual([]);
}

/** One command of each type, valid against the scenario below. */
function everyCommand(): LedgerCommand[] {
  return [
    cmd('StartSubscription', { plan: defaultPlan(), period: NEXT_PERIOD }),
    cmd('ChangePlan', { plan: defaultPlan() }),
    cmd('RenewSubscriptionPeriod', { period: NEXT_PERIOD }),
    cmd('AttachProject', { projectId: 'proj-b' }),
    cmd('GrantCredits', { grantId: 'g-x', source: 'manual', amount: credits('1') }),
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
  ];
}

describe('every command', () => {
  const state = () => runCommands([...openedAccountCommands(), acceptRunCommand('run-1', credits('5'))]).state;

  it.each(everyCommand().map((c) => [c.type, c] as const))('%s refuses a dashboard key', (_type, command) => {
    const decision = decide(command, state(), context(T0, principal({ role: 'dashboard' })));
    expect(expectRejected(decision)).toMatchObject({ code: 'role_forbidden', details: { check: 'identity' } });
  });

  it.each(everyCommand().map((c) => [c.type, c] as const))('%s refuses a key for other accounts', (_type, command) => {
    const decision = decide(command, state(), context(T0, principal({ accounts: ['acct-9'] })));
    expect(expectRejected(decision)).toMatchObject({ code: 'identity_denied', details: { check: 'identity' } });
  });

  it.each(everyCommand().map((c) => [c.type, c] as const))('%s needs an opened account', (_type, command) => {
    expect(expectRejected(judge(initialState(), command))).toMatchObject({
      code: 'account_not_found',
      details: { check: 'account' },
    });
  });

  it.each(everyCommand().map((c) => [c.type, c] as const))('%s is refused on a closed account', (_type, command) => {
    const closed = runCommands([...openedAccountCommands(), cmd('CloseBillingAccount', {})]).state;
    expect(rejectionOf(closed, command)).toBe('account_closed');
  });
});

describe('OpenBillingAccount', () => {
  it('opens an account once', () => {
    const state = initialState();
    const events = expectAccepted(apply(state, cmd('OpenBillingAccount', { name: 'Acme' })));
    expect(events).toEqual([{ type: 'BillingAccountOpened', data: { accountId: ACCOUNT, name: 'Acme' } }]);
    expect(state.status).toBe('active');
    expect(rejectionOf(state, cmd('OpenBillingAccount', { name: 'Acme again' }))).toBe('account_already_exists');
  });

  it('a closed account is not opened again', () => {
    const closed = runCommands([cmd('OpenBillingAccount', { name: 'Acme' }), cmd('CloseBillingAccount', {})]).state;
    expect(rejectionOf(closed, cmd('OpenBillingAccount', { name: 'Acme' }))).toBe('account_already_exists');
  });

  it.each([
    [principal({ role: 'auditor' }), 'role_forbidden'],
    [principal({ accounts: ['acct-2'] }), 'identity_denied'],
  ])('checks the caller first (%#)', (who, code) => {
    const decision = decide(cmd('OpenBillingAccount', { name: 'Acme' }), initialState(), context(T0, who));
    expect(expectRejected(decision).code).toBe(code);
  });
});

describe('StartSubscription', () => {
  const opened = () => runCommands([cmd('OpenBillingAccount', { name: 'Acme' })]).state;

  it('records the plan and grants its included credits, expiring at the period end', () => {
    const state = opened();
    const plan = defaultPlan();
    const events = expectAccepted(apply(state, cmd('StartSubscription', { plan, period: PERIOD })));
    expect(events).toEqual([
      { type: 'SubscriptionStarted', data: { accountId: ACCOUNT, plan, period: PERIOD } },
      {
        type: 'CreditsGranted',
        data: expect.objectContaining({
          accountId: ACCOUNT,
          grantId: 'included:2026-11-01T00:00:00.000Z',
          source: 'plan_included',
          amount: 5_000_000n,
          expiresAt: '2026-12-01T00:00:00.000Z',
          projectId: null,
        }),
      },
    ]);
    expect(bucketsOf(state)).toEqual(buckets({ included: 5_000_000n, available: 5_000_000n }));
    expectSound(state);
  });

  it('grants nothing for a plan without included credits', () => {
    const events = expectAccepted(
      judge(opened(), cmd('StartSubscription', { plan: defaultPlan({ includedCredits: 0n }), period: PERIOD })),
    );
    expect(typesOf(events)).toEqual(['SubscriptionStarted']);
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
  ])('rejects %s as plan_invalid', (_name, plan) => {
    expect(rejectionOf(opened(), cmd('StartSubscription', { plan, period: PERIOD }))).toBe('plan_invalid');
  });

  it.each([
    ['ends before it starts', { start: PERIOD.end, end: PERIOD.start }],
    ['ends as it starts', { start: PERIOD.start, end: PERIOD.start }],
  ])('rejects a period that %s', (_name, period) => {
    expect(rejectionOf(opened(), cmd('StartSubscription', { plan: defaultPlan(), period }))).toBe('period_invalid');
  });

  it('refuses a period that has already ended, as GrantCredits refuses a past expiry', () => {
    expect(rejectionOf(opened(), cmd('StartSubscription', { plan: defaultPlan(), period: PERIOD }), PERIOD.end)).toBe(
      'period_already_ended',
    );
  });

  it('schedules the included credits of a period still to come: no runs and no credits before it starts', () => {
    const state = opened();
    const events = expectAccepted(apply(state, cmd('StartSubscription', { plan: defaultPlan(), period: NEXT_PERIOD })));
    expect(eventsOfType(events, 'CreditsGranted')[0]).toMatchObject({ effectiveAt: NEXT_PERIOD.start });
    expect(bucketsOf(state)).toEqual(buckets({}));
    apply(state, cmd('AttachProject', { projectId: PROJECT }));
    expect(rejectionOf(state, acceptRunCommand('r1', credits('2')))).toBe('subscription_period_not_started');
    const accepted = expectAccepted(apply(state, acceptRunCommand('r1', credits('2')), NEXT_PERIOD.start));
    expect(typesOf(accepted)).toEqual(['CreditsBecameEffective', 'RunAccepted', 'CreditsReserved']);
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('500'), reserved: credits('2'), available: credits('498') }),
    );
    expectSound(state);
  });

  it('starts only once', () => {
    expect(rejectionOf(openedAccount(), cmd('StartSubscription', { plan: defaultPlan(), period: NEXT_PERIOD }))).toBe(
      'subscription_already_started',
    );
  });
});

describe('ChangePlan', () => {
  it('changes bands and rate card at once, and included credits from the next period', () => {
    const state = openedAccount();
    const premium = defaultPlan({
      planId: 'scale',
      includedCredits: credits('2000'),
      capabilityBands: ['premium'],
      rateCard: [{ action: 'video.render', capabilityBand: 'premium', minimumCost: credits('5') }],
    });
    expect(expectAccepted(apply(state, cmd('ChangePlan', { plan: premium })))).toEqual([
      { type: 'PlanChanged', data: { accountId: ACCOUNT, plan: premium } },
    ]);
    // the old band is gone and the new one is allowed now
    expect(rejectionOf(state, acceptRunCommand('r1', credits('5')))).toBe('capability_band_not_in_plan');
    expect(
      judge(state, acceptRunCommand('r1', credits('5'), { action: 'video.render', capabilityBand: 'premium' })).ok,
    ).toBe(true);
    // this period keeps its 500 included credits; the next one gets 2000
    expect(bucketsOf(state).included).toBe(credits('500'));
    const renewal = expectAccepted(
      apply(state, cmd('RenewSubscriptionPeriod', { period: NEXT_PERIOD }), NEXT_PERIOD.start),
    );
    expect(eventsOfType(renewal, 'CreditsGranted')).toEqual([
      expect.objectContaining({ grantId: NEXT_INCLUDED_ID, amount: credits('2000') }),
    ]);
  });

  it('rejects inconsistent terms and an account without a subscription', () => {
    const badPlan = defaultPlan({ capabilityBands: ['advanced'] }); // workflow.run is 'standard'
    expect(rejectionOf(openedAccount(), cmd('ChangePlan', { plan: badPlan }))).toBe('plan_invalid');
    const unsubscribed = runCommands([cmd('OpenBillingAccount', { name: 'Acme' })]).state;
    expect(rejectionOf(unsubscribed, cmd('ChangePlan', { plan: defaultPlan() }))).toBe('subscription_missing');
  });
});

describe('RenewSubscriptionPeriod', () => {
  it('schedules the next period’s included credits; the current ones lapse at the period’s end, not at the renewal', () => {
    const { state } = runCommands([...openedAccountCommands(), acceptRunCommand('r1', credits('24'))]);
    const early = at(PERIOD.end, -5 * DAY);
    const events = expectAccepted(apply(state, cmd('RenewSubscriptionPeriod', { period: NEXT_PERIOD }), early));
    expect(events).toEqual([
      { type: 'SubscriptionPeriodRenewed', data: { accountId: ACCOUNT, period: NEXT_PERIOD } },
      {
        type: 'CreditsGranted',
        data: expect.objectContaining({
          grantId: NEXT_INCLUDED_ID,
          source: 'plan_included',
          amount: credits('500'),
          effectiveAt: NEXT_PERIOD.start,
          expiresAt: NEXT_PERIOD.end,
        }),
      },
    ]);
    // nothing expired, nothing new spendable yet: the next period's credits wait for its start
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('500'), reserved: credits('24'), available: credits('476') }),
    );
    expectSound(state);

    // failed before the period ends, the run's 24 go back to a grant still in force
    const before = runCommands([...openedAccountCommands(), acceptRunCommand('r1', credits('24'))]).state;
    apply(before, cmd('RenewSubscriptionPeriod', { period: NEXT_PERIOD }), early);
    expectAccepted(apply(before, cmd('FailRun', { runId: 'r1' }), at(early, 1)));
    expect(bucketsOf(before)).toEqual(buckets({ included: credits('500'), available: credits('500') }));

    // failed after it ended, the first command of the new period records what time did first:
    // the new grant takes effect, the old one's free credits lapse; the 24 released to it expire at once
    const failed = expectAccepted(apply(state, cmd('FailRun', { runId: 'r1' }), at(NEXT_PERIOD.start, 1)));
    expect(typesOf(failed)).toEqual([
      'CreditsBecameEffective',
      'CreditsExpired',
      'ReservationReleased',
      'CreditsExpired',
      'RunFailed',
    ]);
    expect(eventsOfType(failed, 'CreditsExpired')).toEqual([
      { accountId: ACCOUNT, grantId: INCLUDED_ID, projectId: null, amount: credits('476'), reason: 'lapsed' },
      { accountId: ACCOUNT, grantId: INCLUDED_ID, projectId: null, amount: credits('24'), reason: 'lapsed' },
    ]);
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('1000'), expired: credits('500'), available: credits('500') }),
    );
    expectSound(state);
  });

  it('the issue’s sequence: credits released after the renewed period began are not spendable again', () => {
    // 100 included for now−1d → E; a run reserves 60; renewal for E → E+30d; the run fails after E
    const now = '2026-11-10T00:00:00.000Z';
    const E = '2026-12-10T00:00:00.000Z';
    const plan = defaultPlan({ includedCredits: credits('100') });
    const { state } = runCommands(
      [
        ...openedAccountCommands(plan, { start: at(now, -DAY), end: E }),
        acceptRunCommand('r1', credits('60')),
        cmd('RenewSubscriptionPeriod', { period: { start: E, end: at(E, 30 * DAY) } }),
      ],
      { now },
    );
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('100'), reserved: credits('60'), available: credits('40') }),
    );
    expectAccepted(apply(state, cmd('FailRun', { runId: 'r1' }), at(E, 1)));
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('200'), expired: credits('100'), available: credits('100') }),
    );
    expectSound(state);
  });

  it('touches only the included grants of the period that ends: a plan_included grant by hand keeps its expiry', () => {
    const { state } = runCommands([
      ...openedAccountCommands(),
      cmd('GrantCredits', {
        grantId: 'goodwill',
        source: 'plan_included',
        amount: credits('7'),
        expiresAt: '2027-06-01T00:00:00.000Z',
      }),
      cmd('GrantCredits', {
        grantId: 'dec-15',
        source: 'top_up',
        amount: credits('3'),
        expiresAt: '2026-12-15T00:00:00.000Z',
      }),
    ]);
    apply(state, cmd('RenewSubscriptionPeriod', { period: NEXT_PERIOD }), '2026-11-25T00:00:00.000Z');
    const events = expectAccepted(apply(state, cmd('ExpireCredits', {}), at(NEXT_PERIOD.start, 1)));
    expect(eventsOfType(events, 'CreditsExpired').map((e) => [e.grantId, e.amount])).toEqual([
      [INCLUDED_ID, credits('500')],
    ]);
    expect(bucketsOf(state)).toMatchObject({
      included: credits('1007'),
      expired: credits('500'),
      available: credits('510'),
    });
    expectSound(state);
  });

  it('keeps the current period current until the renewed one starts', () => {
    const state = openedAccount();
    apply(state, cmd('RenewSubscriptionPeriod', { period: NEXT_PERIOD }), at(PERIOD.end, -DAY));
    expect(judge(state, acceptRunCommand('r1', credits('2')), at(PERIOD.end, -1)).ok).toBe(true);
    expect(judge(state, acceptRunCommand('r1', credits('2')), NEXT_PERIOD.start).ok).toBe(true);
    expect(rejectionOf(state, acceptRunCommand('r1', credits('2')), NEXT_PERIOD.end)).toBe('subscription_period_ended');
  });

  it('lets runs be accepted again after a lapsed period is renewed', () => {
    const state = openedAccount();
    const later = at(PERIOD.end, DAY);
    expect(rejectionOf(state, acceptRunCommand('r1', credits('2')), later)).toBe('subscription_period_ended');
    const renewed = { start: PERIOD.end, end: at(PERIOD.end, 30 * DAY) };
    expect(apply(state, cmd('RenewSubscriptionPeriod', { period: renewed }), later).ok).toBe(true);
    expect(judge(state, acceptRunCommand('r1', credits('500')), later).ok).toBe(true);
    expect(rejectionOf(state, acceptRunCommand('r1', credits('500.0001')), later)).toBe('insufficient_credits');
  });

  it('leaves a gap between periods in no period', () => {
    const state = openedAccount();
    const gap = { start: at(PERIOD.end, 2 * DAY), end: at(PERIOD.end, 30 * DAY) };
    apply(state, cmd('RenewSubscriptionPeriod', { period: gap }), at(PERIOD.end, -DAY));
    expect(rejectionOf(state, acceptRunCommand('r1', credits('2')), at(PERIOD.end, DAY))).toBe(
      'subscription_period_not_started',
    );
  });

  it('checks in order: period shape, subscription, one period ahead at most, after the current, not over', () => {
    const state = openedAccount();
    const renew = (start: string, end: string) => cmd('RenewSubscriptionPeriod', { period: { start, end } });
    expect(rejectionOf(state, renew(NEXT_PERIOD.end, NEXT_PERIOD.start))).toBe('period_invalid');
    expect(rejectionOf(state, renew(at(PERIOD.end, -1), NEXT_PERIOD.end))).toBe('period_not_after_current');
    expect(rejectionOf(state, renew(PERIOD.end, NEXT_PERIOD.end), NEXT_PERIOD.end)).toBe('period_already_ended');
    expect(judge(state, renew(PERIOD.end, NEXT_PERIOD.end)).ok).toBe(true);
    apply(state, renew(PERIOD.end, NEXT_PERIOD.end));
    const after = { start: NEXT_PERIOD.end, end: at(NEXT_PERIOD.end, 30 * DAY) };
    expect(rejectionOf(state, renew(after.start, after.end))).toBe('period_already_renewed');
    expect(judge(state, renew(after.start, after.end), NEXT_PERIOD.start).ok).toBe(true);
    const unsubscribed = runCommands([cmd('OpenBillingAccount', { name: 'Acme' })]).state;
    expect(rejectionOf(unsubscribed, renew(PERIOD.start, PERIOD.end))).toBe('subscription_missing');
  });
});

describe('AttachProject', () => {
  it('attaches a project once', () => {
    const state = runCommands([cmd('OpenBillingAccount', { name: 'Acme' })]).state;
    expect(expectAccepted(apply(state, cmd('AttachProject', { projectId: 'p1' })))).toEqual([
      { type: 'ProjectAttached', data: { accountId: ACCOUNT, projectId: 'p1', name: null } },
    ]);
    expect(rejectionOf(state, cmd('AttachProject', { projectId: 'p1', name: 'again' }))).toBe(
      'project_already_attached',
    );
  });
});

describe('GrantCredits', () => {
  it('grants a block with its source, expiry and project', () => {
    const state = openedAccount();
    const events = expectAccepted(
      apply(
        state,
        cmd('GrantCredits', {
          grantId: 'promo-1',
          source: 'top_up',
          amount: credits('12.5'),
          expiresAt: at(T0, DAY),
          projectId: PROJECT,
          reason: 'launch promo',
        }),
      ),
    );
    expect(events).toEqual([
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
    ]);
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('500'), bonus: credits('12.5'), available: credits('512.5') }),
    );
  });

  describe('validity window', () => {
    const later = at(T0, 2 * DAY);
    const scheduledGrant = (fields: { effectiveAt?: string; expiresAt?: string } = {}) =>
      cmd('GrantCredits', { grantId: 'dec', source: 'top_up', amount: credits('30'), effectiveAt: later, ...fields });

    it('a grant effective later is in no bucket, and not spendable, until its window begins', () => {
      const state = openedAccount();
      const events = expectAccepted(apply(state, scheduledGrant({ expiresAt: at(later, DAY) })));
      expect(eventsOfType(events, 'CreditsGranted')[0]).toMatchObject({ effectiveAt: later });
      expect(bucketsOf(state)).toEqual(buckets({ included: credits('500'), available: credits('500') }));
      expect(rejectionOf(state, acceptRunCommand('r1', credits('500.0001')), at(later, -1))).toBe(
        'insufficient_credits',
      );
      const accepted = expectAccepted(apply(state, acceptRunCommand('r1', credits('510')), later));
      expect(typesOf(accepted)).toEqual(['CreditsBecameEffective', 'RunAccepted', 'CreditsReserved']);
      expect(bucketsOf(state)).toEqual(
        buckets({ included: credits('500'), bonus: credits('30'), reserved: credits('510'), available: credits('20') }),
      );
      expectSound(state);
    });

    it('a window that begins at or before now is in effect at once', () => {
      const state = openedAccount();
      const events = expectAccepted(apply(state, scheduledGrant({ effectiveAt: at(T0, -DAY) })));
      expect(eventsOfType(events, 'CreditsGranted')[0]).toMatchObject({ effectiveAt: null });
      expect(bucketsOf(state).bonus).toBe(credits('30'));
    });

    it('a window passed unseen takes effect and expires in the same command, so the books still show it', () => {
      const state = openedAccount();
      apply(state, scheduledGrant({ expiresAt: at(later, DAY) }));
      const events = expectAccepted(apply(state, cmd('ExpireCredits', {}), at(later, 2 * DAY)));
      expect(typesOf(events)).toEqual(['CreditsBecameEffective', 'CreditsExpired']);
      expect(bucketsOf(state)).toMatchObject({ bonus: credits('30'), expired: credits('30') });
      expectSound(state);
    });

    it('refuses a window that ends before it begins', () => {
      expect(rejectionOf(openedAccount(), scheduledGrant({ expiresAt: later }))).toBe('grant_window_invalid');
      expect(rejectionOf(openedAccount(), scheduledGrant({ expiresAt: at(later, -1) }))).toBe('grant_window_invalid');
    });
  });

  it('counts manual grants and top-ups as bonus, plan_included as included', () => {
    const { state } = runCommands([
      cmd('OpenBillingAccount', { name: 'Acme' }),
      cmd('GrantCredits', { grantId: 'a', source: 'manual', amount: credits('1') }),
      cmd('GrantCredits', { grantId: 'b', source: 'top_up', amount: credits('2') }),
      cmd('GrantCredits', { grantId: 'c', source: 'plan_included', amount: credits('4') }),
    ]);
    expect(bucketsOf(state)).toEqual(buckets({ included: credits('4'), bonus: credits('3'), available: credits('7') }));
  });

  it('is allowed on a suspended account', () => {
    const { state } = runCommands([...openedAccountCommands(), cmd('SuspendAccount', {})]);
    expect(judge(state, cmd('GrantCredits', { grantId: 'g', source: 'manual', amount: credits('1') })).ok).toBe(true);
  });

  it('rejects a grant id used before, even once that grant is spent', () => {
    const { state } = runCommands([
      ...openedAccountCommands(),
      cmd('GrantCredits', { grantId: 'g1', source: 'manual', amount: credits('5'), expiresAt: at(T0, 1000) }),
      acceptRunCommand('r1', credits('5')),
      cmd('CompleteRun', { runId: 'r1', actualCost: credits('5') }),
    ]);
    expect(state.grants.has('g1')).toBe(false); // spent grants are dropped from state
    expect(rejectionOf(state, cmd('GrantCredits', { grantId: 'g1', source: 'manual', amount: credits('1') }))).toBe(
      'grant_already_exists',
    );
    expect(
      rejectionOf(state, cmd('GrantCredits', { grantId: INCLUDED_ID, source: 'manual', amount: credits('1') })),
    ).toBe('grant_already_exists');
  });

  it('keeps the ids of future included credits free, so a renewal can always record its grant', () => {
    const state = openedAccount();
    const grant = (grantId: string) => cmd('GrantCredits', { grantId, source: 'plan_included', amount: credits('1') });
    expect(rejectionOf(state, grant(NEXT_INCLUDED_ID))).toBe('grant_id_reserved');
    expect(rejectionOf(state, grant('included:anything'))).toBe('grant_id_reserved');
    expect(judge(state, grant('includedish')).ok).toBe(true);
    const renewal = runCommands(
      [{ command: cmd('RenewSubscriptionPeriod', { period: NEXT_PERIOD }), now: NEXT_PERIOD.start }],
      {
        state,
      },
    );
    expect(renewal.state.grantIds.has(NEXT_INCLUDED_ID)).toBe(true);
  });

  it('rejects a grant to an unattached project', () => {
    expect(
      rejectionOf(
        openedAccount(),
        cmd('GrantCredits', { grantId: 'g', source: 'manual', amount: 1n, projectId: 'nope' }),
      ),
    ).toBe('project_not_attached');
  });

  it.each([
    ['now', T0],
    ['in the past', at(T0, -1)],
  ])('rejects an expiry %s', (_name, expiresAt) => {
    expect(
      rejectionOf(openedAccount(), cmd('GrantCredits', { grantId: 'g', source: 'manual', amount: 1n, expiresAt })),
    ).toBe('grant_expiry_not_in_future');
    expect(
      judge(openedAccount(), cmd('GrantCredits', { grantId: 'g', source: 'manual', amount: 1n, expiresAt: at(T0, 1) }))
        .ok,
    ).toBe(true);
  });

  it('stops at the most credits an account may ever be granted (10^14 credits)', () => {
    const state = runCommands([cmd('OpenBillingAccount', { name: 'Acme' })]).state;
    const largestMove = credits('1000000000000'); // 10^12 credits, the most one command may move
    for (let i = 0; i < 100; i++) {
      expectAccepted(apply(state, cmd('GrantCredits', { grantId: `big-${i}`, source: 'top_up', amount: largestMove })));
    }
    expect(bucketsOf(state).bonus).toBe(10n ** 14n * 10_000n);
    expect(rejectionOf(state, cmd('GrantCredits', { grantId: 'one-more', source: 'manual', amount: 1n }))).toBe(
      'account_credit_limit',
    );
  });

  it('allows a grant that reaches the limit exactly', () => {
    const state = runCommands([cmd('OpenBillingAccount', { name: 'Acme' })]).state;
    const largestMove = credits('1000000000000');
    for (let i = 0; i < 99; i++) {
      apply(state, cmd('GrantCredits', { grantId: `big-${i}`, source: 'top_up', amount: largestMove }));
    }
    expectAccepted(apply(state, cmd('GrantCredits', { grantId: 'a', source: 'manual', amount: largestMove - 1n })));
    expect(judge(state, cmd('GrantCredits', { grantId: 'b', source: 'manual', amount: 2n })).ok).toBe(false);
    expect(judge(state, cmd('GrantCredits', { grantId: 'b', source: 'manual', amount: 1n })).ok).toBe(true);
  });
});

describe('ExpireCredits', () => {
  const withShortGrants = () =>
    runCommands([
      ...openedAccountCommands(),
      cmd('GrantCredits', { grantId: 'day-1', source: 'top_up', amount: credits('10'), expiresAt: at(T0, DAY) }),
      cmd('GrantCredits', { grantId: 'day-3', source: 'manual', amount: credits('20'), expiresAt: at(T0, 3 * DAY) }),
      cmd('GrantCredits', { grantId: 'forever', source: 'manual', amount: credits('40') }),
    ]).state;

  it('expires the free credits of every grant lapsed by now, and nothing else', () => {
    const state = withShortGrants();
    const events = expectAccepted(apply(state, cmd('ExpireCredits', {}), at(T0, 2 * DAY)));
    expect(events).toEqual([
      {
        type: 'CreditsExpired',
        data: { accountId: ACCOUNT, grantId: 'day-1', projectId: null, amount: credits('10'), reason: 'lapsed' },
      },
    ]);
    const now = at(T0, 5 * DAY);
    const next = expectAccepted(apply(state, cmd('ExpireCredits', { asOf: at(T0, 2 * DAY) }), now));
    expect(eventsOfType(next, 'CreditsExpired').map((e) => [e.grantId, e.amount])).toEqual([['day-3', credits('20')]]);
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('500'), bonus: credits('70'), expired: credits('30'), available: credits('540') }),
    );
    // nothing left to expire: accepted, and no events
    expect(expectAccepted(judge(state, cmd('ExpireCredits', { asOf: now }), now))).toEqual([]);
  });

  it('a grant lapses at its expiry instant, not before', () => {
    const state = withShortGrants();
    expect(expectAccepted(judge(state, cmd('ExpireCredits', {}), at(T0, DAY - 1)))).toEqual([]);
    expect(typesOf(expectAccepted(judge(state, cmd('ExpireCredits', {}), at(T0, DAY))))).toEqual(['CreditsExpired']);
  });

  it('is recorded before any other command accepted after the lapse, and not by a rejected one', () => {
    const state = withShortGrants();
    const granted = expectAccepted(
      apply(state, cmd('GrantCredits', { grantId: 'g2', source: 'manual', amount: credits('1') }), at(T0, DAY)),
    );
    expect(typesOf(granted)).toEqual(['CreditsExpired', 'CreditsGranted']);
    const rejected = judge(
      state,
      cmd('GrantCredits', { grantId: 'g2', source: 'manual', amount: 1n }),
      at(T0, 3 * DAY),
    );
    expect(rejected.ok).toBe(false);
  });

  it('leaves reserved credits alone; they expire when released', () => {
    const state = withShortGrants();
    expectAccepted(apply(state, acceptRunCommand('r1', credits('4'))));
    const events = expectAccepted(apply(state, cmd('ExpireCredits', { asOf: at(T0, DAY) }), at(T0, DAY)));
    expect(eventsOfType(events, 'CreditsExpired')).toEqual([
      expect.objectContaining({ grantId: 'day-1', amount: credits('6') }),
    ]);
    expect(bucketsOf(state).reserved).toBe(credits('4'));
    expectSound(state);
  });

  it('rejects an asOf after now', () => {
    expect(rejectionOf(withShortGrants(), cmd('ExpireCredits', { asOf: at(T0, 1) }), T0)).toBe('as_of_in_future');
    expect(judge(withShortGrants(), cmd('ExpireCredits', { asOf: T0 }), T0).ok).toBe(true);
  });
});

describe('AcceptRun', () => {
  it('records the run and reserves its estimate', () => {
    const state = openedAccount();
    const events = expectAccepted(apply(state, acceptRunCommand('r1', credits('24'))));
    expect(events).toEqual([
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
    ]);
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('500'), reserved: credits('24'), available: credits('476') }),
    );
    expect(rejectionOf(state, acceptRunCommand('r1', credits('1')))).toBe('run_already_exists');
  });

  describe('draw order: earliest expiry first, then oldest grant', () => {
    // granted in this order; included (expires Dec 1) was granted first
    const grants = () =>
      runCommands([
        ...openedAccountCommands(),
        cmd('GrantCredits', { grantId: 'never-1', source: 'manual', amount: credits('10') }),
        cmd('GrantCredits', {
          grantId: 'nov-20',
          source: 'top_up',
          amount: credits('10'),
          expiresAt: '2026-11-20T00:00:00.000Z',
        }),
        cmd('GrantCredits', {
          grantId: 'nov-10-a',
          source: 'manual',
          amount: credits('10'),
          expiresAt: '2026-11-10T00:00:00.000Z',
        }),
        cmd('GrantCredits', {
          grantId: 'nov-10-b',
          source: 'manual',
          amount: credits('10'),
          expiresAt: '2026-11-10T00:00:00.000Z',
        }),
        cmd('GrantCredits', { grantId: 'never-2', source: 'manual', amount: credits('10') }),
      ]).state;

    const drawsOf = (events: LedgerEvent[]) =>
      eventsOfType(events, 'CreditsReserved').flatMap((e) => e.draws.map((d) => [d.grantId, d.amount]));

    it('spends the soonest-lapsing credits first and grants without expiry last, oldest first', () => {
      const state = grants();
      expect(drawsOf(expectAccepted(apply(state, acceptRunCommand('r1', credits('25')))))).toEqual([
        ['nov-10-a', credits('10')],
        ['nov-10-b', credits('10')],
        ['nov-20', credits('5')],
      ]);
      expect(drawsOf(expectAccepted(apply(state, acceptRunCommand('r2', credits('510')))))).toEqual([
        ['nov-20', credits('5')],
        [INCLUDED_ID, credits('500')],
        ['never-1', credits('5')],
      ]);
      expect(drawsOf(expectAccepted(apply(state, acceptRunCommand('r3', credits('15')))))).toEqual([
        ['never-1', credits('5')],
        ['never-2', credits('10')],
      ]);
      expect(bucketsOf(state).available).toBe(0n);
      expectSound(state);
    });

    it('expires lapsed credits before it reserves, and never reserves them', () => {
      const state = grants();
      const events = expectAccepted(apply(state, acceptRunCommand('r1', credits('15')), '2026-11-15T00:00:00.000Z'));
      expect(typesOf(events)).toEqual(['CreditsExpired', 'CreditsExpired', 'RunAccepted', 'CreditsReserved']);
      expect(eventsOfType(events, 'CreditsExpired').map((e) => [e.grantId, e.amount])).toEqual([
        ['nov-10-a', credits('10')],
        ['nov-10-b', credits('10')],
      ]);
      expect(drawsOf(events)).toEqual([
        ['nov-20', credits('10')],
        [INCLUDED_ID, credits('5')],
      ]);
      expect(bucketsOf(state)).toMatchObject({
        expired: credits('20'),
        reserved: credits('15'),
        available: credits('515'),
      });
    });
  });
});

describe('CompleteRun', () => {
  /** Run r1 reserved 25: 10 from nov-10, 15 from the included grant. */
  const reserved25 = () =>
    runCommands([
      ...openedAccountCommands(),
      cmd('GrantCredits', {
        grantId: 'nov-10',
        source: 'top_up',
        amount: credits('10'),
        expiresAt: '2026-11-10T00:00:00.000Z',
      }),
      acceptRunCommand('r1', credits('25')),
    ]).state;

  it('under the reservation: consumes the actual cost and releases the rest', () => {
    const state = reserved25();
    const events = expectAccepted(apply(state, cmd('CompleteRun', { runId: 'r1', actualCost: credits('12.5') })));
    expect(events).toEqual([
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
        data: { accountId: ACCOUNT, runId: 'r1', projectId: PROJECT, actualCost: credits('12.5') },
      },
    ]);
    expect(bucketsOf(state)).toEqual(
      buckets({
        included: credits('500'),
        bonus: credits('10'),
        consumed: credits('12.5'),
        available: credits('497.5'),
      }),
    );
    expectSound(state);
  });

  it('exactly the reservation: consumes it all and releases nothing', () => {
    const state = reserved25();
    const events = expectAccepted(apply(state, cmd('CompleteRun', { runId: 'r1', actualCost: credits('25') })));
    expect(typesOf(events)).toEqual(['CreditsConsumed', 'RunCompleted']);
    expect(eventsOfType(events, 'CreditsConsumed')[0]).toMatchObject({
      amount: credits('25'),
      fromReservation: credits('25'),
      overrun: 0n,
    });
    expect(bucketsOf(state)).toMatchObject({ consumed: credits('25'), reserved: 0n, available: credits('485') });
  });

  it('at zero cost: consumes nothing and releases the whole reservation', () => {
    const state = reserved25();
    const events = expectAccepted(apply(state, cmd('CompleteRun', { runId: 'r1', actualCost: 0n })));
    expect(typesOf(events)).toEqual(['ReservationReleased', 'RunCompleted']);
    expect(eventsOfType(events, 'ReservationReleased')[0]).toMatchObject({
      amount: credits('25'),
      reason: 'completed',
    });
    expect(bucketsOf(state)).toMatchObject({ consumed: 0n, reserved: 0n, available: credits('510') });
  });

  it('over the reservation: takes the difference from available', () => {
    const state = reserved25();
    const events = expectAccepted(apply(state, cmd('CompleteRun', { runId: 'r1', actualCost: credits('31') })));
    expect(typesOf(events)).toEqual(['CreditsConsumed', 'RunCompleted']);
    expect(eventsOfType(events, 'CreditsConsumed')[0]).toMatchObject({
      amount: credits('31'),
      fromReservation: credits('25'),
      overrun: credits('6'),
      overrunDraws: [{ grantId: INCLUDED_ID, amount: credits('6') }],
    });
    expect(bucketsOf(state)).toMatchObject({ consumed: credits('31'), reserved: 0n, available: credits('479') });
    expect(state.shortfall).toBe(0n);
    expectSound(state);
  });

  it('beyond available: consumes what there is and records the shortfall, never a negative balance', () => {
    const { state } = runCommands([
      ...openedAccountCommands(),
      acceptRunCommand('r1', credits('24')),
      acceptRunCommand('r2', credits('470')),
    ]);
    expect(bucketsOf(state).available).toBe(credits('6'));
    const events = expectAccepted(apply(state, cmd('CompleteRun', { runId: 'r1', actualCost: credits('40') })));
    expect(typesOf(events)).toEqual(['CreditsConsumed', 'RunCompleted', 'CommercialExceptionRecorded']);
    expect(eventsOfType(events, 'CreditsConsumed')[0]).toMatchObject({
      amount: credits('30'),
      fromReservation: credits('24'),
      overrun: credits('6'),
    });
    expect(eventsOfType(events, 'CommercialExceptionRecorded')).toEqual([
      { accountId: ACCOUNT, runId: 'r1', projectId: PROJECT, kind: 'overrun_shortfall', amount: credits('10') },
    ]);
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('500'), reserved: credits('470'), consumed: credits('30'), available: 0n }),
    );
    expect(state.shortfall).toBe(credits('10'));
    expectSound(state);
  });

  it('does not cover an overrun with lapsed credits: they expire in the same decision', () => {
    const { state } = runCommands([
      ...openedAccountCommands(),
      acceptRunCommand('r1', credits('490')),
      cmd('GrantCredits', {
        grantId: 'nov-10',
        source: 'top_up',
        amount: credits('5'),
        expiresAt: '2026-11-10T00:00:00.000Z',
      }),
      acceptRunCommand('r2', credits('2')),
    ]);
    // r2 drew its 2 from nov-10 (earliest expiry); nov-10 keeps 3 free, included keeps 10
    const events = expectAccepted(
      apply(state, cmd('CompleteRun', { runId: 'r1', actualCost: credits('505') }), '2026-11-15T00:00:00.000Z'),
    );
    expect(typesOf(events)).toEqual([
      'CreditsExpired',
      'CreditsConsumed',
      'RunCompleted',
      'CommercialExceptionRecorded',
    ]);
    expect(eventsOfType(events, 'CreditsExpired')[0]).toMatchObject({ grantId: 'nov-10', amount: credits('3') });
    expect(eventsOfType(events, 'CreditsConsumed')[0]).toMatchObject({ overrun: credits('10') });
    expect(eventsOfType(events, 'CommercialExceptionRecorded')[0]).toMatchObject({ amount: credits('5') });
    expect(bucketsOf(state).available).toBe(0n);
    expectSound(state);
  });

  it('releases credits reserved from a grant that lapsed meanwhile, and expires them at once', () => {
    const state = reserved25(); // 10 from nov-10, 15 from included
    const events = expectAccepted(
      apply(state, cmd('CompleteRun', { runId: 'r1', actualCost: credits('4') }), '2026-11-12T00:00:00.000Z'),
    );
    // consumption draws the reservation in draw order (nov-10 first); the other 6 of nov-10 expire
    expect(typesOf(events)).toEqual(['CreditsConsumed', 'ReservationReleased', 'CreditsExpired', 'RunCompleted']);
    expect(eventsOfType(events, 'CreditsConsumed')[0].reservationDraws).toEqual([
      { grantId: 'nov-10', amount: credits('4') },
    ]);
    expect(eventsOfType(events, 'ReservationReleased')[0].draws).toEqual([
      { grantId: 'nov-10', amount: credits('6') },
      { grantId: INCLUDED_ID, amount: credits('15') },
    ]);
    expect(eventsOfType(events, 'CreditsExpired')).toEqual([
      { accountId: ACCOUNT, grantId: 'nov-10', projectId: null, amount: credits('6'), reason: 'lapsed' },
    ]);
    expect(bucketsOf(state)).toEqual(
      buckets({
        included: credits('500'),
        bonus: credits('10'),
        consumed: credits('4'),
        expired: credits('6'),
        available: credits('500'),
      }),
    );
    expectSound(state);
  });

  it('is allowed while the account is suspended', () => {
    const { state } = runCommands([
      ...openedAccountCommands(),
      acceptRunCommand('r1', credits('3')),
      cmd('SuspendAccount', {}),
    ]);
    expect(judge(state, cmd('CompleteRun', { runId: 'r1', actualCost: credits('3') })).ok).toBe(true);
  });

  it('rejects an unknown run and a finished one', () => {
    const state = reserved25();
    expect(rejectionOf(state, cmd('CompleteRun', { runId: 'r9', actualCost: 1n }))).toBe('run_not_found');
    expectAccepted(apply(state, cmd('CompleteRun', { runId: 'r1', actualCost: 1n })));
    expect(expectRejected(judge(state, cmd('CompleteRun', { runId: 'r1', actualCost: 1n })))).toMatchObject({
      code: 'run_already_finished',
      details: { status: 'completed' },
    });
  });
});

describe('FailRun and CancelRun', () => {
  it.each([
    ['FailRun', 'RunFailed', 'failed'],
    ['CancelRun', 'RunCancelled', 'cancelled'],
  ] as const)('%s releases the whole reservation', (type, eventType, reason) => {
    const { state } = runCommands([...openedAccountCommands(), acceptRunCommand('r1', credits('24'))]);
    const events = expectAccepted(apply(state, cmd(type, { runId: 'r1', reason: 'provider timeout' })));
    expect(events).toEqual([
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
    ]);
    expect(bucketsOf(state)).toEqual(buckets({ included: credits('500'), available: credits('500') }));
    expect(rejectionOf(state, cmd(type, { runId: 'r1' }))).toBe('run_already_finished');
    expect(rejectionOf(state, cmd('CompleteRun', { runId: 'r1', actualCost: 1n }))).toBe('run_already_finished');
    expect(rejectionOf(state, cmd(type, { runId: 'nope' }))).toBe('run_not_found');
  });

  it('a release back to a lapsed grant expires those credits at once', () => {
    const { state } = runCommands([
      ...openedAccountCommands(),
      cmd('GrantCredits', { grantId: 'day-1', source: 'top_up', amount: credits('10'), expiresAt: at(T0, DAY) }),
      acceptRunCommand('r1', credits('14')), // 10 from day-1, 4 from included
    ]);
    const events = expectAccepted(apply(state, cmd('CancelRun', { runId: 'r1' }), at(T0, 2 * DAY)));
    expect(typesOf(events)).toEqual(['ReservationReleased', 'CreditsExpired', 'RunCancelled']);
    expect(eventsOfType(events, 'CreditsExpired')).toEqual([
      { accountId: ACCOUNT, grantId: 'day-1', projectId: null, amount: credits('10'), reason: 'lapsed' },
    ]);
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('500'), bonus: credits('10'), expired: credits('10'), available: credits('500') }),
    );
    expectSound(state);
  });
});

describe('settlement holds', () => {
  /** r1 completed at 44, r2 still open. */
  const completed = () =>
    runCommands([
      ...openedAccountCommands(),
      acceptRunCommand('r1', credits('44')),
      cmd('CompleteRun', { runId: 'r1', actualCost: credits('44') }),
      acceptRunCommand('r2', credits('24')),
    ]).state;
  const hold = (holdId: string, amount: bigint, runId = 'r1') =>
    cmd('PlaceSettlementHold', { holdId, runId, provider: 'openai', amount });

  it('holds part of a completed run, up to what it consumed and has not held yet', () => {
    const state = completed();
    expect(expectAccepted(apply(state, hold('h1', credits('30'))))).toEqual([
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
    ]);
    expect(expectRejected(judge(state, hold('h2', credits('14.0001'))))).toMatchObject({
      code: 'hold_exceeds_consumed',
      details: { holdable: '14' },
    });
    expectAccepted(apply(state, hold('h2', credits('14'))));
    expect(rejectionOf(state, hold('h3', 1n))).toBe('hold_exceeds_consumed');
    expect(bucketsOf(state)).toMatchObject({ consumed: credits('44'), hold: credits('44') });
    expectSound(state);
  });

  it('rejects an unknown run, an open or failed run, and a hold id used before', () => {
    const state = completed();
    expect(rejectionOf(state, hold('h1', 1n, 'r9'))).toBe('run_not_found');
    expect(rejectionOf(state, hold('h1', 1n, 'r2'))).toBe('run_not_completed');
    expectAccepted(apply(state, cmd('FailRun', { runId: 'r2' })));
    expect(rejectionOf(state, hold('h1', 1n, 'r2'))).toBe('run_not_completed');
    expectAccepted(apply(state, hold('h1', 1n)));
    expect(rejectionOf(state, hold('h1', 1n))).toBe('hold_already_exists');
  });

  it.each(['paid_out', 'reversed'] as const)(
    'release (%s) lowers the hold and keeps the credits consumed',
    (outcome) => {
      const state = completed();
      expectAccepted(apply(state, hold('h1', credits('8'))));
      const before = bucketsOf(state);
      const events = expectAccepted(apply(state, cmd('ReleaseSettlementHold', { holdId: 'h1', outcome })));
      expect(events).toEqual([
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
      ]);
      expect(bucketsOf(state)).toEqual({ ...before, hold: 0n });
      expect(state.holds.get('h1')?.status).toBe(outcome);
      expect(rejectionOf(state, cmd('ReleaseSettlementHold', { holdId: 'h1', outcome: 'paid_out' }))).toBe(
        'hold_already_released',
      );
      expect(rejectionOf(state, cmd('ReleaseSettlementHold', { holdId: 'h9', outcome }))).toBe('hold_not_found');
      // paid-out credits are settled for good; a reversed hold's credits may be held again
      const holdable = outcome === 'paid_out' ? credits('36') : credits('44');
      expectAccepted(apply(state, hold('h2', holdable)));
      expect(rejectionOf(state, hold('h3', 1n))).toBe('hold_exceeds_consumed');
      expect(state.runs.get('r1')?.held).toBe(credits('44'));
      expectSound(state);
    },
  );

  it('a run consumed with a shortfall can hold only what it consumed', () => {
    const { state } = runCommands([
      ...openedAccountCommands(),
      acceptRunCommand('r1', credits('490')),
      acceptRunCommand('r2', credits('10')),
      cmd('CompleteRun', { runId: 'r2', actualCost: credits('15') }), // 10 consumed, 5 short
    ]);
    expect(rejectionOf(state, hold('h1', credits('10.0001'), 'r2'))).toBe('hold_exceeds_consumed');
    expect(judge(state, hold('h1', credits('10'), 'r2')).ok).toBe(true);
  });
});

describe('account posture', () => {
  it('suspends an active account and reactivates a suspended one', () => {
    const state = openedAccount();
    expect(expectAccepted(apply(state, cmd('SuspendAccount', { reason: 'unpaid' })))).toEqual([
      { type: 'AccountSuspended', data: { accountId: ACCOUNT, reason: 'unpaid' } },
    ]);
    expect(rejectionOf(state, cmd('SuspendAccount', {}))).toBe('account_not_active');
    expect(expectAccepted(apply(state, cmd('ReactivateAccount', {})))).toEqual([
      { type: 'AccountReactivated', data: { accountId: ACCOUNT } },
    ]);
    expect(rejectionOf(state, cmd('ReactivateAccount', {}))).toBe('account_not_suspended');
    expect(judge(state, acceptRunCommand('r1', credits('2'))).ok).toBe(true);
  });

  it('closes only without open runs or settlement holds', () => {
    const { state } = runCommands([...openedAccountCommands(), acceptRunCommand('r1', credits('5'))]);
    expect(expectRejected(judge(state, cmd('CloseBillingAccount', {})))).toMatchObject({
      code: 'account_has_open_commitments',
      details: { openRuns: 1, openHolds: 0 },
    });
    apply(state, cmd('CompleteRun', { runId: 'r1', actualCost: credits('5') }));
    apply(state, cmd('PlaceSettlementHold', { holdId: 'h1', runId: 'r1', provider: 'p', amount: credits('2') }));
    expect(expectRejected(judge(state, cmd('CloseBillingAccount', {})))).toMatchObject({
      code: 'account_has_open_commitments',
      details: { openRuns: 0, openHolds: 1 },
    });
    apply(state, cmd('ReleaseSettlementHold', { holdId: 'h1', outcome: 'paid_out' }));
    expect(expectAccepted(apply(state, cmd('CloseBillingAccount', {})))).toEqual([
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
    ]);
    // the final buckets say where every credit went: nothing is left available
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('500'), consumed: credits('5'), hold: 0n, expired: credits('495') }),
    );
    expectSound(state);
    expect(expectRejected(judge(state, acceptRunCommand('r2', credits('2'))))).toMatchObject({
      code: 'account_closed',
      details: { check: 'account_state' },
    });
  });

  it('closes a suspended account', () => {
    const { state } = runCommands([...openedAccountCommands(), cmd('SuspendAccount', {})]);
    expect(judge(state, cmd('CloseBillingAccount', {})).ok).toBe(true);
  });

  it('closing expires scheduled grants too: they take effect and expire, so the books show them', () => {
    const { state } = runCommands([
      ...openedAccountCommands(),
      cmd('GrantCredits', {
        grantId: 'later',
        source: 'top_up',
        amount: credits('3'),
        effectiveAt: at(T0, DAY),
        projectId: PROJECT,
      }),
    ]);
    const events = expectAccepted(apply(state, cmd('CloseBillingAccount', {})));
    expect(typesOf(events)).toEqual([
      'CreditsBecameEffective',
      'CreditsExpired',
      'CreditsExpired',
      'BillingAccountClosed',
    ]);
    expect(bucketsOf(state)).toEqual(
      buckets({ included: credits('500'), bonus: credits('3'), expired: credits('503') }),
    );
    expect(state.scheduledGrants.size).toBe(0);
    expectSound(state);
  });
});

describe('the seed billing overview', () => {
  /** included 500 · reserved 24 · consumed 44, of which 8 in a settlement hold · available 432 */
  function seed(): AccountState {
    return runCommands([
      ...openedAccountCommands(),
      acceptRunCommand('run-a', credits('40')),
      cmd('CompleteRun', { runId: 'run-a', actualCost: credits('44') }), // a 4-credit overrun
      cmd('PlaceSettlementHold', { holdId: 'hold-1', runId: 'run-a', provider: 'openai', amount: credits('8') }),
      acceptRunCommand('run-b', credits('24')),
    ]).state;
  }

  it('shows the page’s buckets', () => {
    const state = seed();
    expect(bucketsOf(state)).toEqual({
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
    expectSound(state);
  });

  it('values the hold at 800 fen against a 10000-fen threshold: not reached', () => {
    expect(settlementPosition(seed())).toEqual({ thresholdFen: 10000n, heldValueFen: 800n, reached: false });
  });

  it('reaches the threshold when the held value equals it, not a ten-thousandth of a credit before', () => {
    const state = seed();
    // 100 credits × 100 fen = 10000 fen; hold 8 + 91.9999 = 99.9999 first
    apply(state, acceptRunCommand('run-c', credits('100')));
    apply(state, cmd('CompleteRun', { runId: 'run-c', actualCost: credits('100') }));
    apply(
      state,
      cmd('PlaceSettlementHold', { holdId: 'hold-2', runId: 'run-c', provider: 'openai', amount: credits('91.9999') }),
    );
    // 9999.99 fen, shown in whole fen rounded down: a payout is never overstated
    expect(settlementPosition(state)).toEqual({ thresholdFen: 10000n, heldValueFen: 9999n, reached: false });
    apply(
      state,
      cmd('PlaceSettlementHold', { holdId: 'hold-3', runId: 'run-c', provider: 'openai', amount: credits('0.0001') }),
    );
    expect(settlementPosition(state)).toEqual({ thresholdFen: 10000n, heldValueFen: 10000n, reached: true });
  });

  it('has no settlement position without a subscription', () => {
    expect(settlementPosition(initialState())).toBeNull();
  });
});
