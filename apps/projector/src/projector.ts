/**
 * The projector: one independent loop per projection, each following the global log from its own
 * checkpoint and committing every batch of read-model writes together with the checkpoint that
 * covers them. A crash at any instant therefore leaves each projection exactly at a batch boundary:
 * nothing lost, nothing applied twice.
 *
 * A loop reads with the store's subscribeToAll (the backlog, then live events as they commit, each
 * exactly once and in order) into a bounded queue, and commits whatever is queued, at most
 * `batchSize` events, as soon as its previous transaction has ended: events are batched only when
 * they arrive faster than the projection commits them, never held back waiting for companions.
 *
 * A batch whose projection throws is retried event by event until the failing event is found; the
 * events before it are committed, the failure is recorded in the checkpoint row (which stays just
 * before the failing event), and that projection stops. The others go on. Errors of the database
 * itself (a lost connection) are not the projection's fault: the loop waits and resumes from its
 * checkpoint.
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
import type { ProjectedEvent, Projection, ReadModelTables } from '@ledger/projections';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { ensureCheckpoint, lockProjection, readCheckpoint, advanceCheckpoint, ZERO } from '@ledger/database';
import { silentLog, type Log } from '@ledger/platform';

export interface ProjectorOptions {
  /** Read models and checkpoints; the pool needs room for two connections per projection. */
  readonly db: Kysely<ReadModelTables>;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  readonly toProjectedEvent: (recorded: RecordedEvent) => ProjectedEvent;
  /** Most events per transaction. */
  readonly batchSize?: number;
  /**
   * How long a batch may wait for companions before it commits, 0 (the default) for not at all:
   * a batch commits as soon as the projection is free, with whatever has queued by then.
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
  /** The checkpoint as this loop last committed or read it, "commit/prepare". */
  readonly position: string;
  readonly eventsApplied: bigint;
  /** Transactions committed by this loop since it started. */
  readonly batches: number;
  /** Set once the projection threw: it stopped before this event. */
  readonly failure: { readonly position: string; readonly message: string } | null;
  /** The last database error the loop is recovering from, if any. */
  readonly lastError: string | null;
}

export const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_FLUSH_INTERVAL_MS = 0;
/**
 * From 100 ms, doubling to 2 s: a restarted Postgres is used again within about 2 s of coming back
 * (the 10 s cap this had left the dashboards stale that long after every restart), while a longer
 * outage still costs one attempt every 2 s.
 */
const DEFAULT_RETRY_DELAY_MS: readonly [number, number] = [100, 2_000];

export class Projector {
  private readonly loops: ProjectionLoop[];
  private running = false;

  constructor(options: ProjectorOptions) {
    const names = new Set<string>();
    for (const projection of options.projections) {
      if (names.has(projection.name)) throw new Error(`two projections are named "${projection.name}"`);
      names.add(projection.name);
    }
    this.loops = options.projections.map((projection) => new ProjectionLoop(projection, options));
  }

  /**
   * Runs every projection until the signal aborts (each loop commits the batch it holds, then
   * ends) or until every projection has failed. Resolves when all loops have ended.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.running) throw new Error('the projector is already running');
    this.running = true;
    try {
      await Promise.all(this.loops.map((loop) => loop.run(signal)));
    } finally {
      this.running = false;
    }
  }

  status(): ProjectionStatus[] {
    return this.loops.map((loop) => loop.status());
  }
}

/** The projection threw (or an event could not be decoded for it). */
class ProjectionError extends Error {
  constructor(override readonly cause: unknown) {
    super(messageOf(cause), { cause });
  }
}

/** Someone else (a rebuild's swap, another projector) moved the checkpoint: this batch is void. */
class CheckpointMoved extends Error {}

type Outcome = 'committed' | 'moved' | 'failed';

class ProjectionLoop {
  private state: ProjectionState = 'starting';
  private position: GlobalPosition = ZERO;
  private eventsApplied = 0n;
  private batches = 0;
  private failure: ProjectionStatus['failure'] = null;
  private lastError: string | null = null;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly streamPrefix: string;
  private readonly log: Log;
  private readonly retryDelayMs: readonly [number, number];

  constructor(
    private readonly projection: Projection,
    private readonly options: ProjectorOptions,
  ) {
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    this.streamPrefix = options.streamPrefix ?? ACCOUNT_STREAM_PREFIX;
    this.log = options.log ?? silentLog;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new RangeError('batchSize must be at least 1');
  }

  status(): ProjectionStatus {
    return {
      name: this.projection.name,
      state: this.state,
      position: formatPosition(this.position),
      eventsApplied: this.eventsApplied,
      batches: this.batches,
      failure: this.failure,
      lastError: this.lastError,
    };
  }

