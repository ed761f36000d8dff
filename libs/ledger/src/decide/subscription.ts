import type { CommandOf } from '../commands';
import { event, type LedgerEvent } from '../events';
import { periodIsValid, planTermsProblem, type Period, type PlanTerms } from '../plan';
import type { AccountState } from '../state';
import { accepted, checkAccount, rejected, type Decision, type DecisionContext } from './context';
import { expireLapsed } from './draws';

function termsFailure(plan: PlanTerms | undefined, period: Period | undefined): Decision | undefined {
  const problem = plan && planTermsProblem(plan);
  if (problem) return rejected('plan_invalid', problem);
  if (period && !periodIsValid(period)) {
    return rejected('period_invalid', `the period ends (${period.end}) before it starts (${period.start})`);
  }
  return undefined;
}

/** The plan's included credits for one period, lapsing when the period ends. */
function includedGrant(accountId: string, plan: PlanTerms, period: Period): LedgerEvent[] {
  if (plan.includedCredits === 0n) return [];
  return [
    event('CreditsGranted', {
      accountId,
      grantId: `included:${period.start}`,
      source: 'plan_included',
      amount: plan.includedCredits,
      expiresAt: period.end,
      projectId: null,
      reason: `${plan.name}: included credits for the period from ${period.start}`,
    }),
  ];
}

export function startSubscription(
  state: AccountState,
  command: CommandOf<'StartSubscription'>,
  context: DecisionContext,
): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open') ?? termsFailure(command.plan, command.period);
  if (failure) return failure;
  if (state.subscription) {
    return rejected('subscription_already_started', `the account is subscribed to "${state.subscription.plan.planId}"`);
  }
  const { accountId, plan, period } = command;
  return accepted(event('SubscriptionStarted', { accountId, plan, period }), ...includedGrant(accountId, plan, period));
}

/** A plan change applies to bands, rate card and CNY terms at once; its included credits from the next period. */
export function changePlan(state: AccountState, command: CommandOf<'ChangePlan'>, context: DecisionContext): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open') ?? termsFailure(command.plan, undefined);
  if (failure) return failure;
  if (!state.subscription) return rejected('subscription_missing', 'the account has no subscription to change');
  return accepted(event('PlanChanged', { accountId: command.accountId, plan: command.plan }));
}

export function renewSubscriptionPeriod(
  state: AccountState,
  command: CommandOf<'RenewSubscriptionPeriod'>,
  context: DecisionContext,
): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open') ?? termsFailure(undefined, command.period);
  if (failure) return failure;
  const subscription = state.subscription;
  if (!subscription) return rejected('subscription_missing', 'the account has no subscription to renew');
  if (command.period.start < subscription.period.end) {
    return rejected(
      'period_not_after_current',
      `the new period starts ${command.period.start}, before the current one ends (${subscription.period.end})`,
    );
  }
  const { accountId, period } = command;
  // The old period's included credits lapse at its end; expiring everything lapsed at the new
  // period's start (or now, if later) retires them before the new allowance is granted.
  const asOf = context.now > period.start ? context.now : period.start;
  return accepted(
    event('SubscriptionPeriodRenewed', { accountId, period }),
    ...expireLapsed(state, accountId, asOf),
    ...includedGrant(accountId, subscription.plan, period),
  );
}
