/**
 * What every request meets before any route does work on it, in this order: a request id, security
 * headers, and — under /v1 — the caller's key (401), its rate limit (429), its role for commands
 * (403, before a byte of the body is read, so a read-only key cannot make the API parse anything),
 * the tracing headers (400), and only then the bounded JSON body parser.
 */
import { randomUUID } from 'node:crypto';
import { mayActFor, reject, type Principal, type Role } from '@ledger/domain';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { LedgerHttpError } from '../errors/ledger-http-error';
import type { ApiKeys } from '../identity/api-keys';
import { cleanBodyText, jsonBodyOptions } from './json-body';
import { RateLimiter } from './rate-limit';

export type EdgeRequest = Request & { principal?: Principal; requestId?: string };

/** The roles the domain lets send commands (decide's identity step says the same, later). */
const COMMAND_ROLES: ReadonlySet<Role> = new Set(['service', 'admin']);

/** Idempotency keys as the command path has always taken them: 1–255 printable ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/**
 * Correlation and causation ids land in events, CSV exports and terminals: printable ASCII, at
 * most 128, starting with a letter or digit (so no cell of an export can start a formula).
 */
const TRACE_ID = /^[A-Za-z0-9][\x21-\x7e]{0,127}$/;
const MAX_AUTHORIZATION_LENGTH = 1024;

const requestId: RequestHandler = (request: EdgeRequest, response, next) => {
  request.requestId = randomUUID();
  response.setHeader('X-Request-Id', request.requestId);
  next();
};

function authenticate(keys: ApiKeys, limiter: RateLimiter): RequestHandler {
  return (request: EdgeRequest, response: Response, next: NextFunction) => {
    const header = request.headers.authorization ?? '';
    const match = header.length <= MAX_AUTHORIZATION_LENGTH ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    const token = match?.[1];
    const holder = token === undefined ? undefined : keys.holderOf(token);
    if (!holder) {
      return next(
        new LedgerHttpError(
          reject(
            'unauthenticated',
            match ? 'the API key is not recognised' : 'send an API key as "Authorization: Bearer <key>"',
          ),
        ),
      );
    }
    const { principal } = holder;
    const retryAfter = limiter.take(principal.id, holder.rateLimit);
    if (retryAfter > 0) {
      return next(
        new LedgerHttpError(
          reject('rate_limited', `${principal.id} sent more than ${holder.rateLimit.perSecond} requests a second`, {
            retryAfterSeconds: retryAfter,
          }),
          { 'Retry-After': String(retryAfter) },
        ),
      );
    }
    request.principal = principal;
    if (request.method === 'POST') {
      if (!COMMAND_ROLES.has(principal.role)) {
        return next(
          new LedgerHttpError(
            reject('role_forbidden', `a ${principal.role} key may read but not send commands`, { check: 'identity' }),
          ),
        );
      }
      // Mounted on /v1: the path here is what follows it.
      const accountId = pathAccount(request.path);
      if (accountId !== undefined && !mayActFor(principal, accountId)) {
        return next(
          new LedgerHttpError(
            reject('identity_denied', `${principal.id} may not act for account ${accountId}`, { check: 'identity' }),
          ),
        );
      }
    }
    next();
  };
}

/** The account a /v1/accounts/:accountId/… path names, when it decodes; the router checks it further. */
function pathAccount(path: string): string | undefined {
  const segment = /^\/accounts\/([^/]+)\//.exec(path)?.[1];
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

const traceHeaders: RequestHandler = (request, _response, next) => {
  const checks: Array<[string, RegExp, string]> = [
    ['idempotency-key', IDEMPOTENCY_KEY, 'Idempotency-Key is 1–255 printable ASCII characters'],
    [
      'x-correlation-id',
      TRACE_ID,
      'X-Correlation-Id is 1–128 printable ASCII characters, starting with a letter or digit',
    ],
    ['x-causation-id', TRACE_ID, 'X-Causation-Id is 1–128 printable ASCII characters, starting with a letter or digit'],
  ];
  for (const [name, pattern, rule] of checks) {
    const value = request.headers[name];
    // An empty header is the same as none (the command path then says the key is missing).
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string' || !pattern.test(value)) {
      return next(new LedgerHttpError(reject('header_invalid', rule, { header: name })));
    }
  }
  next();
};

/**
 * Helmet's headers for the JSON API; the workspace pages set their own, looser Content-Security-Policy
 * (scripts and styles from this origin), which replaces this one on those responses.
 */
const securityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
  },
  // Plain HTTP on 127.0.0.1 by default: HSTS belongs to the TLS proxy in front, not to this process.
  strictTransportSecurity: false,
});

export function installEdge(app: NestExpressApplication, keys: ApiKeys): void {
  app.use(requestId);
  app.use(securityHeaders);
  app.use('/v1', authenticate(keys, new RateLimiter()));
  app.use('/v1', traceHeaders);
  app.useBodyParser('json', jsonBodyOptions);
  app.use(cleanBodyText);
}
