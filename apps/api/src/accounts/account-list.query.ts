/** The billing accounts a key may read, by id, paged: how a dashboard finds an account to open. */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { AccountList as AccountListJson } from '@ledger/contract';
import type { Principal } from '@ledger/domain';
import type { Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import { DATABASE } from '../infrastructure/tokens';

export class AccountList {
  constructor(
    readonly principal: Principal,
    readonly after: string | undefined,
    readonly limit: number,
  ) {}
}

@QueryHandler(AccountList)
export class AccountListHandler implements IQueryHandler<AccountList> {
  constructor(@Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>) {}

  async execute({ principal, after, limit }: AccountList): Promise<AccountListJson> {
    const { accounts } = principal;
    if (accounts !== '*' && accounts.length === 0) return { accounts: [], nextAfter: null };
    const rows = await this.db
      .selectFrom('billing_accounts')
      .select(['account_id', 'name', 'status', 'plan_name'])
      .$if(accounts !== '*', (q) => q.where('account_id', 'in', accounts as readonly string[]))
      .$if(after !== undefined, (q) => q.where('account_id', '>', after!))
      .orderBy('account_id')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    return {
      accounts: page.map((row) => ({
        accountId: row.account_id,
        name: row.name,
        status: row.status,
        planName: row.plan_name,
      })),
      nextAfter: rows.length > limit ? (page.at(-1)?.account_id ?? null) : null,
    };
  }
}
