/**
 * Every error leaves the API as `{ code, message, details }`. A caller's mistake gets its 4xx; a
 * store that cannot be reached is a 503 with Retry-After; only a fault of ours is a 500, logged
 * with the request's id — its stack once per cause and minute, so no caller can flood the logs.
 */
import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import { reject } from '@ledger/domain';
import type { FastifyReply, FastifyRequest } from 'fastify';
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

const malformedUrl = () =>
  new LedgerHttpError(reject('validation_failed', 'the path is not valid percent-encoded UTF-8'));
const notJson = () =>
  new LedgerHttpError(
    reject('unsupported_media_type', 'the body must be JSON, sent as Content-Type: application/json'),
  );

/**
 * Fastify's own refusals, by their codes: the same answers body-parser's got. The edge's parser
 * answers for itself (json-body.ts), so of these only a bad URL and a content type without a
 * parser are expected; the rest keep their meaning should Fastify ever raise them.
 */
function fromFastify(code: string, status: number): LedgerHttpError | undefined {
  switch (code) {
    case 'FST_ERR_BAD_URL':
      return malformedUrl();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return notJson();
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new LedgerHttpError(reject('payload_too_large'));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new LedgerHttpError(reject('malformed_json'));
  }
  // The rest of its body refusals: a length that does not match, a body cut short.
  return code.startsWith('FST_ERR_CTP_') && status < 500 ? new LedgerHttpError(reject('body_unreadable')) : undefined;
}

/** What an error tells the caller, as a ledger answer; undefined for a fault of ours. */
export function toLedgerError(error: unknown): LedgerHttpError | undefined {
  if (error instanceof LedgerHttpError) return error;
  const code = codeOf(error);
  if (code.startsWith('FST_ERR_')) {
    const known = fromFastify(code, Number((error as { statusCode?: unknown }).statusCode ?? 500));
    if (known) return known;
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status === 404) return new LedgerHttpError(reject('route_not_found'));
    // Nest hands Fastify's errors on as a bare HttpException of their status and message (a
    // string), and a SyntaxError or URIError as a BadRequestException (whose response is an object).
    if (status === 413) return new LedgerHttpError(reject('payload_too_large'));
    if (status === 415) return notJson();
    if (status === 400) {
      return typeof error.getResponse() === 'string'
        ? new LedgerHttpError(reject('body_unreadable'))
        : new LedgerHttpError(reject('malformed_json', `the body is not valid JSON: ${error.message}`));
    }
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

/**
 * The rejection an error is answered with — the caller's mistake, or a store that cannot be
 * reached — or undefined for a fault of ours. The filter and the batch endpoint both answer by it.
 */
export function answerableError(error: unknown): LedgerHttpError | undefined {
  return (
    toLedgerError(error) ?? (isConnectionFailure(error) ? new LedgerHttpError(reject('store_unavailable')) : undefined)
  );
}

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

/** JSON, whatever the body (a replayed answer is sent exactly as it was stored). */
function sendJson(reply: FastifyReply, status: number, body: unknown): void {
  void reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

@Catch()
export class LedgerErrorFilter implements ExceptionFilter {
  private readonly errors = new ThrottledErrorLog(new Logger('LedgerErrorFilter'));

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    this.answer(error, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }

  /** The answer to an error: also given by the edge to what Fastify refuses before routing. */
  answer(error: unknown, request: FastifyRequest | undefined, reply: FastifyReply): void {
    // A failure after the status line went out (a CSV cut short) can only end the response.
    if (reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    if (error instanceof ReplayedAnswer) {
      sendJson(reply, error.status, error.body);
      return;
    }
    const known = answerableError(error);
    if (known) {
      reply.headers(known.headers);
      if (known.status === 503 && !reply.hasHeader('Retry-After'))
        reply.header('Retry-After', String(STORE_RETRY_AFTER_SECONDS));
      sendJson(reply, known.status, known.body);
      return;
    }
    this.errors.log(error, request?.id);
    const fallback = new LedgerHttpError(
      reject('internal_error', undefined, request?.id ? { requestId: request.id } : undefined),
    );
    sendJson(reply, fallback.status, fallback.body);
  }
}
