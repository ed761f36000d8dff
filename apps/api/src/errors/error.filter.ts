/**
 * Every error leaves the API as `{ code, message, details }`. A caller's mistake gets its 4xx; a
 * store that cannot be reached is a 503 with Retry-After; only a fault of ours is a 500, logged
 * with the request's id — its stack once per cause and minute, so no caller can flood the logs.
 */
import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import { reject } from '@ledger/domain';
import type { Request, Response } from 'express';
import { JSON_TOO_DEEP, MAX_JSON_DEPTH } from '../edge/json-body';
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

/** How long a caller is asked to wait before retrying a store that did not answer. */
export const STORE_RETRY_AFTER_SECONDS = 2;

/** body-parser's and the router's errors: http-errors with a 4xx status the caller may see. */
const isClientHttpError = (error: unknown): error is { status: number; type?: string; expose?: boolean } =>
  typeof error === 'object' &&
  error !== null &&
  typeof (error as { status?: unknown }).status === 'number' &&
  (error as { status: number }).status >= 400 &&
  (error as { status: number }).status < 500 &&
  (error as { expose?: unknown }).expose === true;

function toLedgerError(error: unknown): LedgerHttpError | undefined {
  if (error instanceof LedgerHttpError) return error;
  // The router's URIError: a path parameter with a malformed percent-escape.
  if (error instanceof URIError) {
    return new LedgerHttpError(reject('validation_failed', 'the path is not valid percent-encoded UTF-8'));
  }
  if (isClientHttpError(error)) {
    switch (error.type) {
      case 'entity.parse.failed':
        return new LedgerHttpError(reject('malformed_json'));
      case 'entity.too.large':
        return new LedgerHttpError(reject('payload_too_large'));
      case JSON_TOO_DEEP:
        return new LedgerHttpError(
          reject('json_too_deep', `the body nests arrays or objects more than ${MAX_JSON_DEPTH} deep`, {
            maxDepth: MAX_JSON_DEPTH,
          }),
        );
      case 'charset.unsupported':
      case 'encoding.unsupported':
        return new LedgerHttpError(reject('unsupported_media_type', String((error as { message?: unknown }).message)));
    }
    if (error.status === 413) return new LedgerHttpError(reject('payload_too_large'));
    if (error.status === 415) return new LedgerHttpError(reject('unsupported_media_type'));
    // The rest of body-parser's: not really gzip, cut short, a length that does not match.
    if (error.type !== undefined || error.status === 400) return new LedgerHttpError(reject('body_unreadable'));
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status === 404) return new LedgerHttpError(reject('route_not_found'));
    if (status === 413) return new LedgerHttpError(reject('payload_too_large'));
    // Nest turns body-parser's SyntaxError into a bare 400: the body was not JSON.
    if (status === 400)
      return new LedgerHttpError(reject('malformed_json', `the body is not valid JSON: ${error.message}`));
  }
  if (isDataException(error)) {
    // Input that passed validation and still is not storable (a bug of validation, kept a 4xx).
    return new LedgerHttpError(reject('validation_failed', 'a value is out of range or not storable text'));
  }
  return undefined;
}

const codeOf = (error: unknown): string =>
  typeof error === 'object' && error !== null ? String((error as { code?: unknown }).code) : '';

/** Postgres's class 22 (data exception): out of range, invalid text, NUL in JSON. */
const isDataException = (error: unknown): boolean => /^22[0-9A-Z]{3}$/.test(codeOf(error));

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);
/** pg's own errors for a connection lost or never made carry no code, only these messages. */
const CONNECTION_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|not queryable/i;

export const isConnectionFailure = (error: unknown): boolean => {
  if (typeof error !== 'object' || error === null) return false;
  const code = codeOf(error);
  // Postgres: 08 connection exceptions, 57P0x shutting down or restarting, 53300 too many connections.
  if (CONNECTION_CODES.has(code) || /^08/.test(code) || /^57P0/.test(code) || code === '53300') return true;
  // @eventstore/db-client's errors for an EventStoreDB it cannot reach.
  if (['unavailable', 'deadline-exceeded', 'not-leader'].includes(String((error as { type?: unknown }).type)))
    return true;
  if (error instanceof Error && CONNECTION_MESSAGES.test(error.message)) return true;
  // Node's dual-stack connect and pg's pool wrap the real cause.
  const cause = (error as { cause?: unknown }).cause;
  const errors = (error as { errors?: unknown }).errors;
  return (
    (cause !== undefined && cause !== error && isConnectionFailure(cause)) ||
    (Array.isArray(errors) && errors.some((inner) => inner !== error && isConnectionFailure(inner)))
  );
};

/** Stacks are logged once per cause and window; repeats are counted and mentioned with the next. */
export class ThrottledErrorLog {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Pick<Logger, 'error'>,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  log(error: unknown, requestId: string | undefined): void {
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    // The cause: the message and the frame it was thrown from, not the request that met it.
    const cause = stack.split('\n').slice(0, 2).join('\n').slice(0, 500);
    const now = this.now();
    const entry = this.seen.get(cause);
    if (entry && now - entry.at < this.windowMs) {
      entry.suppressed++;
      return;
    }
    if (this.seen.size >= 1000) this.seen.clear();
    const repeats = entry?.suppressed ? ` (${entry.suppressed} more since it was last logged)` : '';
    this.seen.set(cause, { at: now, suppressed: 0 });
    this.logger.error(`internal error (request ${requestId ?? '-'})${repeats}: ${stack}`);
  }
}

@Catch()
export class LedgerErrorFilter implements ExceptionFilter {
  private readonly errors = new ThrottledErrorLog(new Logger('LedgerErrorFilter'));

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    const request = http.getRequest<Request & { requestId?: string }>();
    // A failure after the status line went out (a CSV cut short) can only end the response.
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (error instanceof ReplayedAnswer) {
      response.status(error.status).json(error.body);
      return;
    }
    const known = toLedgerError(error);
    if (known) {
      for (const [name, value] of Object.entries(known.headers)) response.setHeader(name, value);
      if (known.status === 503 && !response.hasHeader('Retry-After'))
        response.setHeader('Retry-After', String(STORE_RETRY_AFTER_SECONDS));
      response.status(known.status).json(known.body);
      return;
    }
    if (isConnectionFailure(error)) {
      response.setHeader('Retry-After', String(STORE_RETRY_AFTER_SECONDS));
      response.status(503).json(new LedgerHttpError(reject('store_unavailable')).body);
      return;
    }
    this.errors.log(error, request?.requestId);
    const fallback = new LedgerHttpError(
      reject('internal_error', undefined, request?.requestId ? { requestId: request.requestId } : undefined),
    );
    response.status(fallback.status).json(fallback.body);
  }
}
