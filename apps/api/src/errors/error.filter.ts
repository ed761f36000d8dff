/**
 * Every error leaves the API as `{ code, message, details }`. A caller's mistake gets its 4xx;
 * only a fault of ours is a 500, and it is logged.
 */
import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import { reject } from '@ledger/domain';
import type { Response } from 'express';
import { LedgerHttpError } from './ledger-http-error';

/** A stored answer replayed verbatim for a retried idempotency key. */
export class ReplayedAnswer extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super('replayed answer');
  }
}

const isBodyParserError = (error: unknown): error is { type: string; status: number } =>
  typeof error === 'object' && error !== null && typeof (error as { type?: unknown }).type === 'string';

function toLedgerError(error: unknown): LedgerHttpError | undefined {
  if (error instanceof LedgerHttpError) return error;
  if (isBodyParserError(error)) {
    if (error.type === 'entity.parse.failed') return new LedgerHttpError(reject('malformed_json'));
    if (error.type === 'entity.too.large') return new LedgerHttpError(reject('payload_too_large'));
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status === 404) return new LedgerHttpError(reject('route_not_found'));
    if (status === 413) return new LedgerHttpError(reject('payload_too_large'));
    // Nest turns body-parser's SyntaxError into a bare 400: the body was not JSON.
    if (status === 400)
      return new LedgerHttpError(reject('malformed_json', `the body is not valid JSON: ${error.message}`));
  }
  return undefined;
}

const isConnectionFailure = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  (['ECONNREFUSED', 'ECONNRESET', '57P01', '57P03', '08006', '08001'].includes(
    String((error as { code?: unknown }).code),
  ) ||
    // @eventstore/db-client's errors for an EventStoreDB it cannot reach.
    ['unavailable', 'deadline-exceeded', 'not-leader'].includes(String((error as { type?: unknown }).type)));

@Catch()
export class LedgerErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('LedgerErrorFilter');

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (error instanceof ReplayedAnswer) {
      response.status(error.status).json(error.body);
      return;
    }
    const known = toLedgerError(error);
    if (known) {
      response.status(known.status).json(known.body);
      return;
    }
    const fallback = new LedgerHttpError(reject(isConnectionFailure(error) ? 'store_unavailable' : 'internal_error'));
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    response.status(fallback.status).json(fallback.body);
  }
}
