import { Controller, Get, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { accountListQuery, readRoutes } from '../read-models/read-routes';
import { AccountList } from './account-list.query';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class AccountsQueryController {
  constructor(private readonly queries: QueryBus) {}

  @Get(readRoutes.accounts.path)
  accounts(@Req() request: AuthenticatedRequest, @Query() query: unknown) {
    const { after, limit } = decodeInput(accountListQuery, query);
    return this.queries.execute(new AccountList(request.principal, after, limit));
  }
}
