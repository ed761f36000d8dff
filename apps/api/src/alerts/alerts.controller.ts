import { Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { decodeInput } from '../commands/command-input';
import { CommandGateway } from '../commands/command-gateway';
import { commandRoutes as route } from '../commands/command-routes';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { alertRulesQuery, readRoutes } from '../read-models/read-routes';
import { AccountAlertRules } from './alert-rules.query';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class AlertsController {
  constructor(
    private readonly commands: CommandGateway,
    private readonly queries: QueryBus,
  ) {}

  @Post(route.DefineAlertRule.path)
  @HttpCode(200)
  define(@Req() request: AuthenticatedRequest) {
    return this.commands.send('DefineAlertRule', request);
  }

  @Post(route.RemoveAlertRule.path)
  @HttpCode(200)
  remove(@Req() request: AuthenticatedRequest) {
    return this.commands.send('RemoveAlertRule', request);
  }

  @Get(readRoutes.alertRules.path)
  list(@Req() request: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: unknown) {
    const { atLeastPosition } = decodeInput(alertRulesQuery, query);
    return this.queries.execute(new AccountAlertRules(request.principal, accountId, atLeastPosition));
  }
}
