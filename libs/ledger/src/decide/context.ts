import type { LedgerEvent } from '../events';
import type { Instant } from '../fields';
import { reject, type Rejection, type RejectionCode } from '../rejections';
import type { AccountState } from '../state';

export const roles = ['service', 'dashboard', 'auditor', 'admin'] as const;
export type Role = (typeof roles)[number];

/** Who is acting: a key's principal, with the accounts it may act for ('*' for all). */
export interface Principal {
  readonly id: string;
  readonly role: Role;
  readonly accounts: '*' | readonly string[];
}

/** What a decision knows besides the state: who asks, and when (the domain has no clock). */
export interface DecisionContext {
  readonly principal: Principal;
  readonly now: Instant;
}

export type Decision = { ok: true; events: LedgerEvent[] } | { ok: false; rejection: Rejection };

export const accepted = (...events: LedgerEvent[]): Decision => ({ ok: true, events });
export const rejected = (code: RejectionCode, message?: string, details?: Record<string, unknown>): Decision => ({
  ok: false,
  rejection: reject(code, message, details),
});

export const mayActFor = (principal: Principal, accountId: string): boolean =>
  principal.accounts === '*' || principal.accounts.includes(accountId);

export const maySendCommands = (principal: Principal): boolean =>
  principal.role === 'service' || principal.role === 'admin';

/**
 * The steps every command starts with: identity, then the account's existence and posture.
 * Returns the first failure, or undefined when the command may go on.
 */
export function checkAccount(
  state: AccountState,
  accountId: string,
  { principal }: DecisionContext,
  require: 'open' | 'active',
): Decision | undefined {
  if (!maySendCommands(principal)) {
    return rejected('role_forbidden', `a ${principal.role} key may read but not send commands`, {
      check: 'identity',
    });
  }
  if (!mayActFor(principal, accountId)) {
    return rejected('identity_denied', `${principal.id} may not act for account ${accountId}`, {
      check: 'identity',
    });
  }
  if (state.status === 'unopened') {
    return rejected('account_not_found', `there is no billing account "${accountId}"`, { check: 'account' });
  }
  if (state.status === 'closed') {
    return rejected('account_closed', `billing account "${accountId}" is closed`, { check: 'account_state' });
  }
  if (require === 'active' && state.status !== 'active') {
    return rejected('account_not_active', `billing account "${accountId}" is ${state.status}`, {
      check: 'account_state',
    });
  }
  return undefined;
}
