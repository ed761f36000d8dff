/**
 * Verifying the read models against a replay of the events — the auditor's proof that every figure
 * a dashboard shows follows from the history.
 *
 * 1. Scratch tables: an empty temporary copy of every read-model table (`LIKE … INCLUDING ALL`), on
 *    one connection of our own, gone when it ends.
 * 2. Replay: the account's events (or every account's) run through the real projections into the
 *    scratch tables, in global order and in batches as the projector runs them, each projection up
 *    to its own checkpoint — the point its live tables stand at. Alongside, the domain folds each
 *    account's events (evolve) up to the `balances` checkpoint.
 * 3. Compare, under every projection's lock (the projector waits for the few moments it takes, so
 *    the live tables and their checkpoints hold still): first catch the scratch tables up with events
 *    that arrived meanwhile, then diff table by table, row by row (a full outer join on the primary
 *    key, restricted to the account), and check the domain: the invariants hold on each folded
 *    account, and its read-model buckets equal bucketsOf(fold(events)).
 */
import {
  bucketNames,
  bucketsOf,
  evolve,
  formatCredits,
  initialState,
  invariant,
  invariantViolations,
  type AccountState,
} from '@ledger/domain';
import {
  accountIdOfStream,
  accountStreamId,
  ACCOUNT_STREAM_PREFIX,
  comparePositions,
  formatPosition,
  type EventStore,
  type GlobalPosition,
} from '@ledger/event-store';
import {
  projections as allProjections,
  readModelPrimaryKeys,
  toProjectedEvent,
  type ProjectedEvent,
  type Projection,
  type ReadModelTables,
} from '@ledger/projections';
import { sql, type Kysely, type Transaction } from 'kysely';
import { lockProjection } from '@ledger/database';

type TableName = Projection['tables'][number];

/** Columns holding credits (10^-4 units): shown as decimal credits in a diff. */
const CREDIT_COLUMNS = new Set<string>([
  ...bucketNames,
  'amount',
  'available_after',
  'estimated_cost',
  'actual_cost',
  'held',
  'shortfall',
  'included_per_period',
  'consumed_in_day',
]);

const ZERO: GlobalPosition = { commit: 0n, prepare: 0n };
const DEFAULT_BATCH_SIZE = 5000;
const DEFAULT_MISMATCH_LIMIT = 200;

export type MismatchKind = 'missing' | 'unexpected' | 'different' | 'invariant' | 'unreplayable';

export interface Mismatch {
  /** A read-model table, or "domain" for the domain's own checks. */
  readonly table: string;
  readonly kind: MismatchKind;
  readonly key: Readonly<Record<string, string>>;
  readonly columns: ReadonlyArray<{
    readonly column: string;
    readonly live: string | null;
    readonly replay: string | null;
  }>;
  readonly message: string;
}

export interface VerifyReport {
  readonly accountId: string | null;
  /** Events the domain folded (those up to the balances checkpoint). */
  readonly eventsReplayed: number;
  readonly accounts: number;
  /** Per projection, the checkpoint its tables were verified at. */
  readonly verifiedAt: Readonly<Record<string, string>>;
  readonly mismatches: readonly Mismatch[];
  /** All mismatches found; more than `mismatches` holds when a table had too many to list. */
  readonly mismatchCount: number;
  readonly warnings: readonly string[];
}

export interface VerifyOptions {
  readonly db: Kysely<ReadModelTables>;
  readonly store: EventStore;
  /** One account; every account when absent. */
  readonly accountId?: string;
  readonly projections?: readonly Projection[];
  readonly batchSize?: number;
  /** Most mismatches listed per table (all are counted). */
  readonly mismatchLimit?: number;
  readonly onProgress?: (eventsRead: number, total: number | null) => void;
  readonly liveSchema?: string;
}

/** The events of one account, or of all, in global order, in batches, up to a position. */
class EventSource {
  private buffer: ProjectedEvent[] = [];
  private after: GlobalPosition | undefined;
  private nextRevision = 0n;
  read = 0;

  constructor(
    private readonly store: EventStore,
    private readonly accountId: string | undefined,
    private readonly batchSize: number,
  ) {}

