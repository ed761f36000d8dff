import type { CommandOf, PreviewRunQuery } from '../commands';
import { event } from '../events';
import type { RejectionCode } from '../rejections';
import type { Principal } from './context';
import { decide, permissionOrder, previewRun, type PermissionCheck } from './index';
import { given, rejected, type Prior } from '../test/decider-spec';
import {
  ACCOUNT,
  NEXT_PERIOD,
  PERIOD,
  PROJECT,
  T0,
  DAY,
  acceptRunCommand,
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
  readonly code: RejectionCode;
  readonly check: PermissionCheck;
  readonly history: readonly Prior[];
  readonly command: CommandOf<'AcceptRun'>;
  readonly who?: Principal;
  readonly now?: string;
}

const good = () => acceptRunCommand('run-1', credits('24'));
const INCLUDED_ID = `included:${PERIOD.start}`;
const opened = openedAccountCommands();

/** RunAccepted and CreditsReserved, drawn from the included grant. */
const reserves = (command: CommandOf<'AcceptRun'>) => {
  const { accountId, runId, projectId, action, capabilityBand, estimatedCost } = command;
  return [
    event('RunAccepted', { accountId, runId, projectId, action, capabilityBand, estimatedCost }),
    event('CreditsReserved', {
      accountId,
      runId,
      projectId,
      amount: estimatedCost,
      draws: [{ grantId: INCLUDED_ID, amount: estimatedCost }],
    }),
  ];
};

/** Each step of the permission order, with the first way (or ways) it can fail, in order. */
const cases: Case[] = [
  {
    name: 'a dashboard key may not send commands',
    code: 'role_forbidden',
    check: 'identity',
    history: opened,
    command: good(),
    who: principal({ role: 'dashboard' }),
  },
  {
    name: 'an auditor key may not send commands',
    code: 'role_forbidden',
    check: 'identity',
    history: opened,
    command: good(),
    who: principal({ role: 'auditor' }),
  },
  {
    name: 'a key scoped to other accounts',
    code: 'identity_denied',
    check: 'identity',
    history: opened,
    command: good(),
    who: principal({ accounts: ['acct-2', 'acct-3'] }),
  },
  {
    name: 'an account that was never opened',
    code: 'account_not_found',
    check: 'account',
    history: [],
    command: good(),
  },
  {
    name: 'a suspended account',
    code: 'account_not_active',
    check: 'account_state',
    history: [...opened, cmd('SuspendAccount', { reason: 'unpaid invoice' })],
    command: good(),
  },
  {
    name: 'a closed account',
    code: 'account_closed',
    check: 'account_state',
    history: [...opened, cmd('CloseBillingAccount', {})],
    command: good(),
  },
  {
    name: 'no subscription',
    code: 'subscription_missing',
    check: 'plan',
    history: [
      cmd('OpenBillingAccount', { name: 'Acme' }),
      cmd('AttachProject', { projectId: PROJECT }),
      cmd('GrantCredits', { grantId: 'g1', source: 'manual', amount: credits('100') }),
    ],
    command: good(),
  },
  {
    name: 'the period has ended (at its very end)',
    code: 'subscription_period_ended',
    check: 'plan',
    history: opened,
    command: good(),
    now: PERIOD.end,
  },
  {
    name: 'no period has begun yet',
    code: 'subscription_period_not_started',
    check: 'plan',
    history: openedAccountCommands(defaultPlan(), NEXT_PERIOD),
    command: good(),
  },
  {
    name: 'a band the plan does not allow',
    code: 'capability_band_not_in_plan',
    check: 'plan',
    history: opened,
    command: acceptRunCommand('run-1', credits('24'), { capabilityBand: 'premium' }),
  },
  {
    name: 'a project not attached to the account',
    code: 'project_not_attached',
    check: 'project',
    history: opened,
    command: acceptRunCommand('run-1', credits('24'), { projectId: 'proj-z' }),
  },
  {
    name: 'an action the rate card does not price',
    code: 'action_unknown',
    check: 'action',
    history: opened,
    command: acceptRunCommand('run-1', credits('24'), { action: 'video.render' }),
  },
  {
    name: 'an action sent under another allowed band',
    code: 'action_band_mismatch',
    check: 'action',
    history: opened,
    command: acceptRunCommand('run-1', credits('24'), { action: 'agent.run', capabilityBand: 'standard' }),
  },
  {
    name: 'an estimate below the action minimum',
    code: 'action_cost_below_minimum',
    check: 'action',
    history: opened,
    command: acceptRunCommand('run-1', credits('0.9999')),
  },
  {
    name: 'a run id used already',
    code: 'run_already_exists',
    check: 'action',
    history: [...opened, acceptRunCommand('run-1', credits('2'))],
    command: good(),
  },
  {
    name: 'an estimate above available credits',
    code: 'insufficient_credits',
    check: 'credits',
    history: opened,
    command: acceptRunCommand('run-1', credits('500.0001')),
  },
  {
    name: 'an estimate only lapsed (not yet expired) credits could cover',
    code: 'insufficient_credits',
    check: 'credits',
    history: [
      ...opened,
      cmd('GrantCredits', { grantId: 'short', source: 'top_up', amount: credits('50'), expiresAt: at(T0, DAY) }),
    ],
    command: acceptRunCommand('run-1', credits('510')),
    now: at(T0, 2 * DAY),
  },
];

