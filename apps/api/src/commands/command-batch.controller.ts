/**
 * `POST /v1/commands/batch`: up to MAX_BATCH_COMMANDS commands in one request, each answered on
 * its own, in order — a receipt or a typed rejection, exactly what its own route would answer. The
 * commands go through the same path as single ones (command-gateway.ts): each claims its own
 * idempotency key, and the commands of one account are decided in request order and appended
 * together. No command's failure touches another's; the request itself is refused only when it is
 * not a list of at most MAX_BATCH_COMMANDS.
 */
import { Controller, HttpCode, Logger, Post, Req, UseGuards } from '@nestjs/common';
import { batchCommand, commandBatchRequest, type CommandBatchAnswer } from '@ledger/contract';
import { identifier, reject, type Principal } from '@ledger/domain';
import { isConnectionFailure, ThrottledErrorLog } from '../errors/error.filter';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { CommandGateway, type Answer } from './command-gateway';
import { decodeInput } from './command-input';
import { commandRoutes } from './command-routes';

export const COMMAND_BATCH_PATH = 'commands/batch';

/** The path parameters each command's route names, e.g. accountId and runId for CompleteRun. */
const routeParams = (path: string): string[] => [...path.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1] ?? '');

/** What a route checks of its path (PathParamsGuard), checked of a batch command's params. */
function checkParams(params: Record<string, string>, expected: readonly string[]): void {
  const missing = expected.find((name) => !(name in params));
  const extra = Object.keys(params).find((name) => !expected.includes(name));
  if (missing !== undefined || extra !== undefined) {
    throw new LedgerHttpError(
      reject(
        'validation_failed',
        `params must be exactly ${expected.length ? expected.join(', ') : 'empty'}` +
          (missing !== undefined ? ` (missing ${missing})` : ` (not ${extra})`),
        { params: expected },
      ),
    );
  }
  for (const [name, value] of Object.entries(params)) {
    if (!identifier.safeParse(value).success) {
      throw new LedgerHttpError(
        reject('validation_failed', `params.${name} is not an id: 1–128 letters, digits, ".", "_", ":" or "-"`, {
          parameter: name,
        }),
      );
    }
  }
}

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class CommandBatchController {
  private readonly errors = new ThrottledErrorLog(new Logger('CommandBatch'));

  constructor(private readonly gateway: CommandGateway) {}

  @Post(COMMAND_BATCH_PATH)
  @HttpCode(200)
  async batch(@Req() request: AuthenticatedRequest): Promise<CommandBatchAnswer> {
    const { commands } = decodeInput(commandBatchRequest, request.body);
    const results = await Promise.all(commands.map((item) => this.answerOne(request.principal, item)));
    return { results } as CommandBatchAnswer;
  }

  private async answerOne(principal: Principal, item: unknown): Promise<Answer> {
    try {
      const command = decodeInput(batchCommand, item);
      checkParams(command.params, routeParams(commandRoutes[command.type].path));
      return await this.gateway.answer(principal, command);
    } catch (error) {
      if (error instanceof LedgerHttpError) return { status: error.status, body: error.body };
      if (isConnectionFailure(error)) {
        const unavailable = new LedgerHttpError(reject('store_unavailable'));
        return { status: unavailable.status, body: unavailable.body };
      }
      this.errors.log(error, undefined);
      const internal = new LedgerHttpError(reject('internal_error'));
      return { status: internal.status, body: internal.body };
    }
  }
}
