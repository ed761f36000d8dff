import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { identifier, reject } from '@ledger/domain';
import type { FastifyRequest } from 'fastify';
import { LedgerHttpError } from '../errors/ledger-http-error';

/** Refuses the first parameter that is not an id; `where` names it as the caller sent it. */
export function refuseNonIdParams(params: Record<string, unknown>, where: (name: string) => string): void {
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'string' || !identifier.safeParse(value).success) {
      throw new LedgerHttpError(
        reject('validation_failed', `${where(name)} is not an id: 1–128 letters, digits, ".", "_", ":" or "-"`, {
          parameter: name,
        }),
      );
    }
  }
}

/**
 * Every path parameter of the API (account, run and hold ids, revisions) is an id before any
 * handler sees it: a `%00` or a lone surrogate never reaches a query, and a refusal is a 400.
 * (The workspace's asset names are looked up in a fixed list, and an unknown one is a 404.)
 */
@Injectable()
export class PathParamsGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    // The matched route's pattern, not the path as spelled: every route under /v1 is checked.
    if (!request.routeOptions.url?.startsWith('/v1/')) return true;
    refuseNonIdParams((request.params ?? {}) as Record<string, unknown>, (name) => `the path's ${name}`);
    return true;
  }
}
