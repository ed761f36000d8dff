import { Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { previewRunSchema } from '@ledger/domain';
import { CommandGateway } from '../commands/command-gateway';
import { commandInput, decodeInput } from '../commands/command-input';
import { commandRoutes as route, PREVIEW_RUN_PATH } from '../commands/command-routes';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { freshnessQuery, readRoutes } from '../read-models/read-routes';
import { PreviewRun, type QuoteJson } from './preview-run.query';
import { RunDetails } from './run-details.query';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class RunsController {
  constructor(
    private readonly commands: CommandGateway,
    private readonly queries: QueryBus,
  ) {}

  /** Free: no idempotency key, nothing appended. */
  @Post(PREVIEW_RUN_PATH)
  @HttpCode(200)
  preview(@Req() request: AuthenticatedRequest): Promise<QuoteJson> {
    const query = decodeInput(previewRunSchema, commandInput(request.params as Record<string, string>, request.body));
    return this.queries.execute(new PreviewRun(query, request.principal, new Date().toISOString()));
  }

  /** The run from the read models, with its ledger rows. */
  @Get(readRoutes.run.path)
  details(
    @Req() request: AuthenticatedRequest,
    @Param('accountId') accountId: string,
    @Param('runId') runId: string,
    @Query() query: unknown,
  ) {
    const { atLeastPosition } = decodeInput(freshnessQuery, query);
    return this.queries.execute(new RunDetails(request.principal, accountId, runId, atLeastPosition));
  }

  @Post(route.AcceptRun.path)
  @HttpCode(200)
  accept(@Req() request: AuthenticatedRequest) {
    return this.commands.send('AcceptRun', request);
  }

  @Post(route.CompleteRun.path)
  @HttpCode(200)
  complete(@Req() request: AuthenticatedRequest) {
    return this.commands.send('CompleteRun', request);
  }

  @Post(route.FailRun.path)
  @HttpCode(200)
  fail(@Req() request: AuthenticatedRequest) {
    return this.commands.send('FailRun', request);
  }

  @Post(route.CancelRun.path)
  @HttpCode(200)
  cancel(@Req() request: AuthenticatedRequest) {
    return this.commands.send('CancelRun', request);
  }
}
