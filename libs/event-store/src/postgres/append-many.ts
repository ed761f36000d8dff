/**
 * Many streams' appends as one statement. Postgres pays per statement far more than per row (50
 * streams as 50 statements: ~1,300 events/s; as one: ~9,000), so the command path stores the
 * decided batches of every account it has at hand together, each part under its own expected
 * revision. A part whose revision does not hold writes nothing and is answered as a conflict; the
 * others are stored. They commit together, but callers must not rely on that (EventStoreDB cannot
 * do it), only on each part being whole.
 *
 * Locking: the statement locks the stream rows it appends to in stream-id order before updating
 * them (FOR UPDATE in a sorted, materialised CTE; the UPDATE joins only rows already locked), so
 * two such statements over overlapping streams queue instead of deadlocking. Streams created by
 * the statement are inserted in the same order. The one case left — two statements creating the
 * same new streams at one instant while locking others — Postgres resolves by aborting one; it is
 * retried here a few times.
 */
import { createHash } from 'node:crypto';
import {
  WrongExpectedRevision,
  type AppendResult,
  type GlobalPosition,
  type StreamAppend,
  type StreamAppendOutcome,
} from '../port';
import type { Queryable } from './postgres-event-store';

/**
 * A write that must commit with the events, in the same statement: the command path's answers to
 * the commands that made them. `sql` gives one more CTE of the statement, which may read:
 * - `stored(stream_id)`: the streams whose part was stored (appended, or its revision confirmed);
 * - `appended(stream_id, revision, transaction_id, position)`: every event written;
 * - `last_appended(stream_id, revision, transaction_id, positions)`: each stream's last revision and
 *   transaction, and the positions of its events in revision order.
 * `veto`, if given, is a query over the statement's snapshot, run before anything is written, of
 * `(stream_id text, detail json)`: those streams' parts are not stored, and their outcome carries
 * the detail. An error raised by the write (a unique key already taken, say) fails the whole
 * statement, events included: that is how a write can refuse what its veto could not yet see.
 * `param` adds a value to the statement and returns its placeholder. The text both return must be
 * the same for every call of one caller (the statement is prepared once per connection).
 */
export interface AlongsideWrite {
  sql(param: (value: unknown) => string): string;
  veto?(param: (value: unknown) => string): string;
}

/** A stored part's result, with the global position of each of its events, in revision order. */
export type StoredPart = AppendResult & { readonly eventPositions: readonly GlobalPosition[] };

/** A part's outcome, when an alongside write may veto it. */
export type AppendManyOutcome =
  | { readonly ok: true; readonly result: StoredPart | null }
  | Exclude<StreamAppendOutcome, { ok: true }>
  | { readonly ok: false; readonly vetoed: unknown };

/** Expected revisions as the statement takes them: a number, -1 for no stream, null for any. */
const NO_STREAM = -1n;

const DEADLOCK = '40P01';
const MAX_DEADLOCK_RETRIES = 3;

function statement(alongside: string | null, veto: string | null): string {
  return `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS i(stream_id, n, expected, ord)
  ),
  vetoed AS (${veto ?? 'SELECT NULL::text AS stream_id, NULL::json AS detail WHERE false'}),
  candidates AS (SELECT * FROM input i WHERE NOT EXISTS (SELECT 1 FROM vetoed v WHERE v.stream_id = i.stream_id)),
  -- Each locked row carries its part's count and expected revision, so that the UPDATE joins the
  -- locked rows alone: joined with candidates as well, the planner (which cannot see how many
  -- parts the arrays hold) rescanned this CTE once per part, quadratic in parts per statement.
  locked AS MATERIALIZED (
    SELECT es.stream_id, es.revision, c.n, c.expected FROM event_streams es JOIN candidates c ON c.stream_id = es.stream_id
    WHERE c.n > 0
    ORDER BY es.stream_id
    FOR UPDATE OF es
  ),
  updated AS (
    UPDATE event_streams es SET revision = es.revision + l.n
    FROM locked l
    WHERE es.stream_id = l.stream_id AND (l.expected IS NULL OR es.revision = l.expected)
    RETURNING es.stream_id, es.revision
  ),
  created AS (
    INSERT INTO event_streams (stream_id, revision)
    SELECT stream_id, n - 1 FROM candidates
    WHERE n > 0 AND expected = ${NO_STREAM} AND stream_id NOT IN (SELECT stream_id FROM locked)
    ORDER BY stream_id
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING stream_id, revision
  ),
  created_any AS (
    INSERT INTO event_streams (stream_id, revision)
    SELECT stream_id, n - 1 FROM candidates
    WHERE n > 0 AND expected IS NULL AND stream_id NOT IN (SELECT stream_id FROM locked)
    ORDER BY stream_id
    ON CONFLICT (stream_id) DO UPDATE SET revision = event_streams.revision + excluded.revision + 1
    RETURNING stream_id, revision
  ),
  claimed AS (
    SELECT stream_id, revision FROM updated
    UNION ALL SELECT stream_id, revision FROM created
    UNION ALL SELECT stream_id, revision FROM created_any
  ),
  checked AS (
    SELECT i.stream_id FROM candidates i LEFT JOIN event_streams es ON es.stream_id = i.stream_id
    WHERE i.n = 0
      AND (i.expected IS NULL OR (i.expected = ${NO_STREAM} AND es.stream_id IS NULL) OR es.revision = i.expected)
  ),
  stored AS (SELECT stream_id FROM claimed UNION ALL SELECT stream_id FROM checked),
  appended AS (
    INSERT INTO events (stream_id, revision, event_id, type, data, metadata)
    SELECT e.stream_id, c.revision - i.n + e.idx, e.event_id, e.type, e.data, e.metadata
    FROM jsonb_to_recordset($4::jsonb)
        AS e(ord int, stream_id text, idx bigint, event_id uuid, type text, data jsonb, metadata jsonb)
      JOIN claimed c ON c.stream_id = e.stream_id
      JOIN input i ON i.stream_id = e.stream_id
    ORDER BY e.ord
    RETURNING stream_id, revision, transaction_id, position
  ),
  -- Each stream's events, gathered once: joined, not searched for per row (a flush of one hot
  -- account holds thousands of events). Every event of the statement has its transaction's id.
  last_appended AS (
    SELECT stream_id, max(revision) AS revision, pg_current_xact_id() AS transaction_id,
      array_agg(position ORDER BY revision) AS positions
    FROM appended GROUP BY stream_id
  )${alongside === null ? '' : `,\n  alongside AS (${alongside})`}
  SELECT i.stream_id, s.stream_id IS NOT NULL AS ok, last.revision, last.transaction_id,
    last.positions[cardinality(last.positions)] AS position, es.revision AS actual, v.detail AS vetoed,
    last.positions
  FROM input i
    LEFT JOIN stored s ON s.stream_id = i.stream_id
    LEFT JOIN vetoed v ON v.stream_id = i.stream_id
    LEFT JOIN last_appended last ON last.stream_id = i.stream_id
    LEFT JOIN event_streams es ON es.stream_id = i.stream_id
  ORDER BY i.ord`;
}

