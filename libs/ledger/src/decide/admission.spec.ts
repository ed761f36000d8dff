import type { CommandOf, PreviewRunQuery } from '../commands';
import type { Principal } from './context';
import { decide, permissionOrder, previewRun } from './index';
import { initialState, type AccountState } from '../state';
import {
  ACCOUNT,
  PERIOD,
  PROJECT,
  T0,
  DAY,
  acceptRunCommand,
  apply,
  at,
  cmd,
  context,
  credits,
  defaultPlan,
  openedAccount,
  openedAccountCommands,
  picture,
  principal,
  runCommands,
} from '../test-support';

interface Case {
  readonly name: string;
  readonly code: string;
  readonly check: (typeof permissionOrder)[number];
  readonly setup: () => { state: AccountState; command: CommandOf<'AcceptRun'>; who?: Principal; now?: string };
}

const good = () => acceptRunCommand('run-1', credits('24'));

const suspended = () =>
  runCommands([...openedAccountCommands(), cmd('SuspendAccount', { reason: 'unpaid invoice' })]).state;

const cases: Case[] = [
  {
    name: 'a dashboard key may not send commands',
    code: 'role_forbidden',
    check: 'identity',
    setup: () => ({ state: openedAccount(), command: good(), who: principal({ role: 'dashboard' }) }),
  },
  {
    name: 'an auditor key may not send commands',
    code: 'role_forbidden',
    check: 'identity',
    setup: () => ({ state: openedAccount(), command: good(), who: principal({ role: 'auditor' }) }),
  },
  {
    name: 'a key scoped to other accounts',
    code: 'identity_denied',
    check: 'identity',
    setup: () => ({ state: openedAccount(), command: good(), who: principal({ accounts: ['acct-2', 'acct-3'] }) }),
  },
  {
    name: 'an account that was never opened',
    code: 'account_not_found',
    check: 'account',
    setup: () => ({ state: initialState(), command: good() }),
  },
  {
    name: 'a suspended account',
    code: 'account_not_active',
    check: 'account_state',
    setup: () => ({ state: suspended(), command: good() }),
  },
  {
    name: 'a closed account',
    code: 'account_closed',
    check: 'account_state',
    setup: () => ({
      state: runCommands([...openedAccountCommands(), cmd('CloseBillingAccount', {})]).state,
      command: good(),
    }),
  },
  {
    name: 'no subscription',
    code: 'subscription_missing',
    check: 'plan',
    setup: () => ({
      state: runCommands([
        cmd('OpenBillingAccount', { name: 'Acme' }),
        cmd('AttachProject', { projectId: PROJECT }),
        cmd('GrantCredits', { grantId: 'g1', source: 'manual', amount: credits('100') }),
      ]).state,
      command: good(),
    }),
  },
  {
    name: 'the period has ended (at its very end)',
    code: 'subscription_period_ended',
    check: 'plan',
    setup: () => ({ state: openedAccount(), command: good(), now: PERIOD.end }),
  },
  {
    name: 'a band the plan does not allow',
    code: 'capability_band_not_in_plan',
    check: 'plan',
    setup: () => ({
      state: openedAccount(),
      command: acceptRunCommand('run-1', credits('24'), { capabilityBand: 'premium' }),
    }),
  },
  {
    name: 'a project not attached to the account',
    code: 'project_not_attached',
    check: 'project',
    setup: () => ({
      state: openedAccount(),
      command: acceptRunCommand('run-1', credits('24'), { projectId: 'proj-z' }),
    }),
  },
  {
    name: 'an action the rate card does not price',
    code: 'action_unknown',
    check: 'action',
    setup: () => ({
      state: openedAccount(),
      command: acceptRunCommand('run-1', credits('24'), { action: 'video.render' }),
    }),
  },
  {
    name: 'an action sent under another allowed band',
    code: 'action_band_mismatch',
    check: 'action',
    setup: () => ({
      state: openedAccount(),
      command: acceptRunCommand('run-1', credits('24'), { action: 'agent.run', capabilityBand: 'standard' }),
    }),
  },
  {
    name: 'an estimate below the action minimum',
    code: 'action_cost_below_minimum',
    check: 'action',
    setup: () => ({ state: openedAccount(), command: acceptRunCommand('run-1', credits('0.9999')) }),
  },
  {
    name: 'a run id used already',
    code: 'run_already_exists',
    check: 'action',
    setup: () => ({
      state: runCommands([...openedAccountCommands(), acceptRunCommand('run-1', credits('2'))]).state,
      command: good(),
    }),
  },
  {
    name: 'an estimate above available credits',
    code: 'insufficient_credits',
    check: 'credits',
    setup: () => ({ state: openedAccount(), command: acceptRunCommand('run-1', credits('500.0001')) }),
  },
  {
    name: 'an estimate only lapsed (not yet expired) credits could cover',
    code: 'insufficient_credits',
    check: 'credits',
    setup: () => ({
      state: runCommands([
        ...openedAccountCommands(),
        cmd('GrantCredits', { grantId: 'short', source: 'top_up', amount: credits('50'), expiresAt: at(T0, DAY) }),
      ]).state,
      command: acceptRunCommand('run-1', credits('510')),
      now: at(T0, 2 * DAY),
    }),
  },
];

