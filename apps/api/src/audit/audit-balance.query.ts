/**
 * An account's buckets as of an instant or position, replayed from its event stream alone (the
 * store port's readStream), never from the read models.
 */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { formatCredits, reject, type Buckets, type Principal } from '@ledger/domain';
import { formatPosition, type EventStore } from '@ledger/event-store';
import { replayAccountStream, type AsOf, type ShareBuckets } from '@ledger/projections';
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

const view = (buckets: Partial<Buckets> & ShareBuckets) =>
  Object.fromEntries(
    (['included', 'bonus', 'available', 'reserved', 'consumed', 'hold', 'expired'] as const)
      .filter((name) => buckets[name] !== undefined)
      .map((name) => [name, formatCredits(buckets[name]!)]),
  );

@QueryHandler(AuditBalance)
export class AuditBalanceHandler implements IQueryHandler<AuditBalance> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ principal, accountId, asOf, projectId }: AuditBalance) {
    assertMayAudit(principal, accountId);
    const { replay, exists } = await replayAccountStream(this.store, accountId, { asOf });
    if (!exists) throw new LedgerHttpError(reject('account_not_found', `there is no billing account "${accountId}"`));
    const share = projectId === undefined ? undefined : replay.share(projectId);
    if (projectId !== undefined && !share) {
      throw new LedgerHttpError(
        reject('project_not_attached', `project "${projectId}" is not attached to this account at that point`),
      );
    }
    const last = replay.last;
    return {
      accountId,
      asOf: 'position' in asOf ? { position: formatPosition(asOf.position) } : { instant: asOf.instant },
      source: 'events',
      eventsReplayed: replay.events,
      lastEvent: last && {
        eventId: last.metadata.eventId,
        type: last.event.type,
        revision: last.revision.toString(),
        position: formatPosition(last.position),
        occurredAt: last.metadata.occurredAt,
      },
      buckets: view(replay.buckets()),
      projects: [...replay.projects].map(([id, buckets]) => ({ projectId: id, buckets: view(buckets) })),
      ...(share && { project: { projectId, buckets: view(share) } }),
    };
  }
}
