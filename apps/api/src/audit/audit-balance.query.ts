/**
 * An account's buckets as of an instant or position, replayed from its event stream alone (the
 * store port's readStream), never from the read models.
 */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type * as contract from '@ledger/contract';
import { reject, type Principal } from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { auditBalanceOf, replayAccountStream, type AsOf } from '@ledger/projections';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { EVENT_STORE } from '../infrastructure/tokens';
import { assertMayAudit } from './audit-access';

export class AuditBalance {
  constructor(
    readonly principal: Principal,
    readonly accountId: string,
    readonly asOf: AsOf,
    readonly projectId: string | undefined,
  ) {}
}

@QueryHandler(AuditBalance)
export class AuditBalanceHandler implements IQueryHandler<AuditBalance> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /** The same JSON as `ledger audit balance --json`: both are `auditBalanceOf`. */
  async execute({ principal, accountId, asOf, projectId }: AuditBalance): Promise<contract.AuditBalance> {
    assertMayAudit(principal, accountId);
    const { replay, exists } = await replayAccountStream(this.store, accountId, { asOf });
    if (!exists) throw new LedgerHttpError(reject('account_not_found', `there is no billing account "${accountId}"`));
    if (projectId !== undefined && !replay.share(projectId)) {
      throw new LedgerHttpError(
        reject('project_not_attached', `project "${projectId}" is not attached to this account at that point`),
      );
    }
    return auditBalanceOf(accountId, asOf, replay, projectId);
  }
}
