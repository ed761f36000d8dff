/**
 * The permission order of AcceptRun and PreviewRun — identity → account → account_state → plan →
 * project → action → credits — the first failing step is the answer.
 */
import { isArchived } from '../archive';
import type { CommandOf } from '../commands';
import type { Credits } from '../money';
import type { RateCardEntry } from '../plan';
import { currentPeriod, spendableAt, type AccountState } from '../state';
import { checkAccount, rejected, type Decision, type DecisionContext } from './context';
import { formatCredits } from '../money';

export const permissionOrder = [
  'identity',
  'account',
  'account_state',
  'plan',
  'project',
  'action',
  'credits',
] as const;
export type PermissionCheck = (typeof permissionOrder)[number];

export type RunRequest = Omit<CommandOf<'AcceptRun'>, 'type' | 'runId'> & { runId?: string };

export interface Admission {
  readonly rate: RateCardEntry;
  /** Credits the run may reserve from: free and not lapsed. */
  readonly spendable: Credits;
}

export function admitRun(
  state: AccountState,
  request: RunRequest,
  context: DecisionContext,
): { ok: true; admission: Admission } | Extract<Decision, { ok: false }> {
  const accountFailure = checkAccount(state, request.accountId, context, 'active');
  if (accountFailure) return accountFailure as Extract<Decision, { ok: false }>;

  const fail = (code: Parameters<typeof rejected>[0], check: PermissionCheck, message: string, details = {}) =>
    rejected(code, message, { check, ...details }) as Extract<Decision, { ok: false }>;

  const subscription = state.subscription;
  if (!subscription) return fail('subscription_missing', 'plan', 'the account has no subscription');
  if (!currentPeriod(subscription, context.now)) {
    return context.now >= subscription.period.end
      ? fail('subscription_period_ended', 'plan', `the subscription period ended at ${subscription.period.end}`)
      : fail('subscription_period_not_started', 'plan', `no subscription period has begun by ${context.now}`);
  }
  if (!subscription.plan.capabilityBands.includes(request.capabilityBand)) {
    return fail(
      'capability_band_not_in_plan',
      'plan',
      `plan "${subscription.plan.planId}" does not allow capability band "${request.capabilityBand}"`,
      { allowed: subscription.plan.capabilityBands },
    );
  }
  if (!state.projects.has(request.projectId)) {
    return fail('project_not_attached', 'project', `project "${request.projectId}" is not attached to this account`);
  }
  const rate = subscription.plan.rateCard.find((entry) => entry.action === request.action);
  if (!rate)
    return fail('action_unknown', 'action', `plan "${subscription.plan.planId}" does not price "${request.action}"`);
  if (rate.capabilityBand !== request.capabilityBand) {
    return fail(
      'action_band_mismatch',
      'action',
      `action "${rate.action}" is in band "${rate.capabilityBand}", not "${request.capabilityBand}"`,
    );
  }
  if (request.estimatedCost < rate.minimumCost) {
    return fail(
      'action_cost_below_minimum',
      'action',
      `action "${rate.action}" reserves at least ${formatCredits(rate.minimumCost)} credits`,
      { minimumCost: formatCredits(rate.minimumCost) },
    );
  }
  if (request.runId !== undefined && state.runs.has(request.runId)) {
    return fail('run_already_exists', 'action', `run "${request.runId}" was accepted already`);
  }
  if (request.runId !== undefined && isArchived(state.archived, 'run', request.runId)) {
    return fail('run_archived', 'action', `run "${request.runId}" was accepted before, finished and archived`);
  }
  const spendable = spendableAt(state, context.now);
  if (spendable < request.estimatedCost) {
    return fail(
      'insufficient_credits',
      'credits',
      `${formatCredits(spendable)} credits are available; the run needs ${formatCredits(request.estimatedCost)}`,
      { available: formatCredits(spendable), required: formatCredits(request.estimatedCost) },
    );
  }
  return { ok: true, admission: { rate, spendable } };
}
