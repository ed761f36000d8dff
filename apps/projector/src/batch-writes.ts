/**
 * One statement for a batch's writes. Postgres pays per statement far more than per row, and a
 * projector batch used to send one statement per table per projection, plus one per checkpoint:
 * ~13 statements for a single command. Here each projection is handed a database whose writes wait
 * instead of running; when the batch commits they go out together, as the data-modifying CTEs of
 * one statement whose last part moves every checkpoint — says how many it moved, and notifies
 * CHECKPOINTS_CHANNEL (delivered when the batch commits, and only if it does).
 *
 * A projection still reads before it writes (the rows a batch changes): a read runs at once, after
 * sending that projection's own waiting writes, so it reads what it wrote. Projections own disjoint
 * tables, so one projection's waiting writes never change what another reads. Within one statement
 * no row may be written twice, and every CTE sees the table as it was before the statement: so a
 * write to a table that already has one waiting sends the waiting ones first.
 */
import { CHECKPOINTS_CHANNEL } from '@ledger/database';
import { preparedStatement } from '@ledger/platform';
import type { GlobalPosition } from '@ledger/event-store';
import type { ReadModelTables } from '@ledger/projections';
import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type RootOperationNode,
} from 'kysely';

/** Postgres takes at most 65535 parameters per statement; one combined statement stays below. */
const MAX_PARAMETERS = 65_000;

/** A projection's checkpoint, moved by the batch from where it stood to after its last event. */
export interface CheckpointMove {
  readonly projection: string;
  readonly from: GlobalPosition;
  /** The checkpoint row's version as this projector last wrote or read it (checkpoints.ts). */
  readonly fromVersion: string;
  readonly to: GlobalPosition;
  readonly events: number;
}

interface Waiting {
  readonly owner: string;
  readonly table: string;
  readonly query: CompiledQuery;
}

export class BatchWrites {
  private waiting: Waiting[] = [];
  /** Statements sent to Postgres through this batch. */
  statements = 0;

  /** Owners that have sent writes in this transaction: their reads must see them, so run on `tx`. */
  private readonly wrote = new Set<string>();
  /** Owners that wrote anything in this batch, sent or waiting. */
  readonly changed = new Set<string>();

  /**
   * `tx` is the batch's transaction; `reads`, when given, serves the reads of a projection that has
   * written nothing yet in it. Such a projection's own writes are all still waiting, so a read
   * elsewhere sees what one in `tx` would, unless another writer changes the tables meanwhile; and
   * every other writer (a rebuild's swap, another projector) moves the checkpoint rows in the same
   * transaction, so `commit` then moves fewer checkpoints than asked and the caller rolls the batch
   * back. Reads of several projections then run side by side instead of one round trip after
   * another, even before the caller's locks are granted.
   */
  constructor(
    private readonly tx: Kysely<ReadModelTables>,
    private readonly reads?: Kysely<ReadModelTables>,
  ) {}

  /** The database `owner` (a projection) writes through for this batch. */
  for(owner: string): Kysely<ReadModelTables> {
    const connection: DatabaseConnection = {
      executeQuery: <R>(query: CompiledQuery): Promise<QueryResult<R>> => this.execute(owner, query),
      streamQuery: () => {
        throw new Error('a projection may not stream inside a batch');
      },
    };
    const driver: Driver = {
      init: async () => undefined,
      acquireConnection: async () => connection,
      beginTransaction: async () => {
        throw new Error('a projection runs inside the batch transaction and may not open its own');
      },
      commitTransaction: async () => undefined,
      rollbackTransaction: async () => undefined,
      releaseConnection: async () => undefined,
      destroy: async () => undefined,
    };
    return new Kysely<ReadModelTables>({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => driver,
        createIntrospector: (db) => new PostgresIntrospector(db),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
    });
  }

  /**
   * Sends every waiting write and moves the checkpoints, in one statement; resolves to the new
   * version of each checkpoint that stood where `moves` says it did, as the projector left it
   * (each such one is moved; the caller rolls back unless all were). Each of `channels` is
   * notified too, at commit.
   */
  async commit(moves: readonly CheckpointMove[], channels: readonly string[] = []): Promise<Map<string, string>> {
    const parts = this.take(() => true);
    const values = [
      moves.map((move) => move.projection),
      moves.map((move) => move.from.commit),
      moves.map((move) => move.from.prepare),
      moves.map((move) => move.to.commit),
      moves.map((move) => move.to.prepare),
      moves.map((move) => BigInt(move.events)),
      moves.map((move) => move.fromVersion),
    ];
    const parameters = parts.flatMap((query) => query.parameters);
    const sql = shaped(parts, `moved ${channels.length}`, () =>
      commitStatement(combine(parts), parameters.length, channels.length),
    );
    this.statements += 1;
    const result = await this.tx.executeQuery<{ moved: Record<string, string> }>(
      CompiledQuery.raw(sql, [...parameters, ...values, ...channels]),
    );
    return new Map(Object.entries(result.rows[0]?.moved ?? {}));
  }

