/**
 * The projector: one reader of the global log feeding every projection, and one transaction per
 * batch that applies it to all of them and moves all their checkpoints. A crash at any instant
 * therefore leaves every projection exactly at a batch boundary: nothing lost, nothing applied
 * twice.
 *
 * The reader follows the log from the lowest checkpoint (the store's subscribeToAll: the backlog,
 * then live events as they commit, each exactly once and in order) into a bounded queue; each event
 * is decoded once. Whenever the committer is free it takes whatever is queued, at most `batchSize`,
 * and gives each projection the events past its own checkpoint (projections stand at different
 * places after a rebuild or a failure). Events batch only when they arrive faster than a batch
 * commits, never held back waiting for companions. The batch's writes go out as one statement
 * with the checkpoints (batch-writes.ts): a batch costs four statements and its reads, whatever the
 * number of projections. It reads only rows this projector has not written itself: each projection
 * remembers the rows of its committed batches (projections' memory.ts) for as long as the
 * checkpoint row stays the version this projector wrote; another writer's change of it (a
 * rebuild's swap, even at the same position) makes it forget and resume from the checkpoints.
 *
 * A failing projection stops alone, visibly. When the shared transaction fails for any reason but
 * a lost connection, each projection's part is committed on its own; a part that fails then is
 * retried event by event until the failing event is found: the events before it are committed,
 * the failure is recorded in its checkpoint row (which stays just before the failing event), and
 * that projection stops. The others go on. Errors of the database itself are not a projection's
 * fault: the projector waits and resumes from the checkpoints.
 */
import { invariant } from '@ledger/domain';
import {
  ACCOUNT_STREAM_PREFIX,
  comparePositions,
  formatPosition,
  type EventStore,
  type GlobalPosition,
  type RecordedEvent,
} from '@ledger/event-store';
import {
  RowMemory,
  type StagedRows,
  type ProjectedEvent,
  type Projection,
  type ReadModelTables,
} from '@ledger/projections';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { beginLocked, ensureCheckpoint, lockProjection, readCheckpoint, ZERO } from '@ledger/database';
import { silentLog, type Log } from '@ledger/platform';
import { BatchWrites } from './batch-writes';
import { EventReader, TIMED_OUT, within } from './event-reader';

export interface ProjectorOptions {
  /** Read models and checkpoints; the pool needs room for the subscription's connection and a batch's. */
  readonly db: Kysely<ReadModelTables>;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  readonly toProjectedEvent: (recorded: RecordedEvent) => ProjectedEvent;
  /** Most events per transaction. */
  readonly batchSize?: number;
  /**
   * How long a batch may wait for companions before it commits, 0 (the default) for not at all:
   * a batch commits as soon as the projector is free, with whatever has queued by then.
   */
  readonly flushIntervalMs?: number;
  readonly streamPrefix?: string;
  readonly log?: Log;
  /** Waiting after a database error: doubles from the first to the second. */
  readonly retryDelayMs?: readonly [number, number];
}

export type ProjectionState = 'starting' | 'catching_up' | 'live' | 'failed' | 'stopped';

export interface ProjectionStatus {
  readonly name: string;
  readonly state: ProjectionState;
  /** The checkpoint as the projector last committed or read it, "commit/prepare". */
  readonly position: string;
  readonly eventsApplied: bigint;
  /** Transactions that moved this projection since the projector started. */
  readonly batches: number;
  /** Set once the projection threw: it stopped before this event. */
  readonly failure: { readonly position: string; readonly message: string } | null;
  /** The last database error the projector is recovering from, if any. */
  readonly lastError: string | null;
}

/** What the projector has cost Postgres since it started: its batches and their statements. */
export interface ProjectorCounters {
  /** Batch transactions committed (shared or, after a failure, one projection's). */
  transactions: number;
  /** Statements of those transactions and of failed ones, BEGIN and COMMIT included (log reads not). */
  statements: number;
  /** Events read from the log and committed. */
  events: number;
}

