import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { reject, type Principal } from '@ledger/domain';
import type { FastifyRequest } from 'fastify';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { API_KEYS } from '../infrastructure/tokens';
import type { ApiKeys } from './api-keys';

export type AuthenticatedRequest = FastifyRequest & { principal: Principal };

/**
 * Resolves `Authorization: Bearer <key>` to a principal; no key, or an unknown one, is a 401. The
 * edge (edge/edge.ts) has done so already for every /v1 request, before the body was read.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(API_KEYS) private readonly keys: ApiKeys) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (request.principal) return true;
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const principal = token === undefined ? undefined : this.keys.principalFor(token);
    if (!principal) {
      throw new LedgerHttpError(
        reject(
          'unauthenticated',
          token !== undefined ? 'the API key is not recognised' : 'send an API key as "Authorization: Bearer <key>"',
        ),
      );
    }
    request.principal = principal;
    return true;
  }
}
