import { Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { CommandGateway } from '../commands/command-gateway';
import { commandRoutes as route } from '../commands/command-routes';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class CreditsController {
  constructor(private readonly commands: CommandGateway) {}

  @Post(route.GrantCredits.path)
  @HttpCode(200)
  grant(@Req() request: AuthenticatedRequest) {
    return this.commands.send('GrantCredits', request);
  }

  @Post(route.ExpireCredits.path)
  @HttpCode(200)
  expire(@Req() request: AuthenticatedRequest) {
    return this.commands.send('ExpireCredits', request);
  }
}