export const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_FLUSH_INTERVAL_MS = 0;
/**
 * From 100 ms, doubling to 2 s: a restarted Postgres is used again within about 2 s of coming back
 * (the 10 s cap this had left the dashboards stale that long after every restart), while a longer
 * outage still costs one attempt every 2 s.
 */
const DEFAULT_RETRY_DELAY_MS: readonly [number, number] = [100, 2_000];
/** The projector reports itself live once the log has had nothing new for this long. */
const IDLE_IS_LIVE_MS = 50;

/** One projection as the projector tracks it. */
class Track {
  state: ProjectionState = 'starting';
  position: GlobalPosition = ZERO;
  eventsApplied = 0n;
  batches = 0;
  failure: ProjectionStatus['failure'] = null;
  lastError: string | null = null;
  /** The checkpoint row's version as this projector last read or wrote it. */
  version = '';
  /** Rows this projector wrote for the projection, valid while nobody else writes its checkpoint. */
  readonly memory = new RowMemory();

  constructor(readonly projection: Projection) {}

  get name(): string {
    return this.projection.name;
  }

  status(): ProjectionStatus {
    return {
      name: this.name,
      state: this.state,
      position: formatPosition(this.position),
      eventsApplied: this.eventsApplied,
      batches: this.batches,
      failure: this.failure,
      lastError: this.lastError,
    };
  }
}

/** The projection threw (or an event could not be decoded for it). */
class ProjectionError extends Error {
  constructor(override readonly cause: unknown) {
    super(messageOf(cause), { cause });
  }
}

/** Someone else (a rebuild's swap, another projector) moved a checkpoint: this batch is void. */
class CheckpointMoved extends Error {}

type Outcome = 'committed' | 'moved';

/** A batch's events as one projection gets them: those past its checkpoint. */
interface Part {
  readonly track: Track;
  readonly events: readonly RecordedEvent[];
}

/** An event decoded for the projections, or why it could not be. */
type Decoded = { readonly ok: true; readonly event: ProjectedEvent } | { readonly ok: false; readonly error: unknown };

export class Projector {
  readonly counters: ProjectorCounters = { transactions: 0, statements: 0, events: 0 };
  private readonly tracks: Track[];
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly streamPrefix: string;
  private readonly log: Log;
  private readonly retryDelayMs: readonly [number, number];
  private running = false;

  constructor(private readonly options: ProjectorOptions) {
    const names = new Set<string>();
    for (const projection of options.projections) {
      if (names.has(projection.name)) throw new Error(`two projections are named "${projection.name}"`);
      names.add(projection.name);
    }
    this.tracks = options.projections.map((projection) => new Track(projection));
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    this.streamPrefix = options.streamPrefix ?? ACCOUNT_STREAM_PREFIX;
    this.log = options.log ?? silentLog;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new RangeError('batchSize must be at least 1');
  }

  status(): ProjectionStatus[] {
    return this.tracks.map((track) => track.status());
  }

