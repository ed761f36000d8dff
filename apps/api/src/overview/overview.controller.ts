import { Controller, Get, Param, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { overviewQuery, readRoutes } from '../read-models/read-routes';
import { AccountOverview } from './account-overview.query';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class OverviewController {
  constructor(private readonly queries: QueryBus) {}

  @Get(readRoutes.overview.path)
  overview(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { project, atLeastPosition } = decodeInput(overviewQuery, query);
    return this.queries.execute(new AccountOverview(request.principal, accountId, project, atLeastPosition));
  }
}
