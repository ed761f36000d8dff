import { Controller, Get, Param, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { decodeInput } from '../commands/command-input';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { eventParams, readRoutes } from '../read-models/read-routes';
import { AccountEvent } from './account-event.query';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class EventsController {
  constructor(private readonly queries: QueryBus) {}

  @Get(readRoutes.accountEvent.path)
  event(@Req() request: AuthenticatedRequest, @Param() params: unknown) {
    const { accountId, revision } = decodeInput(eventParams, params);
    return this.queries.execute(new AccountEvent(request.principal, accountId, revision));
  }
}
