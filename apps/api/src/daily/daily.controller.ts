import { Controller, Get, Param, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { dailyQuery, readRoutes } from '../read-models/read-routes';
import { AccountDailyFigures } from './daily-figures.query';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class DailyController {
  constructor(private readonly queries: QueryBus) {}

  @Get(readRoutes.daily.path)
  daily(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { atLeastPosition, ...range } = decodeInput(dailyQuery, query);
    return this.queries.execute(
      new AccountDailyFigures(request.principal, accountId, range, atLeastPosition, new Date()),
    );
  }
}
