import type { CommandOf } from '../commands';
import { event, type LedgerEvent } from '../events';
import { periodIsValid, planTermsProblem, type Period, type PlanTerms } from '../plan';
import { MAX_ACCOUNT_CREDITS } from '../money';
import { granted, scheduled, type AccountState } from '../state';
import { accepted, checkAccount, rejected, type Decision, type DecisionContext } from './context';
import { scheduledStart } from './clock';

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

/**
 * The plan's included credits for one period: in effect from the period's start (scheduled, when
 * it is still to come) and lapsing at its end.
 */
function includedGrant(accountId: string, plan: PlanTerms, period: Period, now: string): LedgerEvent[] {
  if (plan.includedCredits === 0n) return [];
  return [
    event('CreditsGranted', {
      accountId,
      grantId: `${INCLUDED_GRANT_PREFIX}${period.start}`,
      source: 'plan_included',
      amount: plan.includedCredits,
      effectiveAt: scheduledStart(period.start, now),
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
  const refused = periodEnded(period, context) ?? creditLimitFailure(state, plan);
  if (refused) return refused;
  return accepted(
    event('SubscriptionStarted', { accountId, plan, period }),
    ...includedGrant(accountId, plan, period, context.now),
  );
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
  // One period ahead at most: the period renewed last must have begun before the next is renewed.
  if (context.now < subscription.period.start) {
    return rejected(
      'period_already_renewed',
      `the period from ${subscription.period.start} is renewed already and has not begun; renew again once it has`,
    );
  }
  if (command.period.start < subscription.period.end) {
    return rejected(
      'period_not_after_current',
      `the new period starts ${command.period.start}, before the current one ends (${subscription.period.end})`,
    );
  }
  const refused = periodEnded(command.period, context) ?? creditLimitFailure(state, subscription.plan);
  if (refused) return refused;
  const { accountId, period } = command;
  // The current period's included credits are not touched: they lapse at its end, on time, like
  // every grant; the new period's take effect at its start.
  return accepted(
    event('SubscriptionPeriodRenewed', { accountId, period }),
    ...includedGrant(accountId, subscription.plan, period, context.now),
  );
}

/** A period's included credits count toward the most an account may ever be granted, like any grant. */
function creditLimitFailure(state: AccountState, plan: PlanTerms): Decision | undefined {
  return granted(state) + scheduled(state) + plan.includedCredits > MAX_ACCOUNT_CREDITS
    ? rejected('account_credit_limit', 'the period’s included credits would pass the account’s credit limit')
    : undefined;
}

/** A period that is over by now cannot be started or renewed: its credits would lapse unused. */
function periodEnded(period: Period, { now }: DecisionContext): Decision | undefined {
  return period.end <= now
    ? rejected('period_already_ended', `the period ended at ${period.end}, before now (${now})`)
    : undefined;
}
