import { Controller, Get, Param, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { z } from 'zod';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { freshness, projectFilter } from '../read-models/read-query';
import { AccountOverview } from './account-overview.query';

const overviewQuery = z.object({ ...projectFilter, ...freshness });

@Controller('v1/accounts/:accountId')
@UseGuards(ApiKeyGuard)
export class OverviewController {
  constructor(private readonly queries: QueryBus) {}

  @Get('overview')
  overview(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { project, atLeastPosition } = decodeInput(overviewQuery, query);
    return this.queries.execute(new AccountOverview(request.principal, accountId, project, atLeastPosition));
  }
}