  async *upTo(limit: GlobalPosition): AsyncGenerator<ProjectedEvent[]> {
    if (this.accountId !== undefined) {
      // One stream: read what is new, ordered by position as the projector saw it.
      const fresh: ProjectedEvent[] = [];
      for await (const recorded of this.store.readStream(accountStreamId(this.accountId), {
        fromRevision: this.nextRevision,
      })) {
        fresh.push(toProjectedEvent(recorded));
        this.nextRevision = recorded.revision + 1n;
      }
      this.read += fresh.length;
      this.buffer.push(...fresh);
      this.buffer.sort((a, b) => comparePositions(a.position, b.position));
    }
    for (;;) {
      const ready = this.buffer.filter((e) => comparePositions(e.position, limit) <= 0);
      if (ready.length > 0) {
        this.buffer = this.buffer.slice(ready.length);
        for (let start = 0; start < ready.length; start += this.batchSize) {
          yield ready.slice(start, start + this.batchSize);
        }
      }
      if (this.accountId !== undefined || this.buffer.length > 0) return;
      const page = await this.store.readAll({
        after: this.after,
        maxCount: this.batchSize,
        streamPrefix: ACCOUNT_STREAM_PREFIX,
      });
      const last = page.at(-1);
      if (!last) return;
      this.after = last.position;
      this.read += page.length;
      this.buffer = page.map(toProjectedEvent);
    }
  }
}

/** One reader of the replay that stops at its own position: a projection, or the domain's fold. */
interface Consumer {
  target: GlobalPosition;
  pending: ProjectedEvent[];
  apply(events: ProjectedEvent[]): Promise<void>;
}

function feed(consumer: Consumer, batch: readonly ProjectedEvent[]): ProjectedEvent[] {
  const all = consumer.pending.length > 0 ? [...consumer.pending, ...batch] : [...batch];
  const cut = all.findIndex((e) => comparePositions(e.position, consumer.target) > 0);
  consumer.pending = cut < 0 ? [] : all.slice(cut);
  return cut < 0 ? all : all.slice(0, cut);
}

interface Checkpoints {
  readonly positions: Map<string, GlobalPosition>;
  readonly failures: Map<string, string>;
}

async function readCheckpoints(db: Kysely<ReadModelTables>, names: readonly string[]): Promise<Checkpoints> {
  const rows = await db.selectFrom('projection_checkpoints').selectAll().execute();
  const positions = new Map<string, GlobalPosition>();
  const failures = new Map<string, string>();
  for (const name of names) {
    const row = rows.find((r) => r.projection === name);
    positions.set(name, row ? { commit: BigInt(row.position_commit), prepare: BigInt(row.position_prepare) } : ZERO);
    if (row?.failure) failures.set(name, `stopped before ${row.failed_position}: ${row.failure}`);
  }
  return { positions, failures };
}

const maxPosition = (positions: Iterable<GlobalPosition>): GlobalPosition =>
  [...positions].reduce((max, p) => (comparePositions(p, max) > 0 ? p : max), ZERO);

/** Runs a projection's handlers with every table name resolving to our scratch copies. */
async function applyToScratch(tx: Transaction<ReadModelTables>, projection: Projection, events: ProjectedEvent[]) {
  const { rows } = await sql<{ path: string }>`SELECT current_setting('search_path') AS path`.execute(tx);
  const [setting] = rows;
  invariant(setting, 'current_setting answers one row');
  await sql`SELECT set_config('search_path', 'pg_temp', true)`.execute(tx);
  await projection.applyBatch(events, tx.withSchema('pg_temp'));
  await sql`SELECT set_config('search_path', ${setting.path}, true)`.execute(tx);
}

interface Fold {
  readonly state: AccountState;
  problem?: string;
  nextRevision: bigint;
}

