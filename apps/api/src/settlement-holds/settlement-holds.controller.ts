import { Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { CommandGateway } from '../commands/command-gateway';
import { commandRoutes as route } from '../commands/command-routes';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class SettlementHoldsController {
  constructor(private readonly commands: CommandGateway) {}

  @Post(route.PlaceSettlementHold.path)
  @HttpCode(200)
  place(@Req() request: AuthenticatedRequest) {
    return this.commands.send('PlaceSettlementHold', request);
  }

  @Post(route.ReleaseSettlementHold.path)
  @HttpCode(200)
  release(@Req() request: AuthenticatedRequest) {
    return this.commands.send('ReleaseSettlementHold', request);
  }
}
