/**
 * One event of an account's stream, read from the event store itself: the fact a usage-ledger row
 * or a billing event points at, with its metadata and global position. Any key that may read the
 * account may read its events one at a time; paging through whole streams is the auditors' endpoint.
 */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { AccountEvent as AccountEventJson } from '@ledger/contract';
import { reject, type Principal } from '@ledger/domain';
import { accountStreamId, formatPosition, type EventStore } from '@ledger/event-store';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { EVENT_STORE } from '../infrastructure/tokens';
import { assertMayRead } from '../read-models/account-access';

export class AccountEvent {
  constructor(
    readonly principal: Principal,
    readonly accountId: string,
    readonly revision: bigint,
  ) {}
}

@QueryHandler(AccountEvent)
export class AccountEventHandler implements IQueryHandler<AccountEvent> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ principal, accountId, revision }: AccountEvent): Promise<AccountEventJson> {
    assertMayRead(principal, accountId);
    for await (const recorded of this.store.readStream(accountStreamId(accountId), { fromRevision: revision })) {
      if (recorded.revision !== revision) break;
      return {
        accountId,
        eventId: recorded.metadata.eventId,
        type: recorded.type,
        revision: recorded.revision.toString(),
        position: formatPosition(recorded.position),
        data: recorded.data,
        metadata: recorded.metadata,
      };
    }
    throw new LedgerHttpError(
      reject('event_not_found', `account ${accountId} has no event at revision ${revision.toString()}`),
    );
  }
}
