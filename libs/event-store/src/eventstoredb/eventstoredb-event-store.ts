/**
 * The event store on EventStoreDB (or KurrentDB) through `@eventstore/db-client`.
 *
 * - Append: one `appendToStream` under the expected revision. Against any server since 21.10 the
 *   client sends it through the connection's shared BatchAppend stream. The event's own id is the
 *   ESDB event id, so a retried append is recognised by the server and stored once: an append whose
 *   connection or batch stream drops before it is answered is therefore sent again, with the same
 *   ids, up to `appendAttempts` times. The answer names the last event's position (each event has
 *   its own, commit = prepare), which is the port's position: nothing is read back.
 *   `WrongExpectedVersionError` becomes the port's `WrongExpectedRevision`.
 * - Metadata (command id, idempotency key, correlation, causation, principal, schema version…)
 *   travels in the event's JSON metadata, with ESDB's `$correlationId`/`$causationId` added for its
 *   own projections (and removed again on reading).
 * - An event the ledger cannot read (binary, or data or metadata that is not a JSON object) is
 *   returned as a RecordedEvent marked `undecodable`, never thrown inside a read or subscription:
 *   `toLedgerEvent` refuses it, so the projector stops that projection visibly at it.
 * - `subscribeToAll` is a catch-up subscription with a server-side filter (the stream prefix, or
 *   "no system events"). It keeps the server's checkpoints as its progress, so a dropped
 *   subscription resubscribes, with growing pauses, from the last event delivered or the last
 *   checkpoint after it, whichever is later: nothing lost, nothing repeated, and no rescan of what
 *   the filter already passed over.
 * - `readAll` and `countAfter` read with the same server-side filter (a catch-up subscription that
 *   ends when it has caught up: client 6.x has no filtered read), so only matching events cross
 *   the wire. A projection's lag (`countAfter` from its checkpoint) costs a read of the log written
 *   since that checkpoint, stopped at `countLimit`, never a scan of `$all` from the start.
 */
