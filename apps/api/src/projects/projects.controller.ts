import { Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { CommandGateway } from '../commands/command-gateway';
import { commandRoutes as route } from '../commands/command-routes';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class ProjectsController {
  constructor(private readonly commands: CommandGateway) {}

  @Post(route.AttachProject.path)
  @HttpCode(200)
  attach(@Req() request: AuthenticatedRequest) {
    return this.commands.send('AttachProject', request);
  }
}
