/**
 * A projection: plain functions from recorded ledger events to read-model writes. The projector
 * feeds it batches in global order and commits each batch's writes with its checkpoint in one
 * transaction; a rebuild feeds it every event from position zero into a shadow schema.
 */
import type { LedgerEvent } from '@ledger/domain';
import type { EventMetadata, GlobalPosition } from '@ledger/event-store';
import type { Kysely } from 'kysely';
import type { RowRecall } from './memory';
import type { ReadModelTables } from './read-models';

/** A ledger event as recorded: the domain fact, where it sits, and who caused it. */
export interface ProjectedEvent {
  readonly event: LedgerEvent;
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: GlobalPosition;
  readonly metadata: EventMetadata;
}

export interface Projection {
  /** Also the key of its row in projection_checkpoints. */
  readonly name: string;
  /** The tables it owns and alone writes (checkpoints excluded); a rebuild replaces exactly these. */
  readonly tables: ReadonlyArray<Exclude<keyof ReadModelTables, 'projection_checkpoints'>>;
  /**
   * Indexes of its tables that only the queries use, never its own reads: a rebuild builds them
   * once the rows are in, which is much faster than maintaining them row by row.
   */
  readonly queryOnlyIndexes?: readonly string[];
  /**
   * A channel notified (pg_notify, delivered at commit) whenever a batch wrote rows of this
   * projection: a worker waiting on its rows (the webhook outbox) then looks only when there is
   * something to find, not after every batch of every projection.
   */
  readonly announces?: string;
  /**
   * Applies events in order. `db` is a transaction, possibly bound to a shadow schema with
   * `withSchema`: use unqualified table names. Throwing rolls the whole batch back. `memory`, when
   * given, holds rows this projection wrote in earlier committed batches (memory.ts): a row found
   * there need not be read, and every row written should be remembered.
   */
  applyBatch(events: readonly ProjectedEvent[], db: Kysely<ReadModelTables>, memory?: RowRecall): Promise<void>;
}
