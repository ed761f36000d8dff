import { Controller, Get, Param, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { readRoutes } from '../read-models/read-routes';
import { usageQuery } from './usage-params';
import { UsageLedgerPage } from './usage-ledger.query';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class UsageController {
  constructor(private readonly queries: QueryBus) {}

  @Get(readRoutes.usage.path)
  usage(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { atLeastPosition, ...filters } = decodeInput(usageQuery, query);
    return this.queries.execute(new UsageLedgerPage(request.principal, accountId, filters, atLeastPosition));
  }
}
