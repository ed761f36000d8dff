/**
 * The event store on Postgres: `events` holds every event, `event_streams` each stream's revision.
 *
 * The global order is (transaction_id, position), and readers only ever return events whose
 * transaction id is below the oldest transaction of the cluster still running when they read
 * (FINISHED). Why: `position` is taken when a row is inserted, but the row becomes visible when its
 * transaction commits, and concurrent transactions commit in any order. A reader that advanced by
 * position alone could return position 12 while 11 is still in flight, move its cursor past 11 and
 * never see it. Every transaction below that bound has finished (committed or rolled back), and
 * any transaction still to write gets a larger id, so nothing can ever appear below what a reader
 * returned. The price is latency, never a lost event: a long transaction holding an id (any write
 * in the cluster) holds readers back until it ends.
 *
 * Subscribers are woken by a NOTIFY the store sends after each append has committed (CommitSignal),
 * not by one inside the appending transaction, which would serialise every append's commit. An
 * append made through appendToStream on a caller's client wakes nobody: subscribers find it by
 * polling (pollIntervalMs), as they find everything a lost notification would have announced.
 */
import type pg from 'pg';
import {
  WrongExpectedRevision,
  type AppendResult,
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
import { appendManyToStreams, type AlongsideWrite, type AppendManyOutcome } from './append-many';
import { EVENTS_CHANNEL } from './migrations';
import type { EventRow } from './schema';

/** A pool, or one client (e.g. inside a transaction the caller opened). */
export interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  query<R extends pg.QueryResultRow>(query: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

export interface PostgresEventStoreOptions {
  /** Rows per query when reading a stream or catching up. */
  readonly pageSize?: number;
  /**
   * How often a live subscription looks for events without being notified: a notification can
   * arrive while a transaction with a lower id is still open (the events are held back), and when
   * that transaction ends without appending anything, nobody notifies.
   */
  readonly pollIntervalMs?: number;
}

const DEFAULT_PAGE_SIZE = 1000;
const DEFAULT_POLL_INTERVAL_MS = 500;
/** The first look again at events held back by a running transaction: most end within milliseconds. */
const HELD_BACK_FIRST_WAIT_MS = 1;

type EventColumns = Pick<
  EventRow,
  'stream_id' | 'revision' | 'transaction_id' | 'position' | 'type' | 'data' | 'metadata'
>;
const EVENT_COLUMNS = 'stream_id, revision, transaction_id, position, type, data, metadata';

/**
 * The oldest transaction that may still add events: the reading statement's snapshot's xmin, the
 * oldest transaction id still running anywhere in the cluster. Every transaction below it has
 * ended (committed or rolled back), and every transaction still to write gets a larger id, so
 * nothing can ever appear below what a reader returned. It costs nothing to compute (no catalog is
 * read) and rests on nothing but Postgres' own snapshot: no reserved names, no list of who may
 * write. Transactions without an id (read-only ones, however long) do not count; any transaction
 * that took one (any write, in any database of the cluster, a NOTIFY as it commits) holds readers
 * back until it ends: latency, never a lost event. docs/benchmarks.md ("The log's read rule") argues it in full.
 */
const FINISHED = `pg_snapshot_xmin(pg_current_snapshot())`;

/**
 * The first step of an append: claim `$2` revisions on the stream row, returning its new revision,
 * or no row when the expected revision does not hold. Concurrent appenders queue on the row lock;
 * under READ COMMITTED, Postgres re-checks the UPDATE's WHERE (and the ON CONFLICT arbiter) against
 * the row as the winner committed it, so of several appenders expecting the same revision one wins.
 */
const CLAIM = {
  no_stream: `INSERT INTO event_streams (stream_id, revision) VALUES ($1, $2::bigint - 1)
      ON CONFLICT (stream_id) DO NOTHING
      RETURNING revision`,
  any: `INSERT INTO event_streams (stream_id, revision) VALUES ($1, $2::bigint - 1)
      ON CONFLICT (stream_id) DO UPDATE SET revision = event_streams.revision + $2::bigint
      RETURNING revision`,
  // A plain UPDATE rather than an upsert: expecting a revision means the stream must already exist.
  exact: `UPDATE event_streams SET revision = revision + $2::bigint
      WHERE stream_id = $1 AND revision = $7::bigint
      RETURNING revision`,
};

/** Claim and insert in one statement, so a successful append is one round trip. */
const appendSql = (claim: string): string => `
  WITH stream AS (${claim}),
  appended AS (
    INSERT INTO events (stream_id, revision, event_id, type, data, metadata)
    SELECT $1, stream.revision - $2::bigint + e.ordinality, e.event_id, e.type, e.data, e.metadata
    FROM stream,
      unnest($3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[])
        WITH ORDINALITY AS e (event_id, type, data, metadata, ordinality)
    ORDER BY e.ordinality
    RETURNING revision, position, transaction_id
  )
  SELECT revision, position, transaction_id FROM appended ORDER BY revision DESC LIMIT 1`;

const APPEND = {
  no_stream: appendSql(CLAIM.no_stream),
  any: appendSql(CLAIM.any),
  exact: appendSql(CLAIM.exact),
};

/**
 * Appends to a stream through any pool or client. The store's `append` uses its pool; a caller that
 * needs the append inside its own transaction passes its client (the events then commit with it).
 *
 * Appending no events writes nothing: it checks the expected revision and returns the stream's last
 * revision and position, and throws when the stream does not exist (there is no position to give).
 */
export async function appendToStream(
  db: Queryable,
  streamId: string,
  events: readonly EventToAppend[],
  expected: ExpectedRevision,
): Promise<AppendResult> {
  if (events.length === 0) return confirmRevision(db, streamId, expected);
  const values: unknown[] = [
    streamId,
    BigInt(events.length),
    events.map((event) => event.metadata.eventId),
    events.map((event) => event.type),
    events.map((event) => JSON.stringify(event.data)),
    events.map((event) => JSON.stringify(event.metadata)),
  ];
  const kind = typeof expected === 'bigint' ? 'exact' : expected;
  if (typeof expected === 'bigint') values.push(expected);
  // Named: each connection parses and plans the append once, then only binds and executes it.
  const { rows } = await db.query<Pick<EventRow, 'revision' | 'position' | 'transaction_id'>>({
    name: `ledger-append-${kind}`,
    text: APPEND[kind],
    values,
  });
  const last = rows[0];
  if (!last) throw new WrongExpectedRevision(streamId, expected, await currentRevision(db, streamId));
  return { revision: BigInt(last.revision), position: toPosition(last) };
}

async function confirmRevision(db: Queryable, streamId: string, expected: ExpectedRevision): Promise<AppendResult> {
  const { rows } = await db.query<Pick<EventRow, 'revision' | 'position' | 'transaction_id'>>(
    `SELECT revision, position, transaction_id FROM events WHERE stream_id = $1 ORDER BY revision DESC LIMIT 1`,
    [streamId],
  );
  const last = rows[0];
  const actual = last ? BigInt(last.revision) : 'no_stream';
  if (expected !== 'any' && expected !== actual) throw new WrongExpectedRevision(streamId, expected, actual);
  if (!last) throw new Error(`stream ${streamId}: no events to append, and the stream does not exist`);
  return { revision: BigInt(last.revision), position: toPosition(last) };
}

async function currentRevision(db: Queryable, streamId: string): Promise<bigint | 'no_stream'> {
  const { rows } = await db.query<Pick<EventRow, 'revision'>>(
    `SELECT revision FROM event_streams WHERE stream_id = $1`,
    [streamId],
  );
  return rows[0] ? BigInt(rows[0].revision) : 'no_stream';
}

// BigInt() also accepts the text pg gives when the pool has no int8/xid8 parsers.
const toPosition = (row: Pick<EventRow, 'transaction_id' | 'position'>): GlobalPosition => ({
  commit: BigInt(row.transaction_id),
  prepare: BigInt(row.position),
});

const toRecorded = (row: EventColumns): RecordedEvent => ({
  streamId: row.stream_id,
  revision: BigInt(row.revision),
  position: toPosition(row),
  type: row.type,
  data: row.data,
  metadata: row.metadata,
});

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (char) => `\\${char}`);

/**
 * A page of the log past ($1, $2), at most $3 events (of streams starting with $4), and whether
 * committed events lie beyond FINISHED. Prepared once per connection: a live subscription reads
 * it after every wake-up, and parsing and planning it each time cost more than running it.
 */
function readPageStatement(name: string, prefix: string): { readonly name: string; readonly text: string } {
  return {
    name,
    text: `WITH horizon AS MATERIALIZED (SELECT ${FINISHED} AS finished),
       page AS (
         SELECT ${EVENT_COLUMNS} FROM events
         WHERE transaction_id < (SELECT finished FROM horizon)
           AND (transaction_id, position) > ($1::text::xid8, $2::bigint)
           ${prefix}
         ORDER BY transaction_id, position
         LIMIT $3
       )
       SELECT page.*, (
         -- In index order with a limit, so that no plan reads the whole table (the table's
         -- statistics cannot know how many events lie past the horizon).
         SELECT true FROM events
         WHERE transaction_id >= (SELECT finished FROM horizon)
           AND (transaction_id, position) > ($1::text::xid8, $2::bigint)
         ORDER BY transaction_id, position
         LIMIT 1
       ) IS NOT NULL AS held_back
       FROM (SELECT) AS one LEFT JOIN page ON true
       ORDER BY page.transaction_id, page.position`,
  };
}
const READ_PAGE = readPageStatement('ledger-read-log', '');
const READ_PAGE_OF_PREFIX = readPageStatement('ledger-read-log-of-prefix', `AND stream_id LIKE $4 || '%'`);

export class PostgresEventStore implements EventStore {
  private readonly pageSize: number;
  private readonly pollIntervalMs: number;
  private readonly listeners = new Set<Listener>();
  private readonly commits: CommitSignal;
  private closed = false;

  /** The pool belongs to the caller: close() leaves it open. */
  constructor(
    private readonly pool: pg.Pool,
    options: PostgresEventStoreOptions = {},
  ) {
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.commits = new CommitSignal(pool);
  }

  async append(streamId: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    const result = await appendToStream(this.pool, streamId, events, expected);
    if (events.length > 0) await this.commits.signal();
    return result;
  }

  /** See append-many.ts. */
  appendMany(appends: readonly StreamAppend[]): Promise<StreamAppendOutcome[]> {
    return this.appendManyWith(appends) as Promise<StreamAppendOutcome[]>;
  }

  /** appendMany, with a write that commits with the events in the same statement and may veto parts. */
  async appendManyWith(appends: readonly StreamAppend[], alongside?: AlongsideWrite): Promise<AppendManyOutcome[]> {
    const outcomes = await appendManyToStreams(this.pool, appends, alongside);
    if (outcomes.some((outcome) => outcome.ok && outcome.result)) await this.commits.signal();
    return outcomes;
  }

  // No xmin rule here: appends to one stream queue on its row lock, so revisions commit in order.
  async *readStream(streamId: string, options: { fromRevision?: bigint } = {}): AsyncGenerator<RecordedEvent> {
    let from = options.fromRevision ?? 0n;
    for (;;) {
      const { rows } = await this.pool.query<EventColumns>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
        [streamId, from, this.pageSize],
      );
      for (const row of rows) yield toRecorded(row);
      const last = rows.at(-1);
      if (rows.length < this.pageSize || !last) return;
      from = BigInt(last.revision) + 1n;
    }
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return (await this.readPage(options)).events;
  }

  /**
   * One page of the log, and whether committed events lie beyond FINISHED (held back by a
   * transaction still running), found by the same statement: one probe of the log's index.
   */
  private async readPage(options: ReadAllOptions): Promise<{ events: RecordedEvent[]; heldBack: boolean }> {
    const maxCount = options.maxCount ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(maxCount) || maxCount < 0) {
      throw new RangeError(`maxCount must be a whole number, not ${maxCount}`);
    }
    if (maxCount === 0) return { events: [], heldBack: false };
    // Positions start above (0, 0): xid 0 is never assigned and identities count from 1.
    const after = options.after ?? { commit: 0n, prepare: 0n };
    const values: unknown[] = [after.commit, after.prepare, maxCount];
    if (options.streamPrefix) values.push(escapeLike(options.streamPrefix));
    // One row at least (the page's, or a row of nulls for an empty page), each with the flag.
    const { rows } = await this.pool.query<Partial<EventColumns> & { held_back: boolean }>({
      ...(options.streamPrefix ? READ_PAGE_OF_PREFIX : READ_PAGE),
      values,
    });
    const events = rows
      .filter((row) => typeof row.stream_id === 'string')
      .map((row) => toRecorded(row as EventColumns));
    return { events, heldBack: rows[0]?.held_back === true };
  }

  async *subscribeToAll(options: SubscribeOptions = {}): AsyncGenerator<RecordedEvent> {
    const { signal, streamPrefix } = options;
    if (signal?.aborted || this.closed) return;
    // Listen before the first read: a commit between reading and listening would otherwise go
    // unnoticed until the next poll.
    const listener = await Listener.start(this.pool);
    this.listeners.add(listener);
    const stop = (): void => void listener.stop();
    signal?.addEventListener('abort', stop, { once: true });
    if (signal?.aborted || this.closed) stop();
    let after = options.after;
    // While events are held back, look again soon (nobody notifies when the transaction in the
    // way ends), sooner the shorter the wait has been so far.
    let heldBackWait = HELD_BACK_FIRST_WAIT_MS;
    try {
      while (!listener.stopped) {
        // Forget earlier wake-ups: only one arriving from here on, possibly for a commit this read
        // does not see, skips the wait below.
        listener.arm();
        const page = await this.readPage({ after, streamPrefix, maxCount: this.pageSize });
        for (const event of page.events) {
          if (listener.stopped) break;
          yield event;
          after = event.position;
        }
        if (listener.failure) throw listener.failure;
        if (page.events.length === this.pageSize) continue;
        // Progress restarts the wait too: under steady load some transaction is always in the way.
        if (page.events.length > 0 || !page.heldBack) heldBackWait = HELD_BACK_FIRST_WAIT_MS;
        if (page.heldBack) {
          await listener.sleep(Math.min(heldBackWait, this.pollIntervalMs));
          heldBackWait *= 2;
        } else {
          await listener.sleep(this.pollIntervalMs);
        }
      }
      if (listener.failure) throw listener.failure;
    } finally {
      signal?.removeEventListener('abort', stop);
      this.listeners.delete(listener);
      await listener.stop();
    }
  }

  async headPosition(): Promise<GlobalPosition | null> {
    const { rows } = await this.pool.query<Pick<EventRow, 'transaction_id' | 'position'>>(
      `SELECT transaction_id, position FROM events
       WHERE transaction_id < ${FINISHED}
       ORDER BY transaction_id DESC, position DESC
       LIMIT 1`,
    );
    return rows[0] ? toPosition(rows[0]) : null;
  }

  async countAfter(options: Pick<ReadAllOptions, 'after' | 'streamPrefix'> = {}): Promise<number> {
    const after = options.after ?? { commit: 0n, prepare: 0n };
    const values: unknown[] = [after.commit, after.prepare];
    if (options.streamPrefix) values.push(escapeLike(options.streamPrefix));
    const { rows } = await this.pool.query<{ n: bigint }>(
      `SELECT count(*) AS n FROM events
       WHERE transaction_id < ${FINISHED}
         AND (transaction_id, position) > ($1::text::xid8, $2::bigint)
         ${options.streamPrefix ? `AND stream_id LIKE $3 || '%'` : ''}`,
      values,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Ends this store's subscriptions and gives back their connections, even if nobody is iterating them. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.listeners].map((listener) => listener.stop()));
  }
}

