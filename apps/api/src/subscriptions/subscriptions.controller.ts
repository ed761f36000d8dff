import { Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { CommandGateway } from '../commands/command-gateway';
import { commandRoutes as route } from '../commands/command-routes';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class SubscriptionsController {
  constructor(private readonly commands: CommandGateway) {}

  @Post(route.StartSubscription.path)
  @HttpCode(200)
  start(@Req() request: AuthenticatedRequest) {
    return this.commands.send('StartSubscription', request);
  }

  @Post(route.ChangePlan.path)
  @HttpCode(200)
  changePlan(@Req() request: AuthenticatedRequest) {
    return this.commands.send('ChangePlan', request);
  }

  @Post(route.RenewSubscriptionPeriod.path)
  @HttpCode(200)
  renew(@Req() request: AuthenticatedRequest) {
    return this.commands.send('RenewSubscriptionPeriod', request);
  }
}