describe('AcceptRun permission order', () => {
  it('is identity → account → account_state → plan → project → action → credits', () => {
    expect(permissionOrder).toEqual(['identity', 'account', 'account_state', 'plan', 'project', 'action', 'credits']);
  });

  it.each(cases)('$check: $name → $code', ({ setup, code, check }) => {
    const { state, command, who, now } = setup();
    const before = picture(state);
    const decision = decide(command, state, context(now ?? T0, who ?? principal()));
    expect(decision.ok).toBe(false);
    expect(decision).not.toHaveProperty('events');
    if (decision.ok) return;
    expect(decision.rejection.code).toBe(code);
    expect(decision.rejection.details).toMatchObject({ check });
    expect(typeof decision.rejection.message).toBe('string');
    expect(decision.rejection.message.length).toBeGreaterThan(0);
    expect(picture(state)).toBe(before);
  });

  it.each(cases)('preview answers the same: $code', ({ setup, code, check }) => {
    const { state, command, who, now } = setup();
    const before = picture(state);
    const { type: _type, ...query } = command;
    const answer = previewRun(state, query, context(now ?? T0, who ?? principal()));
    expect(answer.ok).toBe(false);
    if (answer.ok) return;
    expect(answer.rejection.code).toBe(code);
    expect(answer.rejection.details).toMatchObject({ check });
    expect(picture(state)).toBe(before);
  });

  it('accepts the same request once every step passes, exactly at the available balance', () => {
    const state = openedAccount();
    const decision = decide(acceptRunCommand('run-1', credits('500')), state, context());
    expect(decision.ok).toBe(true);
  });

  it('accepts the minimum cost exactly, and a zero estimate is never below a zero minimum', () => {
    const state = openedAccount();
    expect(decide(acceptRunCommand('run-1', credits('1')), state, context()).ok).toBe(true);
    expect(
      decide(
        acceptRunCommand('run-2', credits('0.0001'), { action: 'agent.run', capabilityBand: 'advanced' }),
        state,
        context(),
      ).ok,
    ).toBe(true);
  });

  it('accepts a key scoped to this very account', () => {
    const decision = decide(good(), openedAccount(), context(T0, principal({ accounts: ['other', ACCOUNT] })));
    expect(decision.ok).toBe(true);
  });

  it('accepts an admin key', () => {
    expect(decide(good(), openedAccount(), context(T0, principal({ role: 'admin' }))).ok).toBe(true);
  });

  it('accepts one millisecond before the period ends', () => {
    expect(decide(good(), openedAccount(), context(at(PERIOD.end, -1))).ok).toBe(true);
  });

  /**
   * Each step's setup below also breaks every later step, so the answer must come from the
   * earliest failing step and nothing after it.
   */
  describe('the first failing step wins when later steps fail too', () => {
    const everythingWrong = acceptRunCommand('run-1', credits('9999'), {
      projectId: 'proj-z',
      action: 'video.render',
      capabilityBand: 'premium',
    });
    const layered: Array<[string, string, () => AccountState, Principal]> = [
      ['identity', 'role_forbidden', () => initialState(), principal({ role: 'dashboard' })],
      ['identity', 'identity_denied', () => initialState(), principal({ accounts: [] })],
      ['account', 'account_not_found', () => initialState(), principal()],
      [
        'account_state',
        'account_not_active',
        () => runCommands([cmd('OpenBillingAccount', { name: 'Acme' }), cmd('SuspendAccount', {})]).state,
        principal(),
      ],
      [
        'plan',
        'subscription_missing',
        () => runCommands([cmd('OpenBillingAccount', { name: 'Acme' })]).state,
        principal(),
      ],
      [
        'plan',
        'capability_band_not_in_plan',
        () =>
          runCommands([
            cmd('OpenBillingAccount', { name: 'Acme' }),
            cmd('StartSubscription', { plan: defaultPlan(), period: PERIOD }),
          ]).state,
        principal(),
      ],
    ];
    it.each(layered)('%s → %s', (check, code, state, who) => {
      const decision = decide(everythingWrong, state(), context(T0, who));
      expect(decision.ok).toBe(false);
      if (decision.ok) return;
      expect(decision.rejection.code).toBe(code);
      expect(decision.rejection.details).toMatchObject({ check });
    });

    it('project before action before credits', () => {
      const state = runCommands([
        cmd('OpenBillingAccount', { name: 'Acme' }),
        cmd('StartSubscription', { plan: defaultPlan(), period: PERIOD }),
      ]).state;
      const ask = (overrides: Partial<CommandOf<'AcceptRun'>>) => {
        const decision = decide({ ...everythingWrong, capabilityBand: 'standard', ...overrides }, state, context());
        return decision.ok ? 'accepted' : decision.rejection.code;
      };
      expect(ask({})).toBe('project_not_attached');
      expect(apply(state, cmd('AttachProject', { projectId: 'proj-z' })).ok).toBe(true);
      expect(ask({})).toBe('action_unknown');
      expect(ask({ action: 'agent.run' })).toBe('action_band_mismatch');
      expect(ask({ action: 'workflow.run', estimatedCost: credits('0.5') })).toBe('action_cost_below_minimum');
      expect(ask({ action: 'workflow.run' })).toBe('insufficient_credits');
      expect(ask({ action: 'workflow.run', estimatedCost: credits('2') })).toBe('accepted');
    });
  });
});