/**
 * Tells subscribers (in any process) that events were committed: one NOTIFY statement at a time,
 * and one more after it if appends committed meanwhile, so a burst of appends costs two
 * notifications, not one each. The statement writes nothing, so its commit waits for no WAL flush
 * and holds Postgres' notify lock only for an instant. A failed notification is only latency:
 * subscribers poll.
 *
 * `signal()` settles once a notification sent after the call has committed. An append waits for
 * it: a NOTIFY takes a transaction id as it commits, and a reader that catches that id in its
 * snapshot holds the log back behind it (see FINISHED), so an append that returned while its
 * notification was in flight could be missing from the caller's very next read of the log.
 */
class CommitSignal {
  private inFlight: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly pool: pg.Pool) {}

  signal(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.send().finally(() => (this.inFlight = null));
      return this.inFlight;
    }
    // The one in flight may have started before this append committed: one more follows it.
    this.next ??= this.inFlight.then(() => {
      this.next = null;
      return this.signal();
    });
    return this.next;
  }

  private async send(): Promise<void> {
    await this.pool.query(`SELECT pg_notify($1, '')`, [EVENTS_CHANNEL]).then(
      () => undefined,
      () => undefined,
    );
  }
}

/** A connection of a subscription's own that LISTENs for appends, and the waiting between reads. */
class Listener {
  stopped = false;
  failure: Error | undefined;
  private notified = false;
  private wake: (() => void) | undefined;
  private released: Promise<void> | undefined;