export async function verifyReadModels(options: VerifyOptions): Promise<VerifyReport> {
  const { db, store, accountId } = options;
  const projections = options.projections ?? allProjections;
  const live = options.liveSchema ?? 'public';
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const limit = options.mismatchLimit ?? DEFAULT_MISMATCH_LIMIT;
  const names = projections.map((p) => p.name);
  const tables = projections.flatMap((p) => p.tables);
  const total =
    accountId === undefined && options.onProgress
      ? await store.countAfter({ streamPrefix: ACCOUNT_STREAM_PREFIX })
      : null;

  return db.connection().execute(async (conn) => {
    const dropScratch = async () => {
      for (const table of tables) await sql`DROP TABLE IF EXISTS ${sql.id('pg_temp', table)}`.execute(conn);
    };
    await dropScratch();
    try {
      for (const table of tables) {
        await sql`CREATE TEMP TABLE ${sql.id(table)} (LIKE ${sql.id(live, table)} INCLUDING ALL)`.execute(conn);
      }
      const source = new EventSource(store, accountId, batchSize);
      const folds = new Map<string, Fold>();
      let replayed = 0;
      const domainFold = (events: ProjectedEvent[]) => {
        replayed += events.length;
        for (const recorded of events) {
          const owner = accountIdOfStream(recorded.streamId);
          if (owner === undefined) continue;
          let fold = folds.get(owner);
          if (!fold) folds.set(owner, (fold = { state: initialState(), nextRevision: 0n }));
          if (fold.problem) continue;
          if (recorded.revision !== fold.nextRevision) {
            fold.problem = `revision ${recorded.revision} of ${recorded.streamId} came where ${fold.nextRevision} was due`;
            continue;
          }
          fold.nextRevision++;
          try {
            evolve(fold.state, recorded.event);
          } catch (error) {
            fold.problem = `${recorded.event.type} at revision ${recorded.revision} cannot be folded: ${(error as Error).message}`;
          }
        }
      };

      const consumersFor = (tx: () => Kysely<ReadModelTables> | undefined): Map<string, Consumer> => {
        const consumers = new Map<string, Consumer>();
        for (const projection of projections) {
          consumers.set(projection.name, {
            target: ZERO,
            pending: [],
            apply: async (events) => {
              const inTx = tx();
              if (inTx) await applyToScratch(inTx as Transaction<ReadModelTables>, projection, events);
              else await conn.transaction().execute((t) => applyToScratch(t, projection, events));
            },
          });
        }
        consumers.set('domain', {
          target: ZERO,
          pending: [],
          apply: async (events) => domainFold(events),
        });
        return consumers;
      };
      let currentTx: Kysely<ReadModelTables> | undefined;
      const consumers = consumersFor(() => currentTx);

      const run = async (checkpoints: Checkpoints) => {
        for (const name of names) consumers.get(name)!.target = checkpoints.positions.get(name)!;
        consumers.get('domain')!.target =
          checkpoints.positions.get('balances') ?? maxPosition(checkpoints.positions.values());
        const upTo = maxPosition([...consumers.values()].map((c) => c.target));
        const drain = async (batch: ProjectedEvent[]) => {
          for (const consumer of consumers.values()) {
            const ready = feed(consumer, batch);
            if (ready.length > 0) await consumer.apply(ready);
          }
        };
        await drain([]);
        for await (const batch of source.upTo(upTo)) {
          await drain(batch);
          options.onProgress?.(source.read, total);
        }
      };

      // Build aside, up to where the live tables stood when we looked.
      await run(await readCheckpoints(conn, names));

      return await conn.transaction().execute(async (tx) => {
        // Hold the projector still (it takes these locks for every batch), catch up, compare.
        for (const name of [...names].sort()) await lockProjection(tx, name);
        const checkpoints = await readCheckpoints(tx, names);
        currentTx = tx;
        await run(checkpoints);
        currentTx = undefined;

        const mismatches: Mismatch[] = [];
        let mismatchCount = 0;
        for (const table of tables) {
          const found = await diffTable(tx, live, table, accountId, limit);
          mismatches.push(...found.listed);
          mismatchCount += found.count;
        }
        const domain = await domainChecks(tx, live, folds, accountId);
        mismatches.push(...domain);
        mismatchCount += domain.length;

        const warnings: string[] = [];
        for (const [name, failure] of checkpoints.failures) {
          warnings.push(`projection ${name} ${failure}; its tables were verified up to its checkpoint`);
        }
        const head = await store.headPosition();
        const behind = names.filter((n) => head && comparePositions(checkpoints.positions.get(n)!, head) < 0);
        if (behind.length > 0 && head && accountId === undefined) {
          warnings.push(
            `the read models are behind the store's head ${formatPosition(head)} (${behind.join(', ')}); ` +
              `each was verified up to its own checkpoint`,
          );
        }
        if (accountId !== undefined && source.read === 0 && mismatchCount === 0) {
          throw new UnknownAccount(accountId);
        }
        return {
          accountId: accountId ?? null,
          eventsReplayed: replayed,
          accounts: folds.size,
          verifiedAt: Object.fromEntries(names.map((n) => [n, formatPosition(checkpoints.positions.get(n)!)])),
          mismatches,
          mismatchCount,
          warnings,
        };
      });
    } finally {
      await dropScratch().catch(() => undefined);
    }
  });
}

export class UnknownAccount extends Error {
  constructor(readonly accountId: string) {
    super(`there is no billing account "${accountId}": its stream has no events and the read models no rows`);
  }
}

type TextRow = Record<string, string | null>;

