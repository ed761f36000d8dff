/**
 * A projection's row in projection_checkpoints, and the lock that orders everyone who moves it.
 *
 * Whoever commits rows of a projection together with its checkpoint — the live loop, a rebuild's
 * swap — first takes the projection's transaction-scoped advisory lock, then checks the checkpoint
 * is where it believes it is. Two writers therefore never interleave, and a writer that lost the
 * race (the checkpoint moved under it) rolls back instead of applying events twice.
 */
import type { GlobalPosition } from '@ledger/event-store';
import type { ReadModelTables } from '@ledger/projections';
import { sql, type Kysely } from 'kysely';

export const ZERO: GlobalPosition = { commit: 0n, prepare: 0n };

/**
 * The projector notifies this channel when a batch commits (checkpoints moved): whoever waits for
 * the read models to reach a position can listen instead of polling.
 */
export const CHECKPOINTS_CHANNEL = 'ledger_checkpoints';

/** Where the delivery worker is woken: new outbox rows (the projector), endpoint changes (the API). */
export { WEBHOOKS_CHANNEL } from '@ledger/projections';

export interface Checkpoint {
  readonly position: GlobalPosition;
  readonly eventsApplied: bigint;
  readonly failedPosition: string | null;
  readonly failure: string | null;
  /**
   * Which write of the row this is (the row version's xmin, as text): any other writer — a
   * rebuild's swap, another projector, a restart request — changes it, even when it leaves the
   * position where it was.
   */
  readonly version: string;
}

/**
 * Blocks until this transaction holds the projection's lock; released at commit or rollback.
 * `asynchronousCommit` also lets the transaction's commit return before its WAL is flushed (in the
 * same round trip): a crash of Postgres may then lose the last few transactions, but each whole,
 * rows and checkpoint together, so the projector simply applies those events again.
 */
export async function lockProjection(
  tx: Kysely<ReadModelTables>,
  projection: string,
  options: { asynchronousCommit?: boolean } = {},
): Promise<void> {
  await sql.raw(lockStatement([projection], options)).execute(tx);
}

/**
 * BEGIN and lockProjection for several projections in one round trip, on a connection the caller
 * then commits or rolls back itself. The locks are taken in name order, so that two lockers of
 * overlapping sets queue instead of deadlocking.
 */
export async function beginLocked(
  conn: Kysely<ReadModelTables>,
  projections: readonly string[],
  options: { asynchronousCommit?: boolean } = {},
): Promise<void> {
  await sql.raw(`BEGIN; ${lockStatement(projections, options)}`).execute(conn);
}

/**
 * The SELECT that takes the projections' locks. It may follow BEGIN in one simple query, which
 * takes no parameters: the names travel as quoted literals.
 */
function lockStatement(projections: readonly string[], { asynchronousCommit = false }): string {
  const names = [...new Set(projections)].sort().map((name) => `'${name.replace(/'/g, "''")}'`);
  const settings = asynchronousCommit ? `set_config('synchronous_commit', 'off', true), ` : '';
  return `SELECT ${settings}(SELECT count(*) FROM (
      SELECT pg_advisory_xact_lock(hashtextextended('ledger-projection:' || name, 0))
      FROM (SELECT unnest(ARRAY[${names.join(', ')}]::text[]) AS name ORDER BY 1) ordered
    ) locked)`;
}

/** Creates the row at position zero if it is missing; `clearFailure` also forgets a recorded failure. */
export async function ensureCheckpoint(
  db: Kysely<ReadModelTables>,
  projection: string,
  { clearFailure }: { clearFailure: boolean },
): Promise<void> {
  const insert = db.insertInto('projection_checkpoints').values({
    projection,
    position_commit: 0n,
    position_prepare: 0n,
    events_applied: 0n,
    failed_position: null,
    failure: null,
    failed_at: null,
  });
  await (
    clearFailure
      ? insert.onConflict((oc) =>
          oc.column('projection').doUpdateSet({ failed_position: null, failure: null, failed_at: null }),
        )
      : insert.onConflict((oc) => oc.column('projection').doNothing())
  ).execute();
}

export async function readCheckpoint(db: Kysely<ReadModelTables>, projection: string): Promise<Checkpoint | undefined> {
  const row = await db
    .selectFrom('projection_checkpoints')
    .select(['position_commit', 'position_prepare', 'events_applied', 'failed_position', 'failure'])
    .select(sql<string>`xmin::text`.as('version'))
    .where('projection', '=', projection)
    .executeTakeFirst();
  return row
    ? {
        position: { commit: BigInt(row.position_commit), prepare: BigInt(row.position_prepare) },
        eventsApplied: BigInt(row.events_applied),
        failedPosition: row.failed_position,
        failure: row.failure,
        version: row.version,
      }
    : undefined;
}