  /**
   * Runs every projection until the signal aborts (the batch being committed is finished, then it
   * ends) or until every projection has failed. Resolves when it has ended.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.running) throw new Error('the projector is already running');
    this.running = true;
    let delay = this.retryDelayMs[0];
    let started = false;
    for (const track of this.tracks) {
      track.state = 'starting';
      track.failure = null;
    }
    try {
      while (!signal.aborted) {
        try {
          // A (re)started projector forgets earlier failures and tries those events again.
          if (!started) {
            for (const track of this.tracks)
              await ensureCheckpoint(this.options.db, track.name, { clearFailure: true });
          }
          started = true;
          await this.readCheckpoints();
          const outcome = await this.follow(signal);
          for (const track of this.tracks) track.lastError = null;
          delay = this.retryDelayMs[0];
          if (outcome === 'failed') return;
          if (outcome === 'moved')
            this.log.info('a checkpoint was moved by another writer (a rebuild); resuming from it');
        } catch (error) {
          if (signal.aborted) break;
          const message = messageOf(error);
          for (const track of this.active()) track.lastError = message;
          this.log.warn('database error; resuming from the checkpoints', { error: message, retryInMs: delay });
          await sleep(delay, signal);
          delay = Math.min(delay * 2, this.retryDelayMs[1]);
        }
      }
    } finally {
      for (const track of this.active()) track.state = 'stopped';
      this.running = false;
    }
  }

  private active(): Track[] {
    return this.tracks.filter((track) => track.failure === null);
  }

  private async readCheckpoints(): Promise<void> {
    for (const track of this.active()) {
      // Resuming after an error or someone else's move: what was remembered may be stale.
      track.memory.forget();
      const checkpoint = await readCheckpoint(this.options.db, track.name);
      if (!checkpoint) throw new Error(`the checkpoint row of ${track.name} disappeared`);
      track.position = checkpoint.position;
      track.version = checkpoint.version;
      track.eventsApplied = checkpoint.eventsApplied;
    }
  }

  /**
   * Follows the log from the lowest checkpoint until stopped, every projection failed, or a
   * checkpoint moved elsewhere. The reader fills a bounded queue while the committer commits.
   */
  private async follow(signal: AbortSignal): Promise<Outcome | 'failed' | 'stopped'> {
    const active = this.active();
    if (active.length === 0) return 'failed';
    const from = active.map((track) => track.position).reduce((a, b) => (comparePositions(a, b) <= 0 ? a : b));
    const head = await this.options.store.headPosition();
    for (const track of active) {
      track.state = head !== null && comparePositions(head, track.position) > 0 ? 'catching_up' : 'live';
    }
    const catchingUp = active.filter((track) => track.state === 'catching_up');
    if (catchingUp.length > 0) {
      this.log.info('catching up', { projections: catchingUp.map((t) => t.name), from: formatPosition(from) });
    }
    const startedAt = Date.now();
    const goLive = (track: Track): void => {
      if (track.state !== 'catching_up') return;
      track.state = 'live';
      this.log.info('caught up', {
        projection: track.name,
        position: formatPosition(track.position),
        ms: Date.now() - startedAt,
      });
    };

    const subscription = new AbortController();
    const forward = (): void => subscription.abort();
    signal.addEventListener('abort', forward, { once: true });
    if (signal.aborted) subscription.abort();
    const reader = new EventReader(
      this.options.store.subscribeToAll({ after: from, streamPrefix: this.streamPrefix, signal: subscription.signal }),
      this.batchSize,
    );
    try {
      for (;;) {
        let batch = reader.take(this.batchSize);
        if (batch.length === 0) {
          // Caught up when the log has nothing for us for a while (the head may be an event of
          // another stream prefix, which we never reach).
          const arrived = reader.pending();
          if ((await within(arrived, IDLE_IS_LIVE_MS)) === TIMED_OUT) {
            for (const track of this.active()) goLive(track);
            await arrived;
          }
          if (this.flushIntervalMs > 0 && !reader.ended) {
            // Opt-in: give the first event's companions a moment to join its batch.
            await within(reader.filled(this.batchSize), this.flushIntervalMs);
          }
          batch = reader.take(this.batchSize);
        }
        if (batch.length === 0) {
          reader.rethrow();
          if (!signal.aborted) throw new Error('the subscription ended by itself (was the store closed?)');
          return 'stopped';
        }
        const outcome = await this.commitBatch(batch);
        if (outcome !== 'committed') return outcome;
        if (this.active().length === 0) return 'failed';
        if (head) for (const track of this.active()) if (comparePositions(track.position, head) >= 0) goLive(track);
        // An abort ends the loop after the batch it was committing; queued events wait for the next start.
        if (signal.aborted) return 'stopped';
      }
    } finally {
      signal.removeEventListener('abort', forward);
      subscription.abort();
      await reader.stop();
    }
  }

