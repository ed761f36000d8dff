/**
 * Where each projection stands: its checkpoint, the store's head, and its lag in events and in
 * milliseconds (how long the oldest event it has not applied has been waiting).
 */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { ACCOUNT_STREAM_PREFIX, formatPosition, type EventStore } from '@ledger/event-store';
import { projections } from '@ledger/projections';
import type { Kysely } from 'kysely';
import type { LedgerDatabase } from '../infrastructure/database';
import { DATABASE, EVENT_STORE } from '../infrastructure/tokens';

export class ProjectionStatus {
  constructor(readonly now: Date) {}
}

export interface ProjectionStatusView {
  readonly name: string;
  readonly position: string;
  readonly eventsApplied: string;
  readonly lagEvents: number;
  readonly lagMs: number;
  readonly updatedAt: string | null;
  readonly failure: { position: string; reason: string; at: string } | null;
}

@QueryHandler(ProjectionStatus)
export class ProjectionStatusHandler implements IQueryHandler<ProjectionStatus> {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute({ now }: ProjectionStatus): Promise<{ head: string | null; projections: ProjectionStatusView[] }> {
    const [head, checkpoints] = await Promise.all([
      this.store.headPosition(),
      this.db.selectFrom('projection_checkpoints').selectAll().execute(),
    ]);
    const views = await Promise.all(
      projections.map(async ({ name }): Promise<ProjectionStatusView> => {
        const checkpoint = checkpoints.find((row) => row.projection === name);
        const after = checkpoint && { commit: checkpoint.position_commit, prepare: checkpoint.position_prepare };
        const [lagEvents, [oldestWaiting]] = await Promise.all([
          this.store.countAfter({ after, streamPrefix: ACCOUNT_STREAM_PREFIX }),
          this.store.readAll({ after, maxCount: 1, streamPrefix: ACCOUNT_STREAM_PREFIX }),
        ]);
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
    return { head: head && formatPosition(head), projections: views };
  }
}
