/**
 * Alert rules as decide/alerts.ts states them: defining and removing, and each kind firing once
 * per crossing, in the same decision as the events that crossed.
 */
import { commandSchemas } from '../commands';
import { compactState } from '../compact';
import { event } from '../events';
import { fold } from '../evolve';
import { decodeState, encodeState } from '../snapshot';
import { given, rejected } from '../test/decider-spec';
import {
  ACCOUNT,
  DAY,
  PERIOD,
  T0,
  acceptRunCommand,
  at,
  cmd,
  credits,
  defaultPlan,
  openedAccountCommands,
  runCommands,
} from '../test-support';
import { MAX_ALERT_RULES } from './alerts';

const ids = { accountId: ACCOUNT };
const rule = (ruleId: string, kind: Parameters<typeof defineOf>[1], threshold?: string) =>
  cmd('DefineAlertRule', { ruleId, kind, ...(threshold === undefined ? {} : { threshold }) });
const defineOf = (
  ruleId: string,
  kind:
    | 'available_below'
    | 'available_below_share'
    | 'settlement_threshold_reached'
    | 'credits_expiring'
    | 'commercial_exception'
    | 'account_suspended',
  threshold: string | null,
) => event('AlertRuleDefined', { ...ids, ruleId, kind, threshold });
const fired = (
  ruleId: string,
  kind: Parameters<typeof defineOf>[1],
  threshold: string | null,
  observed: string | null,
  subject: string | null = null,
) => event('AlertFired', { ...ids, ruleId, kind, threshold, observed, subject });
const cleared = (ruleId: string, kind: Parameters<typeof defineOf>[1]) =>
  event('AlertCleared', { ...ids, ruleId, kind });
const ofType = (...types: string[]) => types.map((type) => expect.objectContaining({ type }));

/** The account of the seed: 500 included credits, a plan at 1 CNY a credit and a 100 CNY threshold. */
const account = openedAccountCommands();

describe('DefineAlertRule: account(open) → threshold → alert_rule_conflict → alert_rule_limit', () => {
  it('records the rule with its threshold in canonical text', () => {
    given(account)
      .when(rule('low', 'available_below', '050.50'))
      .then([defineOf('low', 'available_below', '50.5')]);
    given(account)
      .when(rule('share', 'available_below_share', '0.250'))
      .then([defineOf('share', 'available_below_share', '0.25')]);
    given(account)
      .when(rule('soon', 'credits_expiring', '007'))
      .then([defineOf('soon', 'credits_expiring', '7')]);
  });

  it('the same definition again is accepted and records nothing; another is alert_rule_conflict', () => {
    const defined = [...account, rule('low', 'available_below', '50')];
    given(defined)
      .when(rule('low', 'available_below', '50.00'))
      .then([]);
    given(defined)
      .when(rule('low', 'available_below', '60'))
      .then(rejected('alert_rule_conflict', { kind: 'available_below', threshold: '50' }));
    given(defined).when(rule('low', 'account_suspended')).then(rejected('alert_rule_conflict'));
  });

  it('alert_rule_limit: an account holds a bounded number of rules', () => {
    const many = Array.from({ length: MAX_ALERT_RULES }, (_, i) => rule(`r${i}`, 'commercial_exception'));
    given(account, many).when(rule('one-more', 'commercial_exception')).then(rejected('alert_rule_limit'));
  });

  it.each([
    ['available_below', undefined, 'alert_threshold_invalid'],
    ['available_below', '0', 'amount_not_positive'],
    ['available_below', '-1', 'amount_negative'],
    ['available_below', '1.00001', 'amount_too_precise'],
    ['available_below', 'fifty', 'amount_invalid'],
    ['available_below_share', '0', 'alert_threshold_invalid'],
    ['available_below_share', '0.0', 'alert_threshold_invalid'],
    ['available_below_share', '1', 'alert_threshold_invalid'],
    ['available_below_share', '1.0', 'alert_threshold_invalid'],
    ['available_below_share', '.5', 'alert_threshold_invalid'],
    ['available_below_share', '0.1234567', 'alert_threshold_invalid'],
    ['credits_expiring', '0', 'alert_threshold_invalid'],
    ['credits_expiring', '366', 'alert_threshold_invalid'],
    ['credits_expiring', '1.5', 'alert_threshold_invalid'],
    ['account_suspended', '1', 'alert_threshold_invalid'],
    ['settlement_threshold_reached', '', 'alert_threshold_invalid'],
  ] as const)('%s with threshold %p: %s, at the edge and in the decider', (kind, threshold, code) => {
    const input = { accountId: ACCOUNT, ruleId: 'r', kind, ...(threshold === undefined ? {} : { threshold }) };
    const parsed = commandSchemas.DefineAlertRule.safeDecode(input);
    expect(parsed.success).toBe(false);
    const issue = parsed.error!.issues[0] as { path: unknown[]; params?: { code?: string } };
    expect(issue.path).toEqual(['threshold']);
    expect(issue.params?.code).toBe(code);
    given(account)
      .when({ type: 'DefineAlertRule', ...input })
      .then(rejected(code));
  });
});