describe('AcceptRun: account(active) → plan → project → action → credits', () => {
  it('is identity → account → account_state → plan → project → action → credits', () => {
    expect(permissionOrder).toEqual(['identity', 'account', 'account_state', 'plan', 'project', 'action', 'credits']);
  });

  it.each(cases)('$check: $name → $code', ({ history, command, who, now, code, check }) => {
    given(history).when(command, { now, principal: who }).then(rejected(code, { check }));
  });

  it.each(cases)('preview answers the same: $code', ({ history, command, who, now, code, check }) => {
    const state = given(history).state;
    const before = picture(state);
    const { type: _type, ...query } = command;
    const answer = previewRun(state, query, context(now ?? T0, who ?? principal()));
    expect(answer.ok).toBe(false);
    if (answer.ok) return;
    expect(answer.rejection.code).toBe(code);
    expect(answer.rejection.details).toMatchObject({ check });
    expect(picture(state)).toBe(before);
  });

  it('the details say what the failing step saw', () => {
    given(opened)
      .when(acceptRunCommand('run-1', credits('24'), { capabilityBand: 'premium' }))
      .then(rejected('capability_band_not_in_plan', { allowed: ['standard', 'advanced'] }));
    given(opened)
      .when(acceptRunCommand('run-1', credits('0.9999')))
      .then(rejected('action_cost_below_minimum', { minimumCost: '1' }));
    given(opened)
      .when(acceptRunCommand('run-1', credits('500.0001')))
      .then(rejected('insufficient_credits', { available: '500', required: '500.0001' }));
  });

  it('accepts the same request once every step passes, exactly at the available balance', () => {
    const command = acceptRunCommand('run-1', credits('500'));
    given(opened)
      .when(command)
      .then(reserves(command))
      .buckets({ included: credits('500'), reserved: credits('500') });
  });

  it('accepts the minimum cost exactly, and a zero estimate is never below a zero minimum', () => {
    const minimum = acceptRunCommand('run-1', credits('1'));
    given(opened).when(minimum).then(reserves(minimum));
    const free = acceptRunCommand('run-2', credits('0.0001'), { action: 'agent.run', capabilityBand: 'advanced' });
    given(opened).when(free).then(reserves(free));
  });

  it('accepts a key scoped to this very account', () => {
    given(opened)
      .when(good(), { principal: principal({ accounts: ['other', ACCOUNT] }) })
      .then(reserves(good()));
  });

  it('accepts an admin key', () => {
    given(opened)
      .when(good(), { principal: principal({ role: 'admin' }) })
      .then(reserves(good()));
  });

  it('accepts one millisecond before the period ends', () => {
    given(opened)
      .when(good(), { now: at(PERIOD.end, -1) })
      .then(reserves(good()));
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
    const layered: Array<[PermissionCheck, RejectionCode, Prior[], Principal]> = [
      ['identity', 'role_forbidden', [], principal({ role: 'dashboard' })],
      ['identity', 'identity_denied', [], principal({ accounts: [] })],
      ['account', 'account_not_found', [], principal()],
      [
        'account_state',
        'account_not_active',
        [cmd('OpenBillingAccount', { name: 'Acme' }), cmd('SuspendAccount', {})],
        principal(),
      ],
      ['plan', 'subscription_missing', [cmd('OpenBillingAccount', { name: 'Acme' })], principal()],
      [
        'plan',
        'capability_band_not_in_plan',
        [
          cmd('OpenBillingAccount', { name: 'Acme' }),
          cmd('StartSubscription', { plan: defaultPlan(), period: PERIOD }),
        ],
        principal(),
      ],
    ];
    it.each(layered)('%s → %s', (check, code, history, who) => {
      given(history).when(everythingWrong, { principal: who }).then(rejected(code, { check }));
    });

    it('project before action before credits', () => {
      const subscribed = [
        cmd('OpenBillingAccount', { name: 'Acme' }),
        cmd('StartSubscription', { plan: defaultPlan(), period: PERIOD }),
      ];
      const ask = (overrides: Partial<CommandOf<'AcceptRun'>>) => ({
        ...everythingWrong,
        capabilityBand: 'standard',
        ...overrides,
      });
      given(subscribed)
        .when(ask({}))
        .then(rejected('project_not_attached', { check: 'project' }));
      const attached = given(subscribed, cmd('AttachProject', { projectId: 'proj-z' }));
      attached.when(ask({})).then(rejected('action_unknown', { check: 'action' }));
      attached.when(ask({ action: 'agent.run' })).then(rejected('action_band_mismatch', { check: 'action' }));
      attached
        .when(ask({ action: 'workflow.run', estimatedCost: credits('0.5') }))
        .then(rejected('action_cost_below_minimum', { check: 'action' }));
      attached.when(ask({ action: 'workflow.run' })).then(rejected('insufficient_credits', { check: 'credits' }));
      const fits = ask({ action: 'workflow.run', estimatedCost: credits('2') });
      attached.when(fits).then(reserves(fits));
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