/**
 * The name a statement is prepared under, from its text: one per shape of alongside write, so a
 * handful per process, each hashed once rather than on every flush.
 */
const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `ledger-append-many-${createHash('sha1').update(text).digest('hex').slice(0, 12)}`;
    // A caller whose text varied would otherwise grow this without bound: start over instead.
    if (statementNames.size >= 64) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

interface OutcomeRow {
  readonly stream_id: string;
  readonly ok: boolean;
  readonly revision: bigint | string | null;
  readonly transaction_id: bigint | string | null;
  readonly position: bigint | string | null;
  readonly actual: bigint | string | null;
  readonly vetoed: unknown;
  readonly positions: ReadonlyArray<bigint | string> | null;
}

/** Every part through one statement (with the alongside write, if any), answered in order. */
export async function appendManyToStreams(
  db: Queryable,
  appends: readonly StreamAppend[],
  alongside?: AlongsideWrite,
): Promise<AppendManyOutcome[]> {
  if (appends.length === 0) return [];
  const distinct = new Set(appends.map((part) => part.streamId));
  if (distinct.size !== appends.length) throw new RangeError('appendMany: each stream may appear once');
  const values: unknown[] = [
    appends.map((part) => part.streamId),
    appends.map((part) => BigInt(part.events.length)),
    appends.map((part) => (part.expected === 'any' ? null : part.expected === 'no_stream' ? NO_STREAM : part.expected)),
  ];
  // The events travel as one JSON document: one serialisation, and no array literal to escape.
  let ord = 0;
  const events = appends.flatMap((part) =>
    part.events.map((event, i) => ({
      ord: ord++,
      stream_id: part.streamId,
      idx: i + 1,
      event_id: event.metadata.eventId,
      type: event.type,
      data: event.data,
      metadata: event.metadata,
    })),
  );
  values.push(JSON.stringify(events));
  const param = (value: unknown) => `$${values.push(value)}`;
  const veto = alongside?.veto?.(param) ?? null;
  const extra = alongside?.sql(param) ?? null;
  const text = statement(extra, veto);
  const name = statementName(text);
  let rows: OutcomeRow[];
  for (let attempt = 1; ; attempt++) {
    try {
      ({ rows } = await db.query<OutcomeRow>({ name, text, values }));
      break;
    } catch (error) {
      if ((error as { code?: unknown }).code !== DEADLOCK || attempt > MAX_DEADLOCK_RETRIES) throw error;
    }
  }
  return appends.map((part, i): AppendManyOutcome => {
    const row = rows[i];
    if (!row || row.stream_id !== part.streamId) throw new Error(`appendMany: no outcome for ${part.streamId}`);
    if (row.vetoed !== null) return { ok: false, vetoed: row.vetoed };
    if (!row.ok) {
      const actual = row.actual === null ? 'no_stream' : BigInt(row.actual);
      return { ok: false, conflict: new WrongExpectedRevision(part.streamId, part.expected, actual) };
    }
    if (row.revision === null || row.transaction_id === null || row.position === null)
      return { ok: true, result: null };
    const commit = BigInt(row.transaction_id);
    const position: GlobalPosition = { commit, prepare: BigInt(row.position) };
    const eventPositions = (row.positions ?? []).map((prepare) => ({ commit, prepare: BigInt(prepare) }));
    return { ok: true, result: { revision: BigInt(row.revision), position, eventPositions } };
  });
}
