import { Controller, Get, Param, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { freshnessQuery, readRoutes } from '../read-models/read-routes';
import { ProjectBuckets } from './project-buckets.query';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class ProjectsQueryController {
  constructor(private readonly queries: QueryBus) {}

  @Get(readRoutes.projects.path)
  projects(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { atLeastPosition } = decodeInput(freshnessQuery, query);
    return this.queries.execute(new ProjectBuckets(request.principal, accountId, atLeastPosition));
  }
}
