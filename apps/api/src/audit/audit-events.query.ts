/**
 * An account's raw events, as stored — data in its stored schema version, and every metadata field
 * (event id, command id and type, idempotency key, correlation and causation ids, principal, time) —
 * in stream order, paged by an opaque cursor (the next revision). An event stored in an older
 * schema version also shows the current shape it is read as.
 */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { AuditEventsPage as AuditEventsPageJson } from '@ledger/contract';
import { encodeEventData, eventSchemaVersions, isEventType, reject, type Principal } from '@ledger/domain';
import { accountStreamId, formatPosition, toLedgerEvent, type EventStore } from '@ledger/event-store';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { EVENT_STORE } from '../infrastructure/tokens';
import { assertMayAudit } from './audit-access';

export class AuditEventsPage {
  constructor(
    readonly principal: Principal,
    readonly accountId: string,
    readonly from: string | undefined,
    readonly fromRevision: bigint | undefined,
    readonly limit: number,
  ) {}
}

export const encodeEventsCursor = (revision: bigint): string => Buffer.from(`rev:${revision}`).toString('base64url');

export function decodeEventsCursor(text: string): bigint | undefined {
  if (text.length > 100) return undefined;
  const match = /^rev:(\d{1,19})$/.exec(Buffer.from(text, 'base64url').toString());
  // A revision past Postgres's bigint would reach the query as an out-of-range number.
  const revision = match?.[1] === undefined ? undefined : BigInt(match[1]);
  return revision !== undefined && revision < 2n ** 63n ? revision : undefined;
}

@QueryHandler(AuditEventsPage)
export class AuditEventsPageHandler implements IQueryHandler<AuditEventsPage> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ principal, accountId, from, fromRevision, limit }: AuditEventsPage): Promise<AuditEventsPageJson> {
    assertMayAudit(principal, accountId);
    const since = from === undefined ? undefined : Date.parse(from);
    const events: AuditEventsPageJson['events'] = [];
    let seen = false;
    let nextCursor: string | null = null;
    for await (const recorded of this.store.readStream(accountStreamId(accountId), { fromRevision })) {
      seen = true;
      if (since !== undefined && Date.parse(recorded.metadata.occurredAt) < since) continue;
      if (events.length === limit) {
        nextCursor = encodeEventsCursor(recorded.revision);
        break;
      }
      const stored = recorded.metadata.schemaVersion ?? 1;
      const current = isEventType(recorded.type) ? eventSchemaVersions[recorded.type] : null;
      events.push({
        eventId: recorded.metadata.eventId,
        streamId: recorded.streamId,
        revision: recorded.revision.toString(),
        position: formatPosition(recorded.position),
        type: recorded.type,
        schemaVersion: stored,
        currentSchemaVersion: current,
        data: recorded.data,
        ...(current !== null && stored < current && { upcastData: encodeEventData(toLedgerEvent(recorded)) }),
        metadata: recorded.metadata,
      });
    }
    if (!seen && fromRevision === undefined) {
      throw new LedgerHttpError(reject('account_not_found', `there is no billing account "${accountId}"`));
    }
    return { accountId, events, nextCursor };
  }
}
