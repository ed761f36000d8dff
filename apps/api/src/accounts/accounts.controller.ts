import { Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { CommandGateway } from '../commands/command-gateway';
import { commandRoutes as route } from '../commands/command-routes';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class AccountsController {
  constructor(private readonly commands: CommandGateway) {}

  @Post(route.OpenBillingAccount.path)
  @HttpCode(200)
  open(@Req() request: AuthenticatedRequest) {
    return this.commands.send('OpenBillingAccount', request);
  }

  @Post(route.SuspendAccount.path)
  @HttpCode(200)
  suspend(@Req() request: AuthenticatedRequest) {
    return this.commands.send('SuspendAccount', request);
  }

  @Post(route.ReactivateAccount.path)
  @HttpCode(200)
  reactivate(@Req() request: AuthenticatedRequest) {
    return this.commands.send('ReactivateAccount', request);
  }

  @Post(route.CloseBillingAccount.path)
  @HttpCode(200)
  close(@Req() request: AuthenticatedRequest) {
    return this.commands.send('CloseBillingAccount', request);
  }
}