describe('PreviewRun', () => {
  const query = (estimatedCost: bigint, extra: Partial<PreviewRunQuery> = {}): PreviewRunQuery => ({
    accountId: ACCOUNT,
    projectId: PROJECT,
    action: 'agent.run',
    capabilityBand: 'advanced',
    estimatedCost,
    ...extra,
  });

  it.each([
    // cost, price per credit in fen, the value in whole fen (rounded down) worked out by hand
    ['24', 100n, 2400n],
    ['0.35', 100n, 35n],
    ['1.2345', 7n, 8n], // 8.6415
    ['1.0001', 1n, 1n], // 1.0001
    ['3.0001', 33n, 99n], // 99.0033
    ['3', 0n, 0n],
  ])('quotes %s credits at %s fen each as %s whole fen, and appends nothing', (cost, price, valueFen) => {
    const state = openedAccount(defaultPlan({ creditPriceFen: price }));
    const before = picture(state);
    const answer = previewRun(state, query(credits(cost)), context());
    expect(answer).toEqual({
      ok: true,
      quote: {
        estimatedCost: credits(cost),
        available: credits('500'),
        availableAfter: credits('500') - credits(cost),
        creditPriceFen: price,
        estimatedValueFen: valueFen,
      },
    });
    expect(answer).not.toHaveProperty('events');
    expect(picture(state)).toBe(before);
  });

  it('quotes only credits a run could reserve: lapsed grants and reservations do not count', () => {
    const { state } = runCommands([
      ...openedAccountCommands(),
      cmd('GrantCredits', { grantId: 'short', source: 'top_up', amount: credits('50'), expiresAt: at(T0, DAY) }),
      cmd('GrantCredits', { grantId: 'long', source: 'manual', amount: credits('10') }),
      acceptRunCommand('run-1', credits('24')),
    ]);
    // run-1 reserved its 24 from 'short' (earliest expiry first); the other 26 of 'short' lapsed
    // after a day and still sit in available until expired, but cannot be spent: 500 + 10 remain.
    const answer = previewRun(state, query(credits('6')), context(at(T0, 2 * DAY)));
    expect(answer.ok).toBe(true);
    if (!answer.ok) return;
    expect(answer.quote.available).toBe(credits('510'));
    expect(answer.quote.availableAfter).toBe(credits('504'));
    // before 'short' lapses its 26 count too
    const earlier = previewRun(state, query(credits('6')), context(at(T0, DAY - 1)));
    expect(earlier.ok && earlier.quote.available).toBe(credits('536'));
  });

  it('checks a given run id, and ignores a missing one', () => {
    const { state } = runCommands([...openedAccountCommands(), acceptRunCommand('run-1', credits('2'))]);
    const taken = previewRun(state, query(credits('2'), { runId: 'run-1' }), context());
    expect(taken.ok || taken.rejection.code).toBe('run_already_exists');
    expect(previewRun(state, query(credits('2'), { runId: 'run-2' }), context()).ok).toBe(true);
    expect(previewRun(state, query(credits('2')), context()).ok).toBe(true);
  });

  it('a preview followed by the accept reserves exactly what was quoted', () => {
    const state = openedAccount();
    const answer = previewRun(state, query(credits('24')), context());
    const decision = decide(acceptRunCommand('run-1', credits('24')), state, context());
    expect(answer.ok && decision.ok).toBe(true);
    if (!answer.ok || !decision.ok) return;
    const reserved = decision.events.find((e) => e.type === 'CreditsReserved');
    expect(reserved?.data).toMatchObject({ amount: answer.quote.estimatedCost });
  });
});
