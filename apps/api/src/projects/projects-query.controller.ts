import { Controller, Get, Param, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { z } from 'zod';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { freshness } from '../read-models/read-query';
import { ProjectBuckets } from './project-buckets.query';

const projectsQuery = z.object({ ...freshness });

@Controller('v1/accounts/:accountId')
@UseGuards(ApiKeyGuard)
export class ProjectsQueryController {
  constructor(private readonly queries: QueryBus) {}

  @Get('projects')
  projects(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { atLeastPosition } = decodeInput(projectsQuery, query);
    return this.queries.execute(new ProjectBuckets(request.principal, accountId, atLeastPosition));
  }
}
