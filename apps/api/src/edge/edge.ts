/**
 * What every request meets before any route does work on it, in this order: a request id, security
 * headers, and — under /v1 — the caller's key (401), its rate limit (429), its role for commands
 * (403, before a byte of the body is read, so a read-only key cannot make the API parse anything),
 * the tracing headers (400), and only then the bounded JSON body parser (json-body.ts). All but the
 * parser run in one Fastify onRequest hook, which Fastify runs before it reads any of the body.
 */
import { mayActFor, reject, type Principal, type Role } from '@ledger/domain';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { LedgerHttpError } from '../errors/ledger-http-error';
import type { ApiKeys } from '../identity/api-keys';
import { parseJsonBody } from './json-body';
import { RateLimiter } from './rate-limit';
import { pathOf, routeOf } from './request';
import { idempotencyKeyText, traceIdText } from '@ledger/contract';
import { WEBHOOK_ROUTE_PREFIX } from '../webhooks/webhook-routes';

export type EdgeRequest = FastifyRequest & { principal?: Principal; chargeRequests?: ChargeRequests };

/**
 * Counts the request as `count` requests in all against the caller's rate limit (a batch, one per
 * command), taking what the edge did not take already, or throws its 429: for a route that learns
 * its true cost from the body.
 */
export type ChargeRequests = (count: number) => void;

/** The roles the domain lets send commands (decide's identity step says the same, later). */
const COMMAND_ROLES: ReadonlySet<Role> = new Set(['service', 'admin']);

/** The contract's rules for keys and trace ids, the same as a batch command's fields follow. */
const IDEMPOTENCY_KEY = idempotencyKeyText;
const TRACE_ID = traceIdText;
const MAX_AUTHORIZATION_LENGTH = 1024;

/** /v1 and everything under it, in any letter case (the router matches paths case-insensitively). */
const UNDER_V1 = /^\/v1(\/|$)/i;

const TRACE_HEADERS: ReadonlyArray<readonly [string, RegExp, string]> = [
  ['idempotency-key', IDEMPOTENCY_KEY, 'Idempotency-Key is 1–255 printable ASCII characters'],
  [
    'x-correlation-id',
    TRACE_ID,
    'X-Correlation-Id is 1–128 printable ASCII characters, starting with a letter or digit',
  ],
  ['x-causation-id', TRACE_ID, 'X-Causation-Id is 1–128 printable ASCII characters, starting with a letter or digit'],
];

/**
 * Helmet's headers for the JSON API; the workspace pages set their own, looser Content-Security-Policy
 * (scripts and styles from this origin), which replaces this one on those responses. Helmet sets
 * them on Node's response, and Fastify's own headers, written with the status line, win over them.
 */
const securityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
  },
  // Plain HTTP on 127.0.0.1 by default: HSTS belongs to the TLS proxy in front, not to this process.
  strictTransportSecurity: false,
});

export class Edge {
  private readonly limiter = new RateLimiter();

  constructor(private readonly keys: ApiKeys) {}

  /** Every check before the body, in order; throws the first refusal. */
  check(request: EdgeRequest, reply: FastifyReply): void {
    reply.header('X-Request-Id', request.id);
    securityHeaders(request.raw, reply.raw, (error) => {
      if (error) throw error;
    });
    if (!UNDER_V1.test(routeOf(request))) return;
    this.authenticate(request);
    checkTraceHeaders(request);
  }

  private authenticate(request: EdgeRequest): void {
    const header = request.headers.authorization ?? '';
    const match = header.length <= MAX_AUTHORIZATION_LENGTH ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    const token = match?.[1];
    const holder = token === undefined ? undefined : this.keys.holderOf(token);
    if (!holder) {
      throw new LedgerHttpError(
        reject(
          'unauthenticated',
          match ? 'the API key is not recognised' : 'send an API key as "Authorization: Bearer <key>"',
        ),
      );
    }
    const { principal } = holder;
    let taken = 0;
    const charge: ChargeRequests = (count) => {
      const { perSecond, burst } = holder.rateLimit;
      const retryAfter = count > burst ? Infinity : this.limiter.take(principal.id, holder.rateLimit, count - taken);
      if (retryAfter === 0) {
        taken = count;
        return;
      }
      if (retryAfter === Infinity) {
        throw new LedgerHttpError(
          reject('rate_limited', `${count} requests at once are more than the key's burst of ${burst}: send fewer`, {
            burst,
          }),
        );
      }
      throw new LedgerHttpError(
        reject('rate_limited', `${principal.id} sent more than ${perSecond} requests a second`, {
          retryAfterSeconds: retryAfter,
        }),
        { 'Retry-After': String(retryAfter) },
      );
    };
    charge(1);
    request.principal = principal;
    request.chargeRequests = charge;
    // Webhooks hold secrets and reach out of the ledger: admin keys only, reads included.
    if (WEBHOOK_ROUTE_PREFIX.test(routeOf(request)) && principal.role !== 'admin') {
      throw new LedgerHttpError(
        reject('role_forbidden', `a ${principal.role} key may not manage webhooks; they are for admin keys`, {
          check: 'role',
        }),
      );
    }
    if (request.method !== 'POST') return;
    if (!COMMAND_ROLES.has(principal.role)) {
      throw new LedgerHttpError(
        reject('role_forbidden', `a ${principal.role} key may read but not send commands`, { check: 'identity' }),
      );
    }
    const accountId = accountOf(request);
    if (accountId !== undefined && !mayActFor(principal, accountId)) {
      throw new LedgerHttpError(
        reject('identity_denied', `${principal.id} may not act for account ${accountId}`, { check: 'identity' }),
      );
    }
  }
}

/**
 * The account a /v1/accounts/:accountId/… request names: the router's decoded parameter, or, for a
 * path no route matched, its segment when it decodes. The router checks it further.
 */
function accountOf(request: FastifyRequest): string | undefined {
  const params = request.params as Record<string, string | undefined> | null;
  if (params?.accountId !== undefined) return params.accountId;
  const segment = /^\/v1\/accounts\/([^/]+)\//i.exec(pathOf(request.url))?.[1];
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function checkTraceHeaders(request: FastifyRequest): void {
  for (const [name, pattern, rule] of TRACE_HEADERS) {
    const value = request.headers[name];
    // An empty header is the same as none (the command path then says the key is missing).
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string' || !pattern.test(value)) {
      throw new LedgerHttpError(reject('header_invalid', rule, { header: name }));
    }
  }
}

/** Sends a refusal the way the error filter does. */
export type AnswerError = (error: unknown, request: FastifyRequest, reply: FastifyReply) => void;

/**
 * The edge as Fastify hooks and the one body parser, on the instance before Nest adds its routes.
 * Fastify's own parsers (JSON and text) are removed: only json-body.ts reads a body, and a body in
 * any other content type is a 415.
 */
export function installEdge(fastify: FastifyInstance, edge: Edge): void {
  fastify.decorateRequest('principal', undefined);
  fastify.decorateRequest('chargeRequests', undefined);
  fastify.addHook('onRequest', (request, reply, done) => {
    try {
      edge.check(request, reply);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', parseJsonBody);
}

/**
 * Fastify answers a URL it cannot decode (a malformed percent-escape) before routing and before any
 * hook; this handler gives that request the edge's checks first, so under /v1 a caller without a
 * key still hears 401 before the 400, and every answer carries its request id and headers.
 */
export const badUrlHandler =
  (edge: Edge, answer: AnswerError) =>
  (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    try {
      edge.check(request, reply);
    } catch (refusal) {
      answer(refusal, request, reply);
      return;
    }
    answer(error, request, reply);
  };
