import { mayActFor, reject, type Principal } from '@ledger/domain';
import { LedgerHttpError } from '../errors/ledger-http-error';

/** Every role may read, but only the accounts its key names. */
export function assertMayRead(principal: Principal, accountId: string): void {
  if (!mayActFor(principal, accountId)) {
    throw new LedgerHttpError(
      reject('identity_denied', `${principal.id} may not read account ${accountId}`, { check: 'identity' }),
    );
  }
}
