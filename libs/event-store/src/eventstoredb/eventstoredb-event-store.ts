/**
 * The event store on EventStoreDB (or KurrentDB) through `@eventstore/db-client`.
 *
 * - Append: one `appendToStream` under the expected revision; the event's own id is the ESDB event
 *   id, so a retried append (same ids after the same revision) is idempotent on the server.
 *   `WrongExpectedVersionError` becomes the port's `WrongExpectedRevision`.
 * - Metadata (command id, idempotency key, correlation, causation, principal, schema version…)
 *   travels in the event's JSON metadata, with ESDB's `$correlationId`/`$causationId` added for its
 *   own projections (and removed again on reading).
 * - Positions are ESDB's commit/prepare pair, as the port's GlobalPosition; the projector stores
 *   both in Postgres.
 * - `$all` is read forwards from a position, which ESDB includes, so the event at `after` itself is
 *   skipped. System events (`$`-prefixed types or streams) are never returned.
 * - `subscribeToAll` is a catch-up subscription with a server-side filter (the stream prefix, or
 *   "no system events"). Subscribing from a position is exclusive in ESDB, as the port wants. A
 *   dropped subscription is resubscribed, with growing pauses, from the last event it delivered:
 *   nothing lost, nothing repeated. `status()` tells whether subscriptions are currently down.
 */
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  START,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type Position,
  type ResolvedEvent,
} from '@eventstore/db-client';
import {
  comparePositions,
  WrongExpectedRevision,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type GlobalPosition,
  type ReadAllOptions,
  type RecordedEvent,
  type StreamAppend,
  type StreamAppendOutcome,
  type SubscribeOptions,
} from '../port';

export interface EventStoreDbOptions {
  /** Events per read of `$all` (readAll pages, countAfter, headPosition). */
  readonly pageSize?: number;
  /** Pause before resubscribing after a drop: doubles from the first to the second. */
  readonly resubscribeDelayMs?: readonly [number, number];
  /** countAfter stops counting here (and returns it): lag beyond it is "at least this much". */
  readonly countLimit?: number;
  /** Told when a subscription drops and resubscribes. */
  readonly onSubscriptionDropped?: (error: Error, retryInMs: number) => void;
}

export interface EventStoreDbStatus {
  /** Subscriptions of this store that are currently down and retrying. */
  readonly subscriptionsDown: number;
  /** When the oldest of them went down. */
  readonly downSince: Date | null;
  readonly lastError: string | null;
}

const DEFAULT_PAGE_SIZE = 1000;
const DEFAULT_COUNT_LIMIT = 100_000;
const DEFAULT_RESUBSCRIBE_DELAY_MS: readonly [number, number] = [100, 5000];

const isSystem = (streamId: string, type: string): boolean => streamId.startsWith('$') || type.startsWith('$');

type StoredMetadata = EventMetadata & { $correlationId?: string; $causationId?: string };

export class EventStoreDbEventStore implements EventStore {
  private readonly pageSize: number;
  private readonly countLimit: number;
  private readonly resubscribeDelayMs: readonly [number, number];
  private readonly subscriptions = new Set<LiveSubscription>();
  private readonly down = new Map<object, { since: Date; error: string }>();
  private closed = false;
  private readonly shutdown = new AbortController();

  /** The client belongs to this store: close() disposes of it. */
  constructor(
    private readonly client: EventStoreDBClient,
    private readonly options: EventStoreDbOptions = {},
  ) {
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.countLimit = options.countLimit ?? DEFAULT_COUNT_LIMIT;
    this.resubscribeDelayMs = options.resubscribeDelayMs ?? DEFAULT_RESUBSCRIBE_DELAY_MS;
  }