  /** Commits the batch to every active projection; isolates the failing ones. */
  private async commitBatch(batch: readonly RecordedEvent[]): Promise<Outcome> {
    // Decoded once for every projection, before the transaction: its writes hold back every
    // reader of the Postgres log, so it should last no longer than needed.
    const decoded = new Map<RecordedEvent, Decoded>();
    for (const event of batch) {
      try {
        decoded.set(event, { ok: true, event: this.options.toProjectedEvent(event) });
      } catch (error) {
        decoded.set(event, { ok: false, error });
      }
    }
    const parts = this.active()
      .map((track): Part => ({ track, events: batch.filter((e) => comparePositions(e.position, track.position) > 0) }))
      .filter((part) => part.events.length > 0);
    if (parts.length === 0) return 'committed';
    const undecodable = [...decoded.values()].some((d) => !d.ok);
    if (!undecodable) {
      try {
        return await this.commit(parts, decoded);
      } catch (error) {
        if (!isProjectionFault(error)) throw error;
      }
    }
    // Something in the batch failed that is not the connection: commit each projection's part on its own.
    for (const part of parts) {
      if ((await this.commitAlone(part, decoded)) === 'moved') return 'moved';
    }
    return 'committed';
  }

  /** One projection's part on its own; when it fails, the events before the culprit, and the failure. */
  private async commitAlone(part: Part, decoded: ReadonlyMap<RecordedEvent, Decoded>): Promise<Outcome> {
    try {
      return await this.commit([part], decoded);
    } catch (error) {
      if (!isProjectionFault(error)) throw error;
      const [only] = part.events;
      if (part.events.length === 1 && only) return this.recordFailure(part.track, only, error);
    }
    // Find the culprit: one event per transaction, each with its checkpoint.
    for (const event of part.events) {
      try {
        if ((await this.commit([{ track: part.track, events: [event] }], decoded)) === 'moved') return 'moved';
      } catch (error) {
        if (!isProjectionFault(error)) throw error;
        return this.recordFailure(part.track, event, error);
      }
    }
    // The part failed as a whole but every event passed alone: it is applied.
    return 'committed';
  }

  /**
   * Applies each part to its projection and moves their checkpoints past them, in one transaction:
   * BEGIN and the projections' locks (while their writes are computed), their reads, one statement
   * of all writes and checkpoints, COMMIT.
   */
  private async commit(parts: readonly Part[], decoded: ReadonlyMap<RecordedEvent, Decoded>): Promise<Outcome> {
    const inputs = parts.map((part) => {
      const events = part.events.map((event) => {
        const entry = decoded.get(event);
        invariant(entry, 'every event of the batch was decoded');
        if (!entry.ok) throw new ProjectionError(entry.error);
        return entry.event;
      });
      const last = part.events.at(-1);
      invariant(last, 'a part holds at least one event');
      return { part, events, to: last.position, staged: part.track.memory.batch() };
    });
    let writes: BatchWrites | undefined;
    let versions = new Map<string, string>();
    try {
      await this.options.db.connection().execute(async (tx) => {
        writes = new BatchWrites(tx, this.options.db);
        // Not awaited yet: the projections compute their writes while Postgres takes the locks.
        // Anything they send on tx queues behind it on the connection; their reads of rows they
        // have not written run elsewhere, which holding the locks would not change (see
        // BatchWrites): another writer's change meanwhile moves the checkpoint, voiding the batch.
        const begun = beginLocked(
          tx,
          parts.map((part) => part.track.name),
          { asynchronousCommit: true },
        );
        begun.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
        try {
          versions = await this.applyAll(writes, inputs, begun);
          await sql`COMMIT`.execute(tx);
        } catch (error) {
          await sql`ROLLBACK`.execute(tx).catch(() => undefined);
          throw error;
        }
      });
    } catch (error) {
      // Rolled back, or perhaps committed by a connection that broke before saying so.
      for (const { part } of inputs) part.track.memory.forget();
      if (error instanceof CheckpointMoved) return 'moved';
      throw error;
    } finally {
      this.counters.statements += 3 + (writes?.statements ?? 0); // BEGIN, the locks, COMMIT or ROLLBACK
    }
    this.counters.transactions += 1;
    this.counters.events += Math.max(...inputs.map(({ events }) => events.length));
    for (const { part, events, to, staged } of inputs) {
      part.track.memory.keep(staged);
      part.track.version = versions.get(part.track.name) ?? '';
      part.track.position = to;
      part.track.eventsApplied += BigInt(events.length);
      part.track.batches += 1;
    }
    return 'committed';
  }

