import type { CommandOf } from '../commands';
import { event, type LedgerEvent } from '../events';
import { periodIsValid, planTermsProblem, type Period, type PlanTerms } from '../plan';
import { MAX_ACCOUNT_CREDITS } from '../money';
import { granted, type AccountState } from '../state';
import { accepted, checkAccount, rejected, type Decision, type DecisionContext } from './context';
import { expireAtRenewal } from './draws';

function termsFailure(plan: PlanTerms | undefined, period: Period | undefined): Decision | undefined {
  const problem = plan && planTermsProblem(plan);
  if (problem) return rejected('plan_invalid', problem);
  if (period && !periodIsValid(period)) {
    return rejected('period_invalid', `the period ends (${period.end}) before it starts (${period.start})`);
  }
  return undefined;
}

/** Grant ids of a plan's included credits are `included:<period start>`; callers may not use them. */
export const INCLUDED_GRANT_PREFIX = 'included:';

/** The plan's included credits for one period, lapsing when the period ends. */
function includedGrant(accountId: string, plan: PlanTerms, period: Period): LedgerEvent[] {
  if (plan.includedCredits === 0n) return [];
  return [
    event('CreditsGranted', {
      accountId,
      grantId: `${INCLUDED_GRANT_PREFIX}${period.start}`,
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
  if (granted(state) + subscription.plan.includedCredits > MAX_ACCOUNT_CREDITS) {
    return rejected('account_credit_limit', 'the new period’s included credits would pass the account’s credit limit');
  }
  // The old period's unused allowance ends with it, even when the renewal comes early; other grants
  // expire only once they have lapsed.
  return accepted(
    event('SubscriptionPeriodRenewed', { accountId, period }),
    ...expireAtRenewal(state, accountId, context.now),
    ...includedGrant(accountId, subscription.plan, period),
  );
}