  /** e.g. `esdb://localhost:2113?tls=false`, or a cluster's `esdb+discover://…`. */
  static connect(connectionString: string, options?: EventStoreDbOptions): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(connectionString), options);
  }

  /** EventStoreDB appends to one stream at a time: the parts go out together, each on its own. */
  appendMany(appends: readonly StreamAppend[]): Promise<StreamAppendOutcome[]> {
    if (new Set(appends.map((part) => part.streamId)).size !== appends.length) {
      return Promise.reject(new RangeError('appendMany: each stream may appear once'));
    }
    return Promise.all(
      appends.map(async ({ streamId, events, expected }): Promise<StreamAppendOutcome> => {
        if (events.length === 0) {
          const last = await this.lastEvent(streamId);
          const actual = last ? last.revision : 'no_stream';
          return expected === 'any' || expected === actual
            ? { ok: true, result: null }
            : { ok: false, conflict: new WrongExpectedRevision(streamId, expected, actual) };
        }
        try {
          return { ok: true, result: await this.append(streamId, events, expected) };
        } catch (error) {
          if (error instanceof WrongExpectedRevision) return { ok: false, conflict: error };
          throw error;
        }
      }),
    );
  }

  async append(streamId: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) return this.confirmRevision(streamId, expected);
    const proposed = events.map((event) =>
      jsonEvent({
        id: event.metadata.eventId,
        type: event.type,
        data: event.data,
        metadata: {
          ...event.metadata,
          $correlationId: event.metadata.correlationId,
          $causationId: event.metadata.causationId,
        },
      }),
    );
    let result;
    try {
      result = await this.client.appendToStream(streamId, proposed, {
        expectedRevision: expected === 'no_stream' ? NO_STREAM : expected === 'any' ? ANY : expected,
      });
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = error.actualVersion;
        throw new WrongExpectedRevision(streamId, expected, typeof actual === 'bigint' ? actual : 'no_stream');
      }
      throw error;
    }
    const revision = result.nextExpectedRevision;
    // One event: the server's position is that event's. Several: ask for the last one's exactly,
    // since read-your-writes compares checkpoints with it.
    if (events.length === 1 && result.position) return { revision, position: toGlobal(result.position) };
    const last = await this.lastEvent(streamId);
    if (!last || last.revision !== revision) {
      // Someone appended meanwhile: the last of ours is at `revision`.
      const [ours] = await this.readStreamPage(streamId, revision, 1);
      if (!ours) throw new Error(`stream ${streamId}: appended revision ${revision} cannot be read back`);
      return { revision, position: ours.position };
    }
    return { revision, position: last.position };
  }

  async *readStream(streamId: string, options: { fromRevision?: bigint } = {}): AsyncGenerator<RecordedEvent> {
    let from = options.fromRevision ?? 0n;
    for (;;) {
      const page = await this.readStreamPage(streamId, from, this.pageSize);
      yield* page;
      const last = page.at(-1);
      if (page.length < this.pageSize || !last) return;
      from = last.revision + 1n;
    }
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const maxCount = options.maxCount ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(maxCount) || maxCount < 0) {
      throw new RangeError(`maxCount must be a whole number, not ${maxCount}`);
    }
    const found: RecordedEvent[] = [];
    if (maxCount === 0) return found;
    await this.scanAll(options.after, (event) => {
      if (options.streamPrefix && !event.streamId.startsWith(options.streamPrefix)) return true;
      found.push(event);
      return found.length < maxCount;
    });
    return found;
  }

  async countAfter(options: Pick<ReadAllOptions, 'after' | 'streamPrefix'> = {}): Promise<number> {
    let count = 0;
    await this.scanAll(options.after, (event) => {
      if (!options.streamPrefix || event.streamId.startsWith(options.streamPrefix)) count++;
      return count < this.countLimit;
    });
    return count;
  }

  /** The newest event that is not a system event. */
  async headPosition(): Promise<GlobalPosition | null> {
    let from: Position | typeof END = END;
    for (;;) {
      const page: AllStreamResolvedEvent[] = [];
      for await (const resolved of this.client.readAll({ direction: BACKWARDS, fromPosition: from, maxCount: 100 })) {
        page.push(resolved);
      }
      for (const { event } of page) {
        if (event && !isSystem(event.streamId, event.type)) return toGlobal(event.position);
      }
      const last = page.at(-1);
      if (page.length < 100 || !last) return null;
      // Reading backwards from a position returns the events before it.
      from = last.event!.position;
    }
  }

  subscribeToAll(options: SubscribeOptions = {}): AsyncIterable<RecordedEvent> {
    return this.follow(options);
  }

  private async *follow(options: SubscribeOptions): AsyncGenerator<RecordedEvent> {
    const { streamPrefix } = options;
    // Ends on the caller's signal or on close().
    const signal = options.signal ? AbortSignal.any([options.signal, this.shutdown.signal]) : this.shutdown.signal;
    let after = options.after;
    let delay = this.resubscribeDelayMs[0];
    const key = {};
    try {
      while (!signal.aborted) {
        const live = new LiveSubscription(
          this.client.subscribeToAll({
            // ESDB positions start above (0, 0): from there is from the start.
            fromPosition: after && (after.commit > 0n || after.prepare > 0n) ? after : START,
            filter: streamPrefix ? streamNameFilter({ prefixes: [streamPrefix] }) : excludeSystemEvents(),
          }),
          signal,
        );
        this.subscriptions.add(live);
        try {
          for (;;) {
            const resolved = await live.next();
            if (resolved === null) break;
            const event = resolved.event;
            if (!event || isSystem(event.streamId, event.type)) continue;
            if (streamPrefix && !event.streamId.startsWith(streamPrefix)) continue;
            const recorded = toRecorded(event);
            // Never twice, whatever the server resends after a resubscription.
            if (after && comparePositions(recorded.position, after) <= 0) continue;
            this.down.delete(key);
            delay = this.resubscribeDelayMs[0];
            yield recorded;
            after = recorded.position;
          }
          if (signal.aborted) return;
          throw new Error('the EventStoreDB subscription ended by itself');
        } catch (error) {
          if (signal.aborted) return;
          const reason = error instanceof Error ? error : new Error(String(error));
          if (!this.down.has(key)) this.down.set(key, { since: new Date(), error: reason.message });
          else this.down.get(key)!.error = reason.message;
          this.options.onSubscriptionDropped?.(reason, delay);
          await pause(delay, signal);
          delay = Math.min(delay * 2, this.resubscribeDelayMs[1]);
        } finally {
          this.subscriptions.delete(live);
          await live.close();
        }
      }
    } finally {
      this.down.delete(key);
    }
  }

  /** Whether this store's subscriptions are down, e.g. for a health check. */
  status(): EventStoreDbStatus {
    const entries = [...this.down.values()];
    const oldest = entries.reduce<{ since: Date; error: string } | null>(
      (first, entry) => (first && first.since <= entry.since ? first : entry),
      null,
    );
    return {
      subscriptionsDown: entries.length,
      downSince: oldest?.since ?? null,
      lastError: entries.at(-1)?.error ?? null,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shutdown.abort();
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }

  // ─── helpers ──────────────────────────────────────────────────────────────────────────────────

  private async readStreamPage(streamId: string, from: bigint, maxCount: number): Promise<RecordedEvent[]> {
    const page: RecordedEvent[] = [];
    try {
      for await (const { event } of this.client.readStream(streamId, {
        fromRevision: from,
        direction: FORWARDS,
        maxCount,
      })) {
        if (event) page.push(toRecorded(event));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return page;
  }

  private async lastEvent(streamId: string): Promise<RecordedEvent | undefined> {
    let last: RecordedEvent | undefined;
    try {
      // Read to the end, never break out: a read left unfinished keeps its gRPC call open.
      for await (const { event } of this.client.readStream(streamId, {
        fromRevision: END,
        direction: BACKWARDS,
        maxCount: 1,
      })) {
        if (event) last ??= toRecorded(event);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return undefined;
      throw error;
    }
    return last;
  }

  private async confirmRevision(streamId: string, expected: ExpectedRevision): Promise<AppendResult> {
    const last = await this.lastEvent(streamId);
    const actual = last ? last.revision : 'no_stream';
    if (expected !== 'any' && expected !== actual) throw new WrongExpectedRevision(streamId, expected, actual);
    if (!last) throw new Error(`stream ${streamId}: no events to append, and the stream does not exist`);
    return { revision: last.revision, position: last.position };
  }

  /**
   * Reads `$all` forwards strictly after a position, page by page, handing each non-system event to
   * `take` until it returns false or the log ends. (Client 6.x reads `$all` without a server-side
   * filter; subscriptions have one.)
   */
  private async scanAll(after: GlobalPosition | undefined, take: (event: RecordedEvent) => boolean): Promise<void> {
    let from: GlobalPosition | undefined = after && (after.commit > 0n || after.prepare > 0n) ? after : undefined;
    for (;;) {
      let read = 0;
      let last: GlobalPosition | undefined;
      let more = true;
      for await (const { event } of this.client.readAll({
        fromPosition: from ?? START,
        direction: FORWARDS,
        maxCount: this.pageSize,
      })) {
        read++;
        if (!event || !more) continue; // the page is read to its end: its call then finishes by itself
        last = event.position;
        if (from && comparePositions(toGlobal(event.position), from) <= 0) continue; // inclusive read
        if (isSystem(event.streamId, event.type)) continue;
        more = take(toRecorded(event));
      }
      if (!more || read < this.pageSize || !last) return;
      from = toGlobal(last);
    }
  }
}

/** The client's subscription as a pull-based queue that ends on abort, close, end or error. */
class LiveSubscription {
  private readonly queue: AllStreamResolvedEvent[] = [];
  private failure: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private static readonly HIGH_WATER = 1000;

  constructor(
    private readonly subscription: AllStreamSubscription,
    private readonly signal: AbortSignal | undefined,
  ) {
    subscription.on('data', (event: AllStreamResolvedEvent) => {
      this.queue.push(event);
      if (this.queue.length >= LiveSubscription.HIGH_WATER) subscription.pause();
      this.notify();
    });
    subscription.on('error', (error: Error) => {
      this.failure ??= error;
      this.notify();
    });
    subscription.on('end', () => this.finish());
    subscription.on('close', () => this.finish());
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The next event, null once ended; throws what broke the subscription. */
  async next(): Promise<AllStreamResolvedEvent | null> {
    for (;;) {
      if (this.signal?.aborted || this.closing) return null;
      const event = this.queue.shift();
      if (event) {
        if (this.queue.length < LiveSubscription.HIGH_WATER / 2 && this.subscription.isPaused()) {
          this.subscription.resume();
        }
        return event;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.signal?.removeEventListener('abort', this.onAbort);
      this.notify();
      await this.subscription.unsubscribe().catch(() => undefined);
      this.subscription.destroy();
    })();
    return this.closing;
  }

  private readonly onAbort = (): void => void this.close();

  private finish(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

const toGlobal = (position: Position): GlobalPosition => ({ commit: position.commit, prepare: position.prepare });

function toRecorded(event: NonNullable<ResolvedEvent['event']>): RecordedEvent {
  if (!event.isJson) throw new Error(`event ${event.id} in ${event.streamId} is not JSON`);
  if (!event.position) throw new Error(`event ${event.id} in ${event.streamId} has no position`);
  const {
    $correlationId: _correlation,
    $causationId: _causation,
    ...metadata
  } = (event.metadata ?? {}) as unknown as StoredMetadata;
  return {
    streamId: event.streamId,
    revision: event.revision,
    position: toGlobal(event.position),
    type: event.type,
    data: event.data as Record<string, unknown>,
    metadata: metadata as EventMetadata,
  };
}
