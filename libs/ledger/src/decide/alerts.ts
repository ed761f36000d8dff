/**
 * Alert rules: defining and removing them, and judging them after every accepted command.
 *
 * A condition rule (every kind but commercial_exception) fires when its condition starts to hold
 * and clears when it stops. Whether it is firing is part of the account's state, and the account's
 * commands are decided one at a time, so each crossing is recorded exactly once, by the command
 * that made it — in the same append as the money movement that crossed. Conditions are judged on
 * the state the command leaves, at the command's `now`:
 * - available_below: available credits < the threshold;
 * - available_below_share: available credits < share × the plan's included credits per period,
 *   while a subscription period is current (with none current, or a plan without included
 *   credits, there is nothing to take a share of: the condition does not hold). A plan change
 *   moves the threshold at once;
 * - settlement_threshold_reached: held credits' value reaches the plan's settlement threshold;
 * - credits_expiring: some grant's free credits lapse within N days of now (its expiry is after
 *   now and at most N days away). Time alone makes this one hold: the grant scheduler sends a
 *   command at `expiresAt − N days`, which records the firing;
 * - account_suspended: the account is suspended (it clears on reactivation).
 * A closed account has no conditions: whatever fires clears when it closes.
 * commercial_exception fires once for each CommercialExceptionRecorded, and never clears.
 */
import { readThreshold, storedThreshold } from '../alert-thresholds';
import { isConditionKind, type CommandOf } from '../commands';
import { event, type LedgerEvent } from '../events';
import { cloneState, fold } from '../evolve';
import type { Instant } from '../fields';
import { formatCredits, formatFen } from '../money';
import { bucketsOf, currentPeriod, settlementPosition, type AccountState, type AlertRule } from '../state';
import { accepted, checkAccount, rejected, type Decision, type DecisionContext } from './context';
import { drawOrder } from '../draw-order';

/** The most rules one account may hold: each is judged after every command. */
export const MAX_ALERT_RULES = 50;
const DAY_MS = 24 * 60 * 60 * 1000;

export function defineAlertRule(
  state: AccountState,
  command: CommandOf<'DefineAlertRule'>,
  context: DecisionContext,
): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open');
  if (failure) return failure;
  const { accountId, ruleId, kind } = command;
  const reading = readThreshold(kind, command.threshold);
  if (!reading.ok) return rejected(reading.problem, reading.message);
  const existing = state.alertRules.get(ruleId);
  if (existing) {
    if (existing.kind === kind && existing.threshold === reading.text) return accepted();
    return rejected(
      'alert_rule_conflict',
      `alert rule "${ruleId}" is defined as ${existing.kind}${existing.threshold === null ? '' : ` ${existing.threshold}`}; remove it first`,
      { kind: existing.kind, threshold: existing.threshold },
    );
  }
  if (state.alertRules.size >= MAX_ALERT_RULES) {
    return rejected('alert_rule_limit', `an account may have at most ${MAX_ALERT_RULES} alert rules`);
  }
  return accepted(event('AlertRuleDefined', { accountId, ruleId, kind, threshold: reading.text }));
}

export function removeAlertRule(
  state: AccountState,
  command: CommandOf<'RemoveAlertRule'>,
  context: DecisionContext,
): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open');
  if (failure) return failure;
  if (!state.alertRules.has(command.ruleId)) {
    return rejected('alert_rule_not_found', `there is no alert rule "${command.ruleId}"`);
  }
  return accepted(event('AlertRuleRemoved', { accountId: command.accountId, ruleId: command.ruleId }));
}

/** What a condition rule sees when it holds: the figure that crossed, and what it is about. */
interface Observation {
  readonly observed: string | null;
  readonly subject: string | null;
}

const plus = (now: Instant, ms: number): Instant => new Date(Date.parse(now) + ms).toISOString();

/** The rule's condition on `state` at `now`: what it observes when it holds, undefined when not. */
export function conditionOf(state: AccountState, rule: AlertRule, now: Instant): Observation | undefined {
  if (state.status === 'closed') return undefined;
  const threshold = storedThreshold(rule.kind, rule.threshold);
  switch (threshold.kind) {
    case 'available_below': {
      const { available } = bucketsOf(state);
      return available < threshold.credits ? { observed: formatCredits(available), subject: null } : undefined;
    }
    case 'available_below_share': {
      const subscription = state.subscription;
      if (!subscription || !currentPeriod(subscription, now)) return undefined;
      const included = subscription.plan.includedCredits;
      const { available } = bucketsOf(state);
      const { numerator, scale } = threshold.share;
      // available < included × numerator / scale, in whole numbers
      return included > 0n && available * scale < included * numerator
        ? { observed: formatCredits(available), subject: null }
        : undefined;
    }
    case 'settlement_threshold_reached': {
      const position = settlementPosition(state);
      return position?.reached ? { observed: formatFen(position.heldValueFen), subject: null } : undefined;
    }
    case 'credits_expiring': {
      const horizon = plus(now, threshold.days * DAY_MS);
      const expiring = [...state.grants.values()]
        .filter((grant) => grant.free > 0n && grant.expiresAt !== null && grant.expiresAt > now)
        .filter((grant) => grant.expiresAt! <= horizon)
        .sort(drawOrder);
      const [soonest] = expiring;
      if (!soonest) return undefined;
      const total = expiring.reduce((sum, grant) => sum + grant.free, 0n);
      return { observed: formatCredits(total), subject: soonest.grantId };
    }
    case 'account_suspended':
      return state.status === 'suspended' ? { observed: null, subject: null } : undefined;
    case 'commercial_exception':
      return undefined;
  }
}

/**
 * The firings and clearings a decision's events cause, to be appended after them. `state` is the
 * state before the decision; only an account with rules (or defining one) pays for the fold.
 */
export function alertsAfter(state: AccountState, events: readonly LedgerEvent[], now: Instant): LedgerEvent[] {
  const after = fold(events, cloneState(state));
  if (after.alertRules.size === 0 || after.accountId === null) return [];
  const accountId = after.accountId;
  const alerts: LedgerEvent[] = [];
  for (const rule of after.alertRules.values()) {
    const { ruleId, kind, threshold } = rule;
    if (!isConditionKind(kind)) {
      for (const recorded of events) {
        if (recorded.type !== 'CommercialExceptionRecorded') continue;
        const { amount, runId } = recorded.data;
        alerts.push(
          event('AlertFired', { accountId, ruleId, kind, threshold, observed: formatCredits(amount), subject: runId }),
        );
      }
      continue;
    }
    const holds = conditionOf(after, rule, now);
    if (holds && !rule.firing) alerts.push(event('AlertFired', { accountId, ruleId, kind, threshold, ...holds }));
    else if (!holds && rule.firing) alerts.push(event('AlertCleared', { accountId, ruleId, kind }));
  }
  return alerts;
}