  private async execute<R>(owner: string, query: CompiledQuery): Promise<QueryResult<R>> {
    const writing = writes(query);
    if (writing) this.changed.add(owner);
    const table = deferrable(query);
    if (table !== null) {
      const sameTable = this.waiting.some((waiting) => waiting.table === table);
      const parameters = this.waiting.reduce((sum, waiting) => sum + waiting.query.parameters.length, 0);
      if (sameTable || parameters + query.parameters.length > MAX_PARAMETERS) await this.send(() => true);
      this.waiting.push({ owner, table, query });
      return { rows: [] };
    }
    await this.send((waiting) => waiting.owner === owner);
    this.statements += 1;
    // A write that cannot wait (an update, say) belongs to the transaction like any other.
    if (writing) this.wrote.add(owner);
    const on = this.reads && !this.wrote.has(owner) ? this.reads : this.tx;
    return on.executeQuery<R>(query);
  }

  /** Sends the chosen waiting writes now, as one statement. */
  private async send(chosen: (waiting: Waiting) => boolean): Promise<void> {
    for (const waiting of this.waiting) if (chosen(waiting)) this.wrote.add(waiting.owner);
    const parts = this.take(chosen);
    if (parts.length === 0) return;
    const sql = shaped(parts, 'select 1', () => `${combine(parts)}\nSELECT 1`);
    this.statements += 1;
    await this.tx.executeQuery(
      CompiledQuery.raw(
        sql,
        parts.flatMap((query) => query.parameters),
      ),
    );
  }

  private take(chosen: (waiting: Waiting) => boolean): CompiledQuery[] {
    const taken = this.waiting.filter(chosen).map((waiting) => waiting.query);
    this.waiting = this.waiting.filter((waiting) => !chosen(waiting));
    return taken;
  }
}

/**
 * The statement of `queries` followed by `tail`, built once per shape: batch after batch the parts
 * are the same few statements with new parameters, so the combined text is looked up rather than
 * renumbered again, and it is prepared on the connection (platform's prepared-statements.ts).
 */
const statements = new Map<string, string>();
/** Shapes are few (subsets of the read-model tables); the bound only guards against a runaway caller. */
const MOST_SHAPES = 256;

function shaped(queries: readonly CompiledQuery[], tail: string, build: () => string): string {
  const key = `${queries.map((query) => query.sql).join('\u0000')}\u0000${tail}`;
  let statement = statements.get(key);
  if (statement === undefined) {
    statement = preparedStatement(build());
    if (statements.size >= MOST_SHAPES) statements.clear();
    statements.set(key, statement);
  }
  return statement;
}

/**
 * Moves the checkpoints after `writes` (the combined parts, taking `at` parameters), says which it
 * moved, and notifies the checkpoints channel and `channels` more, whose names are parameters.
 */
function commitStatement(writes: string, at: number, channels: number): string {
  const notify = Array.from({ length: channels }, (_, i) => `, pg_notify($${at + 8 + i}, '')`).join('');
  return `${writes}${writes ? ',\n' : 'WITH '}moved AS (
      UPDATE projection_checkpoints c
      SET position_commit = m.to_commit, position_prepare = m.to_prepare,
        events_applied = c.events_applied + m.events, updated_at = now()
      FROM unnest($${at + 1}::text[], $${at + 2}::bigint[], $${at + 3}::bigint[], $${at + 4}::bigint[],
          $${at + 5}::bigint[], $${at + 6}::bigint[], $${at + 7}::text[])
        AS m(projection, from_commit, from_prepare, to_commit, to_prepare, events, from_version)
      WHERE c.projection = m.projection AND c.position_commit = m.from_commit AND c.position_prepare = m.from_prepare
        AND c.xmin::text = m.from_version
      RETURNING c.projection, c.xmin::text AS version
    )
    SELECT (SELECT coalesce(json_object_agg(projection, version), '{}') FROM moved) AS moved,
      pg_notify('${CHECKPOINTS_CHANNEL}', '')${notify}`;
}

/**
 * `WITH w0 AS (...), w1 AS (...)` of the queries, their placeholders renumbered to follow one
 * another; empty text for no queries.
 */
function combine(queries: readonly CompiledQuery[]): string {
  let offset = 0;
  const ctes = queries.map((query, i) => {
    const at = offset;
    offset += query.parameters.length;
    return `w${i} AS (${query.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + at}`)})`;
  });
  return ctes.length > 0 ? `WITH ${ctes.join(',\n')}` : '';
}

/** Whether a query may change rows (anything but a plain read). */
function writes(query: CompiledQuery): boolean {
  const kind = query.query.kind;
  if (kind === 'SelectQueryNode') return false;
  if (kind === 'RawNode') return !/^\s*(select|with\s+[a-z_][a-z0-9_]*\s+as\s*\(\s*select)\b/i.test(query.sql);
  return true;
}

/**
 * The table a query writes, when it may wait: an insert that returns nothing (nobody waits for its
 * rows) and whose text holds no quoted literal (its placeholders are then the only `$n` in it,
 * which renumbering relies on). Anything else — updates and deletes included — runs at once.
 */
function deferrable(query: CompiledQuery): string | null {
  if (/['"]|\$\$/.test(query.sql.replace(/"[a-z_][a-z0-9_]*"/g, ''))) return null;
  const node: RootOperationNode = query.query;
  switch (node.kind) {
    case 'InsertQueryNode':
      return node.returning ? null : (node.into?.table.identifier.name ?? null);
    case 'RawNode': {
      const match = /^\s*insert\s+into\s+([a-z_][a-z0-9_.]*)/i.exec(query.sql);
      return match && !/\breturning\b/i.test(query.sql) ? (match[1] ?? null) : null;
    }
    default:
      return null;
  }
}