describe('RemoveAlertRule: account(open) → alert_rule_not_found', () => {
  it('removes the rule; a firing rule goes without a clearing', () => {
    given(account, rule('low', 'available_below', '600'))
      .when(cmd('RemoveAlertRule', { ruleId: 'low' }))
      .then([event('AlertRuleRemoved', { ...ids, ruleId: 'low' })]);
  });

  it('alert_rule_not_found for a rule never defined, or removed already', () => {
    given(account)
      .when(cmd('RemoveAlertRule', { ruleId: 'low' }))
      .then(rejected('alert_rule_not_found'));
    given(account, rule('low', 'account_suspended'), cmd('RemoveAlertRule', { ruleId: 'low' }))
      .when(cmd('RemoveAlertRule', { ruleId: 'low' }))
      .then(rejected('alert_rule_not_found'));
  });
});

describe('available_below fires once per crossing, with the command that crossed', () => {
  const low = [...account, rule('low', 'available_below', '100')];

  it('fires at once when defined below, and not again while below', () => {
    const below = [...account, acceptRunCommand('run-1', credits('450'))];
    given(below)
      .when(rule('low', 'available_below', '100'))
      .then([defineOf('low', 'available_below', '100'), fired('low', 'available_below', '100', '50')]);
    given(below, rule('low', 'available_below', '100'))
      .when(acceptRunCommand('run-2', credits('10')))
      .then(ofType('RunAccepted', 'CreditsReserved'));
  });

  it('fires in the append of the reservation that crossed, clears when credits come back, fires again', () => {
    const crossed = given(low)
      .when(acceptRunCommand('run-1', credits('401')))
      .then([...ofType('RunAccepted', 'CreditsReserved'), fired('low', 'available_below', '100', '99')]);
    expect(crossed.state.alertRules.get('low')?.firing).toBe(true);
    const afterCrossing = [...low, acceptRunCommand('run-1', credits('401'))];
    given(afterCrossing)
      .when(cmd('FailRun', { runId: 'run-1' }))
      .then([...ofType('ReservationReleased', 'RunFailed'), cleared('low', 'available_below')]);
    given(afterCrossing, cmd('FailRun', { runId: 'run-1' }))
      .when(acceptRunCommand('run-2', credits('450')))
      .then([...ofType('RunAccepted', 'CreditsReserved'), fired('low', 'available_below', '100', '50')]);
  });

  it('exactly at the threshold is not below it', () => {
    given(low)
      .when(acceptRunCommand('run-1', credits('400')))
      .then(ofType('RunAccepted', 'CreditsReserved'));
  });
});

describe('available_below_share: available < share × the plan’s included credits per period', () => {
  it('fires below 20 % of 500 included credits, i.e. below 100', () => {
    const share = [...account, rule('share', 'available_below_share', '0.2')];
    given(share)
      .when(acceptRunCommand('run-1', credits('400')))
      .then(ofType('RunAccepted', 'CreditsReserved'));
    given(share)
      .when(acceptRunCommand('run-1', credits('400.0001')))
      .then([...ofType('RunAccepted', 'CreditsReserved'), fired('share', 'available_below_share', '0.2', '99.9999')]);
  });

  it('holds only while a period is current: it clears when the period ends unrenewed', () => {
    const firing = [
      ...account,
      acceptRunCommand('run-1', credits('450')),
      rule('share', 'available_below_share', '0.2'),
    ];
    given(firing)
      .when(cmd('ExpireCredits', {}), { now: PERIOD.end })
      .then([...ofType('CreditsExpired'), cleared('share', 'available_below_share')]);
  });

  it('does not hold on a plan without included credits', () => {
    const none = openedAccountCommands(defaultPlan({ includedCredits: 0n }));
    given(none)
      .when(rule('share', 'available_below_share', '0.5'))
      .then([defineOf('share', 'available_below_share', '0.5')]);
  });
});

describe('settlement_threshold_reached: held value ≥ the plan’s threshold', () => {
  it('fires with the hold that reaches 100 CNY and clears with its payout', () => {
    const completed = [
      ...account,
      rule('payout', 'settlement_threshold_reached'),
      acceptRunCommand('run-1', credits('150')),
      cmd('CompleteRun', { runId: 'run-1', actualCost: credits('150') }),
    ];
    const hold = cmd('PlaceSettlementHold', {
      holdId: 'h-1',
      runId: 'run-1',
      provider: 'openai',
      amount: credits('99.99'),
    });
    given(completed).when(hold).then(ofType('SettlementHoldPlaced'));
    given(completed)
      .when({ ...hold, amount: credits('100') })
      .then([...ofType('SettlementHoldPlaced'), fired('payout', 'settlement_threshold_reached', null, '10000')]);
    given(completed, { ...hold, amount: credits('100') })
      .when(cmd('ReleaseSettlementHold', { holdId: 'h-1', outcome: 'paid_out' }))
      .then([...ofType('SettlementHoldReleased'), cleared('payout', 'settlement_threshold_reached')]);
  });
});

