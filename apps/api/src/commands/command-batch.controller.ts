/**
 * `POST /v1/commands/batch`: up to MAX_BATCH_COMMANDS commands in one request, each answered on
 * its own, in order — a receipt or a typed rejection, exactly what its own route would answer. The
 * commands go through the same path as single ones (command-gateway.ts): each claims its own
 * idempotency key, and the commands of one account are decided in request order and appended
 * together. No command's failure touches another's; the request itself is refused only when it is
 * not a list of at most MAX_BATCH_COMMANDS, or when its commands are more than the key's rate limit
 * has left (each counts as a request: 429, nothing decided).
 */
import { Controller, Header, HttpCode, Logger, Post, Req, UseGuards } from '@nestjs/common';
import { batchCommand, commandBatchRequest } from '@ledger/contract';
import { reject, type Principal } from '@ledger/domain';
import type { EdgeRequest } from '../edge/edge';
import { refuseNonIdParams } from '../edge/path-params.guard';
import { answerableError, ThrottledErrorLog } from '../errors/error.filter';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { ApiKeyGuard, type AuthenticatedRequest } from '../identity/auth.guard';
import { CommandGateway, type Answer } from './command-gateway';
import { decodeInput } from './command-input';
import { commandRoutes, pathParamsOf } from './command-routes';

export const COMMAND_BATCH_PATH = 'commands/batch';

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
  refuseNonIdParams(params, (name) => `params.${name}`);
}

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class CommandBatchController {
  private readonly errors = new ThrottledErrorLog(new Logger('CommandBatch'));

  constructor(private readonly gateway: CommandGateway) {}

  /** The answer is written as text: receipts arrive serialised already (receipt.ts). */
  @Post(COMMAND_BATCH_PATH)
  @HttpCode(200)
  @Header('content-type', 'application/json; charset=utf-8')
  async batch(@Req() request: AuthenticatedRequest): Promise<string> {
    const { commands } = decodeInput(commandBatchRequest, request.body);
    // Each command counts as a request against the key's rate limit (the edge counted this one).
    (request as EdgeRequest).chargeRequests?.(commands.length);
    const results = await Promise.all(commands.map((item) => this.answerOne(request.principal, item, request.id)));
    return batchAnswerJson(results);
  }

  private async answerOne(principal: Principal, item: unknown, requestId: string): Promise<Answer> {
    try {
      const command = decodeInput(batchCommand, item);
      checkParams(command.params, pathParamsOf(commandRoutes[command.type].path));
      return await this.gateway.answer(principal, command);
    } catch (error) {
      // As the error filter answers a single route's request.
      const known = answerableError(error);
      if (known) return { status: known.status, body: known.body };
      this.errors.log(error, requestId);
      const internal = new LedgerHttpError(reject('internal_error', undefined, { requestId }));
      return { status: internal.status, body: internal.body };
    }
  }
}

/** `JSON.stringify` of the batch's answer (the contract's CommandBatchAnswer), reusing each body's text it has. */
export function batchAnswerJson(results: readonly Answer[]): string {
  const items = results.map(
    ({ status, body, json }) => `{"status":${status},"body":${json ?? JSON.stringify(body ?? null)}}`,
  );
  return `{"results":[${items.join(',')}]}`;
}
