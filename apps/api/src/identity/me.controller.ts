import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import type { Me } from '@ledger/contract';
import { readRoutes } from '../read-models/read-routes';
import { ApiKeyGuard, type AuthenticatedRequest } from './auth.guard';

/** What a dashboard asks first: whose key this is, and which accounts it may open. */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class MeController {
  @Get(readRoutes.me.path)
  me(@Req() { principal }: AuthenticatedRequest): Me {
    return { principal: principal.id, role: principal.role, accounts: principal.accounts };
  }
}