describe('credits_expiring: free credits lapsing within N days of now', () => {
  const expiresAt = at(T0, 20 * DAY);
  const topUp = cmd('GrantCredits', { grantId: 'top-1', source: 'top_up', amount: credits('30'), expiresAt });
  const soon = [...account, topUp, rule('soon', 'credits_expiring', '7')];

  it('fires on the first command at or after expiresAt − N days, naming the grant and its credits', () => {
    given(soon)
      .when(cmd('ExpireCredits', {}), { now: at(expiresAt, -7 * DAY - 1) })
      .then([]);
    given(soon)
      .when(cmd('ExpireCredits', {}), { now: at(expiresAt, -7 * DAY) })
      .then([fired('soon', 'credits_expiring', '7', '30', 'top-1')]);
  });

  it('clears when the credits lapse, or are spent', () => {
    const firing = [...soon, { command: cmd('ExpireCredits', {}), now: at(expiresAt, -DAY) }];
    given(firing)
      .when(cmd('ExpireCredits', {}), { now: expiresAt })
      .then([...ofType('CreditsExpired'), cleared('soon', 'credits_expiring')]);
    // the top-up expires first, so it is drawn first
    given(firing)
      .when(acceptRunCommand('run-1', credits('30')), { now: at(expiresAt, -DAY) })
      .then([...ofType('RunAccepted', 'CreditsReserved'), cleared('soon', 'credits_expiring')]);
  });

  it('names the grant expiring soonest and counts every grant in the window', () => {
    const second = cmd('GrantCredits', {
      grantId: 'top-0',
      source: 'top_up',
      amount: credits('5'),
      expiresAt: at(expiresAt, -DAY),
    });
    given(soon, second)
      .when(cmd('ExpireCredits', {}), { now: at(expiresAt, -2 * DAY) })
      .then([fired('soon', 'credits_expiring', '7', '35', 'top-0')]);
  });
});

describe('commercial_exception and account_suspended', () => {
  it('commercial_exception fires on each exception, naming the run and the amount, and never clears', () => {
    const broke = [...account, rule('owed', 'commercial_exception'), acceptRunCommand('run-1', credits('500'))];
    const once = given(broke)
      .when(cmd('CompleteRun', { runId: 'run-1', actualCost: credits('512.5') }))
      .then([
        ...ofType('CreditsConsumed', 'RunCompleted', 'CommercialExceptionRecorded'),
        fired('owed', 'commercial_exception', null, '12.5', 'run-1'),
      ]);
    expect(once.state.alertRules.get('owed')?.firing).toBe(false);
    given(
      broke,
      cmd('CompleteRun', { runId: 'run-1', actualCost: credits('512.5') }),
      cmd('GrantCredits', { grantId: 'g', source: 'manual', amount: credits('1') }),
      acceptRunCommand('run-2', credits('1')),
    )
      .when(cmd('CompleteRun', { runId: 'run-2', actualCost: credits('3') }))
      .then([
        ...ofType('CreditsConsumed', 'RunCompleted', 'CommercialExceptionRecorded'),
        fired('owed', 'commercial_exception', null, '2', 'run-2'),
      ]);
  });

  it('account_suspended fires on suspension, clears on reactivation, and fires at once if defined while suspended', () => {
    const watched = [...account, rule('off', 'account_suspended')];
    given(watched)
      .when(cmd('SuspendAccount', { reason: 'unpaid' }))
      .then([event('AccountSuspended', { ...ids, reason: 'unpaid' }), fired('off', 'account_suspended', null, null)]);
    given(watched, cmd('SuspendAccount', {}))
      .when(cmd('ReactivateAccount', {}))
      .then([event('AccountReactivated', ids), cleared('off', 'account_suspended')]);
    given(account, cmd('SuspendAccount', {}))
      .when(rule('off', 'account_suspended'))
      .then([defineOf('off', 'account_suspended', null), fired('off', 'account_suspended', null, null)]);
  });

  it('closing the account clears whatever fires', () => {
    given(account, rule('low', 'available_below', '1000'))
      .when(cmd('CloseBillingAccount', {}))
      .then([...ofType('CreditsExpired', 'BillingAccountClosed'), cleared('low', 'available_below')]);
  });
});

describe('rules survive compaction and snapshots', () => {
  it('keeps every rule and its firing state', () => {
    const { state } = runCommands([
      ...account,
      rule('low', 'available_below', '100'),
      rule('owed', 'commercial_exception'),
      acceptRunCommand('run-1', credits('450')),
      cmd('FailRun', { runId: 'run-1' }),
      acceptRunCommand('run-2', credits('450')),
    ]);
    const rules = [...state.alertRules.values()];
    expect(rules.map((r) => [r.ruleId, r.firing])).toEqual([
      ['low', true],
      ['owed', false],
    ]);
    expect(compactState(state, at(T0, 40 * DAY))).toBeGreaterThan(0);
    expect([...state.alertRules.values()]).toEqual(rules);
    expect([...decodeState(encodeState(state)).alertRules.values()]).toEqual(rules);
    expect(fold([]).alertRules.size).toBe(0);
  });
});
