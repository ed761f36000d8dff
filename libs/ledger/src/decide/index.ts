/**
 * decide(command, state, context) → events | rejection: the whole of the ledger's judgement.
 * Pure: the same command, state and context always give the same answer, and nothing is mutated.
 */
import type { CommandOf, CommandType, LedgerCommand, PreviewRunQuery } from '../commands';
import { creditValueInFen, type Credits, type Fen } from '../money';
import type { Rejection } from '../rejections';
import type { AccountState } from '../state';
import { closeBillingAccount, openBillingAccount, reactivateAccount, suspendAccount, attachProject } from './account';
import { admitRun } from './admission';
import { alertsAfter, defineAlertRule, removeAlertRule } from './alerts';
import { accepted, type Decision, type DecisionContext } from './context';
import { caughtUp } from './clock';
import { expireCredits, grantCredits } from './credits';
import { acceptRun, cancelRun, completeRun, failRun } from './runs';
import { placeSettlementHold, releaseSettlementHold } from './settlement';
import { changePlan, renewSubscriptionPeriod, startSubscription } from './subscription';

type Deciders = {
  [T in CommandType]: (state: AccountState, command: CommandOf<T>, context: DecisionContext) => Decision;
};

const deciders: Deciders = {
  OpenBillingAccount: openBillingAccount,
  StartSubscription: startSubscription,
  ChangePlan: changePlan,
  RenewSubscriptionPeriod: renewSubscriptionPeriod,
  AttachProject: attachProject,
  GrantCredits: grantCredits,
  ExpireCredits: expireCredits,
  AcceptRun: acceptRun,
  CompleteRun: completeRun,
  FailRun: failRun,
  CancelRun: cancelRun,
  PlaceSettlementHold: placeSettlementHold,
  ReleaseSettlementHold: releaseSettlementHold,
  SuspendAccount: suspendAccount,
  ReactivateAccount: reactivateAccount,
  CloseBillingAccount: closeBillingAccount,
  DefineAlertRule: defineAlertRule,
  RemoveAlertRule: removeAlertRule,
};

/**
 * Every command on an open account is decided on the state time has left it in: what fell due by
 * `now` (grants taking effect, credits lapsing) is recorded first, in the same append, whenever the
 * command is accepted. A rejected command appends nothing, what fell due included. The account's
 * alert rules are judged last, on the state all of that leaves (decide/alerts.ts).
 */
export function decide(command: LedgerCommand, state: AccountState, context: DecisionContext): Decision {
  const decider = deciders[command.type] as (s: AccountState, c: LedgerCommand, x: DecisionContext) => Decision;
  const { due, current } = caughtUp(state, command.accountId, context.now);
  const decision = decider(current, command, context);
  if (!decision.ok) return decision;
  const events = due.length > 0 ? [...due, ...decision.events] : decision.events;
  // The hot path: an account without rules pays this one check.
  if (state.alertRules.size === 0 && command.type !== 'DefineAlertRule') {
    return due.length > 0 ? accepted(...events) : decision;
  }
  return accepted(...events, ...alertsAfter(state, events, context.now));
}

export interface Quote {
  readonly estimatedCost: Credits;
  readonly available: Credits;
  readonly availableAfter: Credits;
  readonly creditPriceFen: Fen;
  /** The estimated cost's CNY value in whole fen, rounded down (money.ts, creditValueInFen). */
  readonly estimatedValueFen: Fen;
}

/** PreviewRun: the same checks as AcceptRun and the quote it would reserve; appends nothing. */
export function previewRun(
  state: AccountState,
  query: PreviewRunQuery,
  context: DecisionContext,
): { ok: true; quote: Quote } | { ok: false; rejection: Rejection } {
  const { current } = caughtUp(state, query.accountId, context.now);
  const admitted = admitRun(current, query, context);
  if (!admitted.ok) return admitted;
  const price = current.subscription!.plan.creditPriceFen;
  return {
    ok: true,
    quote: {
      estimatedCost: query.estimatedCost,
      available: admitted.admission.spendable,
      availableAfter: admitted.admission.spendable - query.estimatedCost,
      creditPriceFen: price,
      estimatedValueFen: creditValueInFen(query.estimatedCost, price),
    },
  };
}

export { permissionOrder, type PermissionCheck } from './admission';
export { mayActFor, roles, type Decision, type DecisionContext, type Principal, type Role } from './context';
export { archiveLookups } from './archive-lookups';