  async run(signal: AbortSignal): Promise<void> {
    const { db } = this.options;
    const name = this.projection.name;
    let delay = this.retryDelayMs[0];
    let started = false;
    this.state = 'starting';
    this.failure = null;
    while (!signal.aborted) {
      try {
        // A (re)started projector forgets an earlier failure and tries the event again.
        if (!started) await ensureCheckpoint(db, name, { clearFailure: true });
        started = true;
        const checkpoint = await readCheckpoint(db, name);
        if (!checkpoint) throw new Error(`the checkpoint row of ${name} disappeared`);
        this.position = checkpoint.position;
        this.eventsApplied = checkpoint.eventsApplied;
        const outcome = await this.follow(signal);
        this.lastError = null;
        delay = this.retryDelayMs[0];
        if (outcome === 'failed') {
          this.state = 'failed';
          return;
        }
        if (outcome === 'moved') {
          this.log.info('checkpoint moved by another writer (a rebuild); resuming from it', { projection: name });
        }
      } catch (error) {
        if (signal.aborted) break;
        this.lastError = messageOf(error);
        this.log.warn('database error; resuming from the checkpoint', {
          projection: name,
          error: this.lastError,
          retryInMs: delay,
        });
        await sleep(delay, signal);
        delay = Math.min(delay * 2, this.retryDelayMs[1]);
      }
    }
    this.state = 'stopped';
  }

  /**
   * Follows the log from this.position until stopped, failed, or the checkpoint moved elsewhere.
   *
   * Two loops share a bounded queue: a reader that pulls events from the subscription, and a
   * committer that, whenever it is free, commits everything queued (at most batchSize). A lone
   * event is therefore committed at once, and events batch only when they queue up behind a
   * commit. While the committer waits on the database, the reader fetches the next events.
   */
  private async follow(signal: AbortSignal): Promise<Outcome | 'stopped'> {
    const name = this.projection.name;
    const head = await this.options.store.headPosition();
    const catchingUp = head !== null && comparePositions(head, this.position) > 0;
    this.state = catchingUp ? 'catching_up' : 'live';
    if (catchingUp) this.log.info('catching up', { projection: name, from: formatPosition(this.position) });
    const startedAt = Date.now();
    const startedWith = this.eventsApplied;
    const goLive = (): void => {
      if (this.state !== 'catching_up') return;
      this.state = 'live';
      this.log.info('caught up', {
        projection: name,
        position: formatPosition(this.position),
        events: this.eventsApplied - startedWith,
        ms: Date.now() - startedAt,
      });
    };

    const subscription = new AbortController();
    const forward = (): void => subscription.abort();
    signal.addEventListener('abort', forward, { once: true });
    if (signal.aborted) subscription.abort();
    const reader = new EventReader(
      this.options.store.subscribeToAll({
        after: this.position,
        streamPrefix: this.streamPrefix,
        signal: subscription.signal,
      }),
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
            goLive();
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
        const outcome = await this.flush(batch);
        if (outcome !== 'committed') return outcome;
        if (head && comparePositions(this.position, head) >= 0) goLive();
        // An abort ends the loop after the batch it was committing; queued events wait for the next start.
        if (signal.aborted) return 'stopped';
      }
    } finally {
      signal.removeEventListener('abort', forward);
      subscription.abort();
      await reader.stop();
    }
  }

  /** Commits the batch; when the projection throws, commits the events before the culprit and stops there. */
  private async flush(batch: readonly RecordedEvent[]): Promise<Outcome> {
    if (batch.length === 0) return 'committed';
    try {
      return await this.commit(batch);
    } catch (error) {
      if (!(error instanceof ProjectionError) || isTransient(error.cause)) throw error;
      const [only] = batch;
      if (batch.length === 1 && only) return this.recordFailure(only, error);
    }
    // Find the culprit: one event per transaction, each with its checkpoint.
    for (const event of batch) {
      try {
        const outcome = await this.commit([event]);
        if (outcome !== 'committed') return outcome;
      } catch (error) {
        if (!(error instanceof ProjectionError) || isTransient(error.cause)) throw error;
        return this.recordFailure(event, error);
      }
    }
    // The batch failed as a whole but every event passed alone: it is applied.
    return 'committed';
  }

  /** Applies the events and moves the checkpoint past them, in one transaction. */
  private async commit(events: readonly RecordedEvent[]): Promise<Outcome> {
    const name = this.projection.name;
    const from = this.position;
    const last = events.at(-1);
    invariant(last, 'a batch holds at least one event');
    const to = last.position;
    // Decoded before the transaction: its writes hold back every reader of the Postgres log
    // (which stops below the oldest running transaction), so it should last no longer than needed.
    let projected: ProjectedEvent[];
    try {
      projected = events.map((event) => this.options.toProjectedEvent(event));
    } catch (error) {
      throw new ProjectionError(error);
    }
    try {
      await this.options.db.transaction().execute(async (tx) => {
        await this.lockAt(tx, from);
        try {
          await this.projection.applyBatch(projected, tx);
        } catch (error) {
          throw new ProjectionError(error);
        }
        await advanceCheckpoint(tx, name, to, events.length);
      });
    } catch (error) {
      if (error instanceof CheckpointMoved) return 'moved';
      throw error;
    }
    this.position = to;
    this.eventsApplied += BigInt(events.length);
    this.batches += 1;
    return 'committed';
  }

