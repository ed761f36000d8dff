import { isArchived } from '../archive';
import type { CommandOf } from '../commands';
import { event } from '../events';
import { formatCredits, MAX_ACCOUNT_CREDITS } from '../money';
import { granted, scheduled, type AccountState } from '../state';
import { accepted, checkAccount, rejected, type Decision, type DecisionContext } from './context';
import { scheduledStart } from './clock';
import { INCLUDED_GRANT_PREFIX } from './subscription';

export function grantCredits(
  state: AccountState,
  command: CommandOf<'GrantCredits'>,
  context: DecisionContext,
): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open');
  if (failure) return failure;
  const { accountId, grantId, source, amount } = command;
  if (state.grantIds.has(grantId) || isArchived(state.archived, 'grant', grantId))
    return rejected('grant_already_exists', `grant "${grantId}" exists already`);
  // A later StartSubscription or renewal would grant this very id and could not be recorded.
  if (grantId.startsWith(INCLUDED_GRANT_PREFIX)) {
    return rejected(
      'grant_id_reserved',
      `grant ids starting with "${INCLUDED_GRANT_PREFIX}" are reserved for a plan's included credits`,
    );
  }
  if (command.projectId !== undefined && !state.projects.has(command.projectId)) {
    return rejected('project_not_attached', `project "${command.projectId}" is not attached to this account`);
  }
  if (command.expiresAt !== undefined && command.expiresAt <= context.now) {
    return rejected('grant_expiry_not_in_future', `the grant would expire at ${command.expiresAt}, which has passed`);
  }
  if (
    command.effectiveAt !== undefined &&
    command.expiresAt !== undefined &&
    command.effectiveAt >= command.expiresAt
  ) {
    return rejected(
      'grant_window_invalid',
      `the grant would take effect at ${command.effectiveAt}, not before it expires (${command.expiresAt})`,
    );
  }
  if (granted(state) + scheduled(state) + amount > MAX_ACCOUNT_CREDITS) {
    return rejected(
      'account_credit_limit',
      `an account may be granted at most ${formatCredits(MAX_ACCOUNT_CREDITS)} credits in all`,
    );
  }
  return accepted(
    event('CreditsGranted', {
      accountId,
      grantId,
      source,
      amount,
      effectiveAt: scheduledStart(command.effectiveAt, context.now),
      expiresAt: command.expiresAt ?? null,
      projectId: command.projectId ?? null,
      reason: command.reason ?? null,
    }),
  );
}

/**
 * Records whatever time has done to the account by now — scheduled grants taking effect, lapsed
 * credits expiring — which `decide` puts before every accepted command; on its own, this command
 * appends exactly that, and nothing when nothing is due. `asOf` may not be in the future.
 */
export function expireCredits(
  state: AccountState,
  command: CommandOf<'ExpireCredits'>,
  context: DecisionContext,
): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open');
  if (failure) return failure;
  if (command.asOf !== undefined && command.asOf > context.now) {
    return rejected('as_of_in_future', `credits cannot be expired as of ${command.asOf}, after now (${context.now})`);
  }
  return accepted();
}
