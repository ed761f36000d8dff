/**
 * Where each projection stands: its checkpoint, the store's head, and its lag in events and in
 * milliseconds (how long the oldest event it has not applied has been waiting).
 */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type * as contract from '@ledger/contract';
import { ACCOUNT_STREAM_PREFIX, formatPosition, type EventStore } from '@ledger/event-store';
import { projections } from '@ledger/projections';
import type { Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import { DATABASE, EVENT_STORE } from '../infrastructure/tokens';

export class ProjectionStatus {
  constructor(readonly now: Date) {}
}

/** The answer's shapes are the contract's (libs/contract). */
export type ProjectionStatusView = contract.ProjectionStatusView;
export type ProjectionStatusResult = contract.ProjectionStatus;

@QueryHandler(ProjectionStatus)
export class ProjectionStatusHandler implements IQueryHandler<ProjectionStatus> {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute({ now }: ProjectionStatus): Promise<ProjectionStatusResult> {
    const checkpoints = await this.db.selectFrom('projection_checkpoints').selectAll().execute();
    // An event store that cannot be reached (EventStoreDB down) is reported, not thrown: the
    // checkpoints still say where each projection stands.
    let storeError: string | null = null;
    const fromStore = async <T>(read: () => Promise<T>): Promise<T | null> => {
      if (storeError) return null;
      try {
        return await read();
      } catch (error) {
        storeError = error instanceof Error ? error.message : String(error);
        return null;
      }
    };
    const head = await fromStore(() => this.store.headPosition());
    const views = await Promise.all(
      projections.map(async ({ name }): Promise<ProjectionStatusView> => {
        const checkpoint = checkpoints.find((row) => row.projection === name);
        const after = checkpoint && { commit: checkpoint.position_commit, prepare: checkpoint.position_prepare };
        const [lagEvents, [oldestWaiting] = []] = await Promise.all([
          fromStore(() => this.store.countAfter({ after, streamPrefix: ACCOUNT_STREAM_PREFIX })),
          fromStore(() => this.store.readAll({ after, maxCount: 1, streamPrefix: ACCOUNT_STREAM_PREFIX })),
        ]).then(([lag, oldest]) => [lag, oldest ?? []] as const);
        return {
          name,
          position: formatPosition(after ?? { commit: 0n, prepare: 0n }),
          eventsApplied: (checkpoint?.events_applied ?? 0n).toString(),
          lagEvents,
          lagMs: oldestWaiting ? Math.max(0, now.getTime() - Date.parse(oldestWaiting.metadata.occurredAt)) : 0,
          updatedAt: checkpoint?.updated_at.toISOString() ?? null,
          failure:
            checkpoint?.failure != null
              ? {
                  position: checkpoint.failed_position ?? '',
                  reason: checkpoint.failure,
                  at: checkpoint.failed_at?.toISOString() ?? '',
                }
              : null,
        };
      }),
    );
    return {
      head: head && formatPosition(head),
      eventStore: storeError ? { status: 'unavailable', error: storeError } : { status: 'ok', error: null },
      projections: views,
    };
  }
}