  private constructor(private readonly client: pg.PoolClient) {}

  static async start(pool: pg.Pool): Promise<Listener> {
    const listener = new Listener(await pool.connect());
    listener.client.on('notification', listener.onNotification);
    listener.client.on('error', listener.onError);
    try {
      await listener.client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (error) {
      listener.failure = error as Error;
      await listener.stop();
      throw error;
    }
    return listener;
  }

  arm(): void {
    this.notified = false;
  }

  /** Until a notification since arm(), the timeout, or stop(), whichever is first. */
  async sleep(ms: number): Promise<void> {
    if (this.notified || this.stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wakeUp(), ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp();
    this.released ??= this.release();
    return this.released;
  }

  private readonly onNotification = (): void => {
    this.notified = true;
    this.wakeUp();
  };

  private readonly onError = (error: Error): void => {
    this.failure ??= error;
    this.stopped = true;
    this.wakeUp();
  };

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async release(): Promise<void> {
    this.client.off('notification', this.onNotification);
    let broken = this.failure;
    if (!broken) {
      try {
        // A pooled connection must not go on receiving notifications for its next user.
        await this.client.query('UNLISTEN *');
        this.client.off('error', this.onError);
        this.client.release();
        return;
      } catch (error) {
        broken = error as Error;
      }
    }
    // A broken connection is destroyed, not pooled; onError stays on to absorb its last errors.
    this.client.release(broken);
  }
}
