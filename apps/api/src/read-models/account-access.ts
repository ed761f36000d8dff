import { mayActFor, reject, type Principal } from '@ledger/domain';
import type { LedgerDatabase } from '@ledger/database';
import type { Kysely } from 'kysely';
import { LedgerHttpError } from '../errors/ledger-http-error';

/** Every role may read, but only the accounts its key names. */
export function assertMayRead(principal: Principal, accountId: string): void {
  if (!mayActFor(principal, accountId)) {
    throw new LedgerHttpError(
      reject('identity_denied', `${principal.id} may not read account ${accountId}`, { check: 'identity' }),
    );
  }
}

/**
 * Resolves when the read models know the account, else rejects with account_not_found: a read
 * that needs nothing of the account's own row runs this beside its other queries.
 */
export async function assertAccountKnown(db: Kysely<LedgerDatabase>, accountId: string): Promise<void> {
  const account = await db
    .selectFrom('billing_accounts')
    .select('account_id')
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  if (!account) throw new LedgerHttpError(reject('account_not_found', `there is no billing account "${accountId}"`));
}
