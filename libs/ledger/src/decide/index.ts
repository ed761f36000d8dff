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
import type { Decision, DecisionContext } from './context';
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
};

export function decide(command: LedgerCommand, state: AccountState, context: DecisionContext): Decision {
  const decider = deciders[command.type] as (s: AccountState, c: LedgerCommand, x: DecisionContext) => Decision;
  return decider(state, command, context);
}

export interface Quote {
  readonly estimatedCost: Credits;
  readonly available: Credits;
  readonly availableAfter: Credits;
  readonly creditPriceFen: Fen;
  /** The estimated cost's CNY value in fen, exact (a decimal string: fen may be fractional). */
  readonly estimatedValueFen: string;
}

/** PreviewRun: the same checks as AcceptRun and the quote it would reserve; appends nothing. */
export function previewRun(
  state: AccountState,
  query: PreviewRunQuery,
  context: DecisionContext,
): { ok: true; quote: Quote } | { ok: false; rejection: Rejection } {
  const admitted = admitRun(state, query, context);
  if (!admitted.ok) return admitted;
  const price = state.subscription!.plan.creditPriceFen;
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