  /** The projections' writes and the checkpoints' moves, inside the caller's transaction. */
  private async applyAll(
    batch: BatchWrites,
    inputs: ReadonlyArray<{ part: Part; events: ProjectedEvent[]; to: GlobalPosition; staged: StagedRows }>,
    begun: Promise<void>,
  ): Promise<Map<string, string>> {
    // Side by side: each projection owns its tables, and their reads run on connections of their own.
    const applied = await Promise.allSettled(
      inputs.map(({ part, events, staged }) =>
        part.track.projection.applyBatch(events, batch.for(part.track.name), staged),
      ),
    );
    // The transaction's own failure (the connection, the locks) comes first: it is nobody's fault.
    await begun;
    const failed = applied.find((outcome) => outcome.status === 'rejected');
    if (failed) throw new ProjectionError(failed.reason);
    const moves = inputs.map(({ part, events, to }) => ({
      projection: part.track.name,
      from: part.track.position,
      fromVersion: part.track.version,
      to,
      events: events.length,
    }));
    let moved: Map<string, string>;
    try {
      const channels = new Set(
        inputs.flatMap(({ part }) =>
          part.track.projection.announces && batch.changed.has(part.track.name)
            ? [part.track.projection.announces]
            : [],
        ),
      );
      moved = await batch.commit(moves, [...channels]);
    } catch (error) {
      // A write waiting in the batch was refused: one projection's fault when it is alone.
      if (inputs.length === 1 && !isTransient(error)) throw new ProjectionError(error);
      throw error;
    }
    if (moved.size !== moves.length) throw new CheckpointMoved();
    return moved;
  }

  /** Records that `event` failed for the track's projection, leaving its checkpoint just before it. */
  private async recordFailure(track: Track, event: RecordedEvent, error: unknown): Promise<Outcome> {
    const failure = { position: formatPosition(event.position), message: messageOf(unwrap(error)) };
    try {
      await this.options.db.transaction().execute(async (tx) => {
        await lockProjection(tx, track.name, { asynchronousCommit: true });
        const checkpoint = await readCheckpoint(tx, track.name);
        if (
          !checkpoint ||
          comparePositions(checkpoint.position, track.position) !== 0 ||
          checkpoint.version !== track.version
        )
          throw new CheckpointMoved();
        await tx
          .updateTable('projection_checkpoints')
          .set({ failed_position: failure.position, failure: failure.message, failed_at: sql<Date>`now()` })
          .where('projection', '=', track.name)
          .execute();
      });
    } catch (caught) {
      if (caught instanceof CheckpointMoved) return 'moved';
      throw caught;
    }
    track.failure = failure;
    track.state = 'failed';
    this.log.error('projection failed; it stays before this event until restarted', {
      projection: track.name,
      failedPosition: failure.position,
      eventType: event.type,
      streamId: event.streamId,
      revision: event.revision,
      error: failure.message,
    });
    return 'committed';
  }
}

/** A failure that says something about the events or a projection, not about the connection. */
function isProjectionFault(error: unknown): boolean {
  if (error instanceof CheckpointMoved) return false;
  return !isTransient(unwrap(error));
}

const unwrap = (error: unknown): unknown => (error instanceof ProjectionError ? error.cause : error);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Errors of the connection or the server's state, which say nothing about the events: Postgres
 * classes 08 (connection), 53 (resources), 57P (shutdown), serialization failures and deadlocks,
 * and the driver's own connection errors.
 */
export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (/^(08|53|57P)/.test(code) || code === '40001' || code === '40P01') return true;
    if (/^E(CONN|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|AI_AGAIN)/.test(code)) return true;
  }
  return /connection terminated|not queryable|connection (error|refused|reset)/i.test(messageOf(error));
}