  /** Records that `event` failed, leaving the checkpoint just before it. */
  private async recordFailure(event: RecordedEvent, error: ProjectionError): Promise<Outcome> {
    const name = this.projection.name;
    const failure = { position: formatPosition(event.position), message: error.message };
    try {
      await this.options.db.transaction().execute(async (tx) => {
        await this.lockAt(tx, this.position);
        await tx
          .updateTable('projection_checkpoints')
          .set({ failed_position: failure.position, failure: failure.message, failed_at: sql<Date>`now()` })
          .where('projection', '=', name)
          .execute();
      });
    } catch (caught) {
      if (caught instanceof CheckpointMoved) return 'moved';
      throw caught;
    }
    this.failure = failure;
    this.log.error('projection failed; it stays before this event until restarted', {
      projection: name,
      failedPosition: failure.position,
      eventType: event.type,
      streamId: event.streamId,
      revision: event.revision,
      error: failure.message,
    });
    return 'failed';
  }

  /**
   * Takes the projection's lock and checks the checkpoint is still where this loop left it. The
   * transaction commits without waiting for the WAL flush: while it runs, its transaction id holds
   * back every reader of the Postgres log (the other projections' included), so a shorter commit is
   * lower lag for all of them; and a batch lost to a crash of Postgres is lost with its checkpoint.
   */
  private async lockAt(tx: Kysely<ReadModelTables>, expected: GlobalPosition): Promise<void> {
    await lockProjection(tx, this.projection.name, { asynchronousCommit: true });
    const checkpoint = await readCheckpoint(tx, this.projection.name);
    if (!checkpoint || comparePositions(checkpoint.position, expected) !== 0) throw new CheckpointMoved();
  }
}

const TIMED_OUT = Symbol('timed out');
/** A loop that has found nothing new for this long reports itself live. */
const IDLE_IS_LIVE_MS = 50;

/**
 * Pulls a subscription into a queue of at most `capacity` events, ahead of the committer, and
 * pauses while the queue is full, so that memory stays bounded (the queue plus the store's page).
 * It records how the subscription ended (exhausted or failed) rather than throwing: the committer
 * asks once the queue is drained.
 */
class EventReader {
  ended = false;
  private readonly queue: RecordedEvent[] = [];
  private failure: { error: unknown } | undefined;
  private stopping = false;
  private readonly waiting = new Set<() => void>();
  private spaceFreed: (() => void) | undefined;
  private readonly pump: Promise<void>;

  constructor(
    private readonly events: AsyncIterable<RecordedEvent>,
    private readonly capacity: number,
  ) {
    this.pump = this.run();
  }

  /** Up to `max` queued events, oldest first, taken off the queue. */
  take(max: number): RecordedEvent[] {
    const taken = this.queue.splice(0, max);
    if (taken.length > 0) {
      const freed = this.spaceFreed;
      this.spaceFreed = undefined;
      freed?.();
    }
    return taken;
  }

  /**
   * Resolves once at least one event is queued or the subscription ended: after the reader has
   * queued every event the subscription already holds in memory, so that a page read in one query
   * is committed in one batch and not event by event.
   */
  pending(): Promise<void> {
    return this.until(() => this.queue.length > 0);
  }

  /** Resolves once `count` events are queued, or the subscription ended. */
  filled(count: number): Promise<void> {
    return this.until(() => this.queue.length >= Math.min(count, this.capacity));
  }

  /** Throws what the subscription failed with, if it did. */
  rethrow(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Stops pulling and waits until the subscription is released. */
  async stop(): Promise<void> {
    this.stopping = true;
    const freed = this.spaceFreed;
    this.spaceFreed = undefined;
    freed?.();
    await this.pump;
  }

  private async until(ready: () => boolean): Promise<void> {
    while (!ready() && !this.ended) {
      await new Promise<void>((resolve) => this.waiting.add(resolve));
    }
    // The subscription yields a page it already read through promise callbacks only: everything
    // it holds has been queued before a macrotask runs.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private signalChange(): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const resolve of waiting) resolve();
  }

  private async run(): Promise<void> {
    try {
      for await (const event of this.events) {
        this.queue.push(event);
        this.signalChange();
        if (this.stopping) break;
        while (this.queue.length >= this.capacity && !this.stopping) {
          await new Promise<void>((resolve) => (this.spaceFreed = resolve));
        }
        if (this.stopping) break;
      }
    } catch (error) {
      this.failure = { error };
    } finally {
      this.ended = true;
      this.signalChange();
    }
  }
}

/** The promise's value, or TIMED_OUT if it takes longer than `ms`; the promise itself runs on. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

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