async function diffTable(
  tx: Transaction<ReadModelTables>,
  live: string,
  table: TableName,
  accountId: string | undefined,
  limit: number,
): Promise<{ listed: Mismatch[]; count: number }> {
  const keys = readModelPrimaryKeys[table];
  const on = sql.join(
    keys.map((k) => sql`l.${sql.id(k)} = s.${sql.id(k)}`),
    sql` AND `,
  );
  const order = sql.join(keys.map((k) => sql`coalesce(l.${sql.id(k)}, s.${sql.id(k)})`));
  const scope = accountId === undefined ? sql`` : sql`WHERE account_id = ${accountId}`;
  const asText = (alias: string) =>
    sql`(SELECT jsonb_object_agg(e.key, e.value #>> '{}') FROM jsonb_each(to_jsonb(${sql.raw(alias)})) AS e)`;
  const { rows } = await sql<{ live: TextRow | null; replay: TextRow | null }>`
    WITH l AS (SELECT * FROM ${sql.id(live, table)} ${scope}),
         s AS (SELECT * FROM ${sql.id('pg_temp', table)})
    SELECT ${asText('l')} AS live, ${asText('s')} AS replay
    FROM l FULL OUTER JOIN s ON ${on}
    WHERE to_jsonb(l) IS DISTINCT FROM to_jsonb(s)
    ORDER BY ${order}
    LIMIT ${limit + 1}`.execute(tx);
  let count = rows.length;
  if (rows.length > limit) {
    const counted = await sql<{ n: string }>`
      WITH l AS (SELECT * FROM ${sql.id(live, table)} ${scope}),
           s AS (SELECT * FROM ${sql.id('pg_temp', table)})
      SELECT count(*)::text AS n FROM l FULL OUTER JOIN s ON ${on}
      WHERE to_jsonb(l) IS DISTINCT FROM to_jsonb(s)`.execute(tx);
    count = Number(counted.rows[0]?.n ?? 0);
  }
  const listed = rows.slice(0, limit).map(({ live: l, replay: r }) => {
    const base = (l ?? r)!;
    const key = Object.fromEntries(keys.map((k) => [k, base[k] ?? '']));
    if (!l) {
      return mismatch(table, 'missing', key, [], 'missing from the read model; the replay has it');
    }
    if (!r) {
      return mismatch(table, 'unexpected', key, [], 'in the read model, but no event produces it');
    }
    const columns = Object.keys({ ...l, ...r })
      .filter((column) => (l[column] ?? null) !== (r[column] ?? null))
      .map((column) => ({ column, live: l[column] ?? null, replay: r[column] ?? null }));
    return mismatch(
      table,
      'different',
      key,
      columns,
      columns
        .map((c) => `${c.column}: read model ${show(c.column, c.live)}, replay ${show(c.column, c.replay)}`)
        .join('; '),
    );
  });
  return { listed, count };
}

function show(column: string, value: string | null): string {
  if (value === null) return 'null';
  if (CREDIT_COLUMNS.has(column) && /^-?\d+$/.test(value)) return formatCredits(BigInt(value));
  return value;
}

const mismatch = (
  table: string,
  kind: MismatchKind,
  key: Record<string, string>,
  columns: Mismatch['columns'],
  message: string,
): Mismatch => ({ table, kind, key, columns, message });

const bucketColumns = bucketNames;

/** The domain's word on each account: its invariants, and its buckets against the read model's. */
async function domainChecks(
  tx: Transaction<ReadModelTables>,
  live: string,
  folds: Map<string, Fold>,
  accountId: string | undefined,
): Promise<Mismatch[]> {
  const found: Mismatch[] = [];
  const rows = await tx
    .withSchema(live)
    .selectFrom('balance_buckets')
    .selectAll()
    .where('project_id', '=', '')
    .$if(accountId !== undefined, (q) => q.where('account_id', '=', accountId!))
    .execute();
  const liveRows = new Map(rows.map((row) => [row.account_id, row]));
  for (const [account, fold] of [...folds].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const key = { account_id: account };
    if (fold.problem) {
      found.push(mismatch('domain', 'unreplayable', key, [], `the stream cannot be replayed: ${fold.problem}`));
      continue;
    }
    if (fold.state.status === 'unopened') continue;
    for (const problem of invariantViolations(fold.state)) {
      found.push(mismatch('domain', 'invariant', key, [], `invariant broken after replay: ${problem}`));
    }
    const expected = bucketsOf(fold.state);
    const row = liveRows.get(account);
    if (!row) {
      found.push(
        mismatch('domain', 'missing', key, [], 'the read models have no buckets for the account; replay does'),
      );
      continue;
    }
    const columns = bucketColumns
      .filter((name) => row[name] === null || BigInt(row[name]!) !== expected[name])
      .map((name) => ({ column: name, live: row[name]?.toString() ?? null, replay: expected[name].toString() }));
    if (columns.length > 0) {
      found.push(
        mismatch(
          'domain',
          'different',
          key,
          columns,
          'account buckets ≠ bucketsOf(fold(events)): ' +
            columns
              .map((c) => `${c.column}: read model ${show(c.column, c.live)}, domain ${show(c.column, c.replay)}`)
              .join('; '),
        ),
      );
    }
  }
  return found;
}
