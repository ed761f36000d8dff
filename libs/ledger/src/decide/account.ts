import type { CommandOf } from '../commands';
import { event } from '../events';
import type { AccountState } from '../state';
import { closingOf } from './clock';
import {
  accepted,
  checkAccount,
  mayActFor,
  maySendCommands,
  rejected,
  type Decision,
  type DecisionContext,
} from './context';

export function openBillingAccount(
  state: AccountState,
  { accountId, name }: CommandOf<'OpenBillingAccount'>,
  { principal }: DecisionContext,
): Decision {
  if (!maySendCommands(principal)) {
    return rejected('role_forbidden', `a ${principal.role} key may not send commands`, { check: 'identity' });
  }
  if (!mayActFor(principal, accountId)) {
    return rejected('identity_denied', `${principal.id} may not act for account ${accountId}`, { check: 'identity' });
  }
  if (state.status !== 'unopened') {
    return rejected('account_already_exists', `billing account "${accountId}" exists already`);
  }
  return accepted(event('BillingAccountOpened', { accountId, name }));
}

export function attachProject(
  state: AccountState,
  command: CommandOf<'AttachProject'>,
  context: DecisionContext,
): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open');
  if (failure) return failure;
  if (state.projects.has(command.projectId)) {
    return rejected('project_already_attached', `project "${command.projectId}" is attached already`);
  }
  return accepted(
    event('ProjectAttached', {
      accountId: command.accountId,
      projectId: command.projectId,
      name: command.name ?? null,
    }),
  );
}

export function suspendAccount(
  state: AccountState,
  command: CommandOf<'SuspendAccount'>,
  context: DecisionContext,
): Decision {
  return (
    checkAccount(state, command.accountId, context, 'active') ??
    accepted(event('AccountSuspended', { accountId: command.accountId, reason: command.reason ?? null }))
  );
}

export function reactivateAccount(
  state: AccountState,
  command: CommandOf<'ReactivateAccount'>,
  context: DecisionContext,
): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open');
  if (failure) return failure;
  if (state.status !== 'suspended') return rejected('account_not_suspended', `billing account is ${state.status}`);
  return accepted(event('AccountReactivated', { accountId: command.accountId }));
}

export function closeBillingAccount(
  state: AccountState,
  command: CommandOf<'CloseBillingAccount'>,
  context: DecisionContext,
): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open');
  if (failure) return failure;
  const openRuns = [...state.runs.values()].filter((run) => run.status === 'accepted').length;
  const openHolds = [...state.holds.values()].filter((hold) => hold.status === 'held').length;
  if (openRuns > 0 || openHolds > 0) {
    return rejected(
      'account_has_open_commitments',
      `the account has ${openRuns} open run(s) and ${openHolds} open settlement hold(s)`,
      { openRuns, openHolds },
    );
  }
  return accepted(
    ...closingOf(state, command.accountId),
    event('BillingAccountClosed', { accountId: command.accountId }),
  );
}