import {
  ANY,
  BACKWARDS,
  CancelledError,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  NotLeaderError,
  START,
  StreamNotFoundError,
  streamNameFilter,
  UnavailableError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type AppendResult as ClientAppendResult,
  type EventData,
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

/** The client's connection settings this ledger states explicitly (the client's own defaults). */
export interface EventStoreDbConnectionSettings {
  /** Every read and append must be answered within this (the client's `defaultDeadline`). */
  readonly deadlineMs?: number;
  /** How often the connection is pinged when idle (`keepAliveInterval`; -1: never). */
  readonly keepAliveIntervalMs?: number;
  /** How long a ping may go unanswered before the connection counts as dropped (`keepAliveTimeout`). */
  readonly keepAliveTimeoutMs?: number;
}

export const DEFAULT_CONNECTION_SETTINGS: Required<EventStoreDbConnectionSettings> = {
  deadlineMs: 10_000,
  keepAliveIntervalMs: 10_000,
  keepAliveTimeoutMs: 10_000,
};

const CONNECTION_STRING_KEYS: Record<keyof EventStoreDbConnectionSettings, string> = {
  deadlineMs: 'defaultDeadline',
  keepAliveIntervalMs: 'keepAliveInterval',
  keepAliveTimeoutMs: 'keepAliveTimeout',
};

/** The value a connection string gives a client setting itself (the client reads keys in any case). */
function connectionStringSetting(connectionString: string, key: keyof EventStoreDbConnectionSettings) {
  const name = CONNECTION_STRING_KEYS[key];
  const match = new RegExp(`[?&]${name}=([^&]*)`, 'i').exec(connectionString);
  return match ? match[1] : undefined;
}

/**
 * The connection string with the settings in it: a setting the string names itself stays as the
 * string has it; the others come from `settings`, then from the defaults.
 */
export function withConnectionSettings(
  connectionString: string,
  settings: EventStoreDbConnectionSettings = {},
): { connectionString: string; settings: Required<EventStoreDbConnectionSettings> } {
  let result = connectionString;
  const effective = { ...DEFAULT_CONNECTION_SETTINGS };
  for (const key of Object.keys(CONNECTION_STRING_KEYS) as (keyof EventStoreDbConnectionSettings)[]) {
    const given = connectionStringSetting(connectionString, key);
    if (given !== undefined && Number.isInteger(Number(given))) {
      effective[key] = Number(given);
      continue;
    }
    effective[key] = settings[key] ?? DEFAULT_CONNECTION_SETTINGS[key];
    result += `${result.includes('?') ? '&' : '?'}${CONNECTION_STRING_KEYS[key]}=${effective[key]}`;
  }
  return { connectionString: result, settings: effective };
}

export interface EventStoreDbOptions {
  /** Events per read of a stream or of `$all`, and the filter's search window on `$all`. */
  readonly pageSize?: number;
  /** Pause before resubscribing after a drop, or before sending an append again: doubles from the first to the second. */
  readonly resubscribeDelayMs?: readonly [number, number];
  /** countAfter stops counting here (and returns it): lag beyond it is "at least this much". */
  readonly countLimit?: number;
  /** How many times one append is sent when the connection drops before it is answered (at least 1). */
  readonly appendAttempts?: number;
  /** The client's deadline and keepalive (connect() only; the connection string's own win). */
  readonly connection?: EventStoreDbConnectionSettings;
  /** Told when a subscription drops and resubscribes. */
  readonly onSubscriptionDropped?: (error: Error, retryInMs: number) => void;
  /** Told when an append is sent again after its connection dropped. */
  readonly onAppendRetried?: (error: Error, attempt: number) => void;
  /**
   * Told when a subscription's progress moves to a server checkpoint: every event up to there has
   * been delivered or passed over by the filter, and a resubscription starts after it.
   */
  readonly onProgress?: (position: GlobalPosition, streamPrefix: string | undefined) => void;
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
const DEFAULT_APPEND_ATTEMPTS = 3;
/** Server positions are below 2^63; a checkpoint at 2^64 − 1 is the server saying "end", not a place. */
const LAST_LOG_POSITION = (1n << 63n) - 1n;

const isSystem = (streamId: string, type: string): boolean => streamId.startsWith('$') || type.startsWith('$');

/** The errors of a connection or batch stream that went away before the server answered. */
const isDropped = (error: unknown): boolean =>
  error instanceof UnavailableError || error instanceof CancelledError || error instanceof NotLeaderError;

type StoredMetadata = EventMetadata & { $correlationId?: string; $causationId?: string };

export class EventStoreDbEventStore implements EventStore {
  private readonly pageSize: number;
  private readonly countLimit: number;
  private readonly resubscribeDelayMs: readonly [number, number];
  private readonly appendAttempts: number;
  /** A read of `$all` with no message (event, checkpoint, caught up) for this long has failed. */
  private readonly silenceMs: number;
  private readonly subscriptions = new Set<ServerSubscription>();
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
    this.appendAttempts = options.appendAttempts ?? DEFAULT_APPEND_ATTEMPTS;
    this.silenceMs = options.connection?.deadlineMs ?? DEFAULT_CONNECTION_SETTINGS.deadlineMs;
    if (!Number.isInteger(this.appendAttempts) || this.appendAttempts < 1) {
      throw new RangeError('appendAttempts must be a whole number of at least 1');
    }
  }

  /** e.g. `esdb://localhost:2113?tls=false`, or a cluster's `esdb+discover://…`. */
  static connect(connectionString: string, options: EventStoreDbOptions = {}): EventStoreDbEventStore {
    const connection = withConnectionSettings(connectionString, options.connection);
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(connection.connectionString), {
      ...options,
      connection: connection.settings,
    });
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
    let result: ClientAppendResult;
    try {
      result = await this.send(
        streamId,
        proposed,
        expected === 'no_stream' ? NO_STREAM : expected === 'any' ? ANY : expected,
      );
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = error.actualVersion;
        throw new WrongExpectedRevision(streamId, expected, typeof actual === 'bigint' ? actual : 'no_stream');
      }
      throw error;
    }
    const revision = result.nextExpectedRevision;
    if (result.position) return { revision, position: toGlobal(result.position) };
    // Every server since 21.10 answers a non-empty append with a position; an older one may not.
    const [ours] = await this.readStreamPage(streamId, revision, 1);
    if (!ours) throw new Error(`stream ${streamId}: appended revision ${revision} cannot be read back`);
    return { revision, position: ours.position };
  }

  /** Sends an append, and again (the same events, so the server stores them once) if the connection drops. */
  private async send(
    streamId: string,
    proposed: readonly EventData[],
    expectedRevision: AppendExpectedRevision,
  ): Promise<ClientAppendResult> {
    let delay = this.resubscribeDelayMs[0];
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.client.appendToStream(streamId, proposed as EventData[], { expectedRevision });
      } catch (error) {
        if (attempt >= this.appendAttempts || !isDropped(error) || this.shutdown.signal.aborted) throw error;
        this.options.onAppendRetried?.(error as Error, attempt);
        await pause(delay, this.shutdown.signal);
        delay = Math.min(delay * 2, this.resubscribeDelayMs[1]);
      }
    }
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
    await this.scan(options.after, options.streamPrefix, (event) => {
      found.push(event);
      return found.length < maxCount;
    });
    return found;
  }

  async countAfter(options: Pick<ReadAllOptions, 'after' | 'streamPrefix'> = {}): Promise<number> {
    let count = 0;
    await this.scan(options.after, options.streamPrefix, () => ++count < this.countLimit);
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
    // Everything up to here has been delivered or passed over by the filter.
    let after = options.after;
    let delay = this.resubscribeDelayMs[0];
    const key = {};
    const up = (): void => {
      this.down.delete(key);
      delay = this.resubscribeDelayMs[0];
    };
    try {
      while (!signal.aborted) {
        const live = this.subscribe(after, streamPrefix, signal);
        try {
          for (;;) {
            const item = await live.next();
            if (item === null) break;
            up();
            if (item.kind === 'caughtUp') continue;
            if (item.kind === 'checkpoint') {
              const moved = later(after, item.position);
              if (moved !== after && moved) this.options.onProgress?.(moved, streamPrefix);
              after = moved;
              continue;
            }
            const recorded = this.accept(item.resolved, streamPrefix);
            // Never twice, whatever the server resends after a resubscription.
            if (!recorded || (after && comparePositions(recorded.position, after) <= 0)) continue;
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

  /** A catch-up subscription to `$all` after a position, filtered on the server. */
  private subscribe(
    after: GlobalPosition | undefined,
    streamPrefix: string | undefined,
    signal: AbortSignal,
    silenceMs?: number,
  ): ServerSubscription {
    const filter = { maxSearchWindow: this.pageSize };
    const subscription = new ServerSubscription(
      (checkpointReached) =>
        this.client.subscribeToAll({
          // ESDB positions start above (0, 0): from there is from the start. From a position is exclusive.
          fromPosition: after && (after.commit > 0n || after.prepare > 0n) ? after : START,
          filter: streamPrefix
            ? streamNameFilter({ prefixes: [streamPrefix], ...filter, checkpointReached })
            : excludeSystemEvents({ ...filter, checkpointReached }),
        }),
      signal,
      silenceMs,
    );
    this.subscriptions.add(subscription);
    void subscription.closed.then(() => this.subscriptions.delete(subscription));
    return subscription;
  }

  /** The event as the port returns it, or undefined for what the port never returns. */
  private accept(resolved: AllStreamResolvedEvent, streamPrefix: string | undefined): RecordedEvent | undefined {
    const event = resolved.event;
    if (!event || isSystem(event.streamId, event.type)) return undefined;
    if (streamPrefix && !event.streamId.startsWith(streamPrefix)) return undefined;
    return toRecorded(event);
  }

  /**
   * Hands every matching event after a position to `take`, in order, until it returns false or
   * the read has caught up with the log.
   */
  private async scan(
    after: GlobalPosition | undefined,
    streamPrefix: string | undefined,
    take: (event: RecordedEvent) => boolean,
  ): Promise<void> {
    const read = this.subscribe(after, streamPrefix, this.shutdown.signal, this.silenceMs);
    try {
      for (;;) {
        const item = await read.next();
        if (item === null) throw new Error('the EventStoreDB read ended before it caught up');
        if (item.kind === 'caughtUp') return;
        if (item.kind !== 'event') continue;
        const recorded = this.accept(item.resolved, streamPrefix);
        if (!recorded || (after && comparePositions(recorded.position, after) <= 0)) continue;
        if (!take(recorded)) return;
      }
    } finally {
      await read.close();
    }
  }

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
}

/** A server checkpoint as progress: later than `after`, and a real place in the log. */
function later(after: GlobalPosition | undefined, checkpoint: Position): GlobalPosition | undefined {
  if (checkpoint.commit > LAST_LOG_POSITION || checkpoint.prepare > LAST_LOG_POSITION) return after;
  const position = toGlobal(checkpoint);
  return after && comparePositions(position, after) <= 0 ? after : position;
}

type Item =
  | { readonly kind: 'event'; readonly resolved: AllStreamResolvedEvent }
  | { readonly kind: 'checkpoint'; readonly position: Position }
  | { readonly kind: 'caughtUp' };

/**
 * The client's subscription as a pull-based queue of events, checkpoints and "caught up", in the
 * order the server sent them. (The client reports a checkpoint or caught-up as it reads it, while
 * events before it may still wait in its buffer; such a message is queued behind those events.)
 * It ends on abort, close, end or error; with `silenceMs`, also when the server says nothing for
 * that long (the server sends a checkpoint at least every search window while filtering).
 */
class ServerSubscription {
  private readonly subscription: AllStreamSubscription;
  private readonly queue: Item[] = [];
  /** Messages waiting for the events the client still buffers ahead of them. */
  private readonly deferred: { due: number; item: Item }[] = [];
  private eventsReceived = 0;
  private eventsQueued = 0;
  private failure: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private silence: NodeJS.Timeout | undefined;
  private markClosed!: () => void;
  /** Resolves once closed. */
  readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));
  private static readonly HIGH_WATER = 1000;

  constructor(
    open: (checkpointReached: (subscription: unknown, position: Position) => void) => AllStreamSubscription,
    private readonly signal: AbortSignal,
    private readonly silenceMs?: number,
  ) {
    this.subscription = open((_subscription, position) => this.mark({ kind: 'checkpoint', position }));
    this.subscription.on('data', (resolved: AllStreamResolvedEvent) => {
      this.eventsReceived++;
      this.push({ kind: 'event', resolved });
      this.releaseDue();
      if (this.eventsQueued >= ServerSubscription.HIGH_WATER) this.subscription.pause();
    });
    this.subscription.on('confirmation', () => this.heard());
    this.subscription.on('caughtUp', () => this.mark({ kind: 'caughtUp' }));
    this.subscription.on('error', (error: Error) => {
      this.failure ??= error;
      this.notify();
    });
    this.subscription.on('end', () => this.finish());
    this.subscription.on('close', () => this.finish());
    signal.addEventListener('abort', this.onAbort, { once: true });
    this.heard();
  }

  /** The next item, null once ended; throws what broke the subscription. */
  async next(): Promise<Item | null> {
    for (;;) {
      if (this.signal.aborted || this.closing) return null;
      const item = this.queue.shift();
      if (item) {
        if (item.kind === 'event') this.eventsQueued--;
        if (this.eventsQueued < ServerSubscription.HIGH_WATER / 2 && this.subscription.isPaused()) {
          this.subscription.resume();
        }
        return item;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.silence);
      this.signal.removeEventListener('abort', this.onAbort);
      this.notify();
      await this.subscription.unsubscribe().catch(() => undefined);
      this.subscription.destroy();
      this.markClosed();
    })();
    return this.closing;
  }

  private readonly onAbort = (): void => void this.close();

  /** Queues a checkpoint or caught-up behind the events the client received before it. */
  private mark(item: Item): void {
    this.heard();
    this.deferred.push({ due: this.eventsReceived + this.subscription.readableLength, item });
    this.releaseDue();
  }

  private releaseDue(): void {
    while (this.deferred[0] && this.deferred[0].due <= this.eventsReceived) this.push(this.deferred.shift()!.item);
  }

  private push(item: Item): void {
    if (item.kind === 'event') {
      this.eventsQueued++;
      this.heard();
    }
    this.queue.push(item);
    this.notify();
  }

  private heard(): void {
    if (this.silenceMs === undefined || this.closing) return;
    clearTimeout(this.silence);
    this.silence = setTimeout(() => {
      this.failure ??= new DeadlineExceededError(undefined, `EventStoreDB sent nothing for ${this.silenceMs} ms`);
      this.notify();
    }, this.silenceMs);
  }

  private finish(): void {
    clearTimeout(this.silence);
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

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

/** What the client returned for a stored field, as bytes again. */
function bytesOf(value: unknown): Uint8Array {
  if (value === undefined) return new Uint8Array();
  if (value instanceof Uint8Array) return value;
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
}

function toRecorded(event: NonNullable<ResolvedEvent['event']>): RecordedEvent {
  if (!event.position) throw new Error(`event ${event.id} in ${event.streamId} has no position`);
  const where = {
    streamId: event.streamId,
    revision: event.revision,
    position: toGlobal(event.position),
    type: event.type,
  };
  const reason = !event.isJson
    ? 'it is stored as binary, not JSON'
    : !isObject(event.data)
      ? 'its data is not a JSON object'
      : !isObject(event.metadata) || typeof event.metadata.eventId !== 'string'
        ? 'its metadata is not a JSON object with an eventId'
        : undefined;
  if (reason) {
    return {
      ...where,
      data: {},
      metadata: unreadableMetadata(event.id),
      undecodable: { reason, storedData: bytesOf(event.data), storedMetadata: bytesOf(event.metadata) },
    };
  }
  const {
    $correlationId: _correlation,
    $causationId: _causation,
    ...metadata
  } = event.metadata as unknown as StoredMetadata;
  return { ...where, data: event.data as Record<string, unknown>, metadata: metadata as EventMetadata };
}

/** The metadata of an event that has none the ledger can read: its ESDB id, the rest empty. */
const unreadableMetadata = (eventId: string): EventMetadata => ({
  eventId,
  schemaVersion: 0,
  commandId: '',
  commandType: '',
  idempotencyKey: '',
  requestHash: '',
  correlationId: '',
  causationId: '',
  principal: '',
  occurredAt: '',
});
