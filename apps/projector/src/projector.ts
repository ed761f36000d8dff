/**
 * The projector: one independent loop per projection, each following the global log from its own
 * checkpoint and committing every batch of read-model writes together with the checkpoint that
 * covers them. A crash at any instant therefore leaves each projection exactly at a batch boundary:
 * nothing lost, nothing applied twice.
 *
 * A loop reads with the store's subscribeToAll (the backlog, then live events as they commit, each
 * exactly once and in order) and gathers events into batches of at most `batchSize`, flushed as soon
 * as a batch is full or `flushIntervalMs` after its first event arrived, whichever comes first.
 *
 * A batch whose projection throws is retried event by event until the failing event is found; the
 * events before it are committed, the failure is recorded in the checkpoint row (which stays just
 * before the failing event), and that projection stops. The others go on. Errors of the database
 * itself (a lost connection) are not the projection's fault: the loop waits and resumes from its
 * checkpoint.
 */
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
import { ensureCheckpoint, lockProjection, readCheckpoint, advanceCheckpoint, ZERO } from './checkpoints';
import { silentLog, type Log } from './log';

export interface ProjectorOptions {
  /** Read models and checkpoints; the pool needs room for two connections per projection. */
  readonly db: Kysely<ReadModelTables>;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  readonly toProjectedEvent: (recorded: RecordedEvent) => ProjectedEvent;
  /** Most events per transaction. */
  readonly batchSize?: number;
  /** Longest an event waits for companions before its batch is committed anyway. */
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
const DEFAULT_FLUSH_INTERVAL_MS = 50;
const DEFAULT_RETRY_DELAY_MS: readonly [number, number] = [200, 10_000];

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

  /** Follows the log from this.position until stopped, failed, or the checkpoint moved elsewhere. */
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
    const subscribed = this.options.store.subscribeToAll({
      after: this.position,
      streamPrefix: this.streamPrefix,
      signal: subscription.signal,
    });
    const events = subscribed[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<RecordedEvent>> | undefined;
    let batch: RecordedEvent[] = [];
    let flushAt = 0;
    const flush = async (): Promise<Outcome> => {
      const outcome = await this.flush(batch);
      batch = [];
      if (outcome === 'committed' && head && comparePositions(this.position, head) >= 0) goLive();
      return outcome;
    };
    try {
      for (;;) {
        next ??= events.next();
        const result = batch.length === 0 ? await next : await within(next, flushAt - Date.now());
        if (result === TIMED_OUT) {
          // Nothing more arrived in time: we are at the head of the log.
          const outcome = await flush();
          if (outcome !== 'committed') return outcome;
          goLive();
          continue;
        }
        next = undefined;
        if (result.done) {
          if (batch.length > 0) {
            const outcome = await flush();
            if (outcome !== 'committed') return outcome;
          }
          if (!signal.aborted) throw new Error('the subscription ended by itself (was the store closed?)');
          return 'stopped';
        }
        batch.push(result.value);
        if (batch.length === 1) flushAt = Date.now() + this.flushIntervalMs;
        if (batch.length >= this.batchSize) {
          const outcome = await flush();
          if (outcome !== 'committed') return outcome;
        }
      }
    } finally {
      signal.removeEventListener('abort', forward);
      subscription.abort();
      await next?.catch(() => undefined);
      await events.return?.(undefined).catch(() => undefined);
    }
  }

  /** Commits the batch; when the projection throws, commits the events before the culprit and stops there. */
  private async flush(batch: readonly RecordedEvent[]): Promise<Outcome> {
    if (batch.length === 0) return 'committed';
    try {
      return await this.commit(batch);
    } catch (error) {
      if (!(error instanceof ProjectionError) || isTransient(error.cause)) throw error;
      if (batch.length === 1) return this.recordFailure(batch[0], error);
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
    const to = events[events.length - 1].position;
    try {
      await this.options.db.transaction().execute(async (tx) => {
        await this.lockAt(tx, from);
        try {
          await this.projection.applyBatch(
            events.map((event) => this.options.toProjectedEvent(event)),
            tx,
          );
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

  /** Takes the projection's lock and checks the checkpoint is still where this loop left it. */
  private async lockAt(tx: Kysely<ReadModelTables>, expected: GlobalPosition): Promise<void> {
    await lockProjection(tx, this.projection.name);
    const checkpoint = await readCheckpoint(tx, this.projection.name);
    if (!checkpoint || comparePositions(checkpoint.position, expected) !== 0) throw new CheckpointMoved();
  }
}

const TIMED_OUT = Symbol('timed out');

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
