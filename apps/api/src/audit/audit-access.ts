import { mayActFor, reject, type Principal } from '@ledger/domain';
import { LedgerHttpError } from '../errors/ledger-http-error';

/** The audit endpoints are for auditors (and admins), and only for the accounts their key names. */
export function assertMayAudit(principal: Principal, accountId: string): void {
  if (principal.role !== 'auditor' && principal.role !== 'admin') {
    throw new LedgerHttpError(
      reject('role_forbidden', `a ${principal.role} key may not use the audit endpoints; they are for auditor keys`, {
        check: 'role',
      }),
    );
  }
  if (!mayActFor(principal, accountId)) {
    throw new LedgerHttpError(
      reject('identity_denied', `${principal.id} may not audit account ${accountId}`, { check: 'identity' }),
    );
  }
}
