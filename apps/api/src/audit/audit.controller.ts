import { Controller, Get, Param, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { readRoutes } from '../read-models/read-routes';
import { AuditBalance } from './audit-balance.query';
import { balanceQuery, eventsQuery } from './audit-params';
import { AuditEventsPage } from './audit-events.query';

/** For auditors: figures from events alone, and the events themselves. */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class AuditController {
  constructor(private readonly queries: QueryBus) {}

  @Get(readRoutes.auditBalance.path)
  balance(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { asOf: at, project } = decodeInput(balanceQuery, query);
    return this.queries.execute(
      new AuditBalance(request.principal, accountId, at ?? { instant: new Date().toISOString() }, project),
    );
  }

  @Get(readRoutes.auditEvents.path)
  events(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { from, cursor, limit } = decodeInput(eventsQuery, query);
    return this.queries.execute(new AuditEventsPage(request.principal, accountId, from, cursor, limit));
  }
}
