/**
 * What the three projections share: dispatching an event to its handler, the position and time a
 * row is stamped with, folding many writes to one row into its latest state, and multi-row
 * statements cut to Postgres's parameter limit.
 */
import type { EventOf, EventType } from '@ledger/domain';
import type { ProjectedEvent } from './projection';

/** One handler per event type a projection cares about: the event's data (and its record) → writes. */
export type Handlers<Write> = {
  readonly [T in EventType]?: (data: EventOf<T>['data'], recorded: ProjectedEvent) => Write[];
};

/** The writes one event makes, or none when the projection ignores its type. */
export function writesOf<Write>(handlers: Handlers<Write>, recorded: ProjectedEvent): Write[] {
  const handler = handlers[recorded.event.type] as
    | ((data: ProjectedEvent['event']['data'], recorded: ProjectedEvent) => Write[])
    | undefined;
  return handler ? handler(recorded.event.data, recorded) : [];
}

export interface WrittenAt {
  position_commit: bigint;
  position_prepare: bigint;
}

/** The position columns of a row last written by this event. */
export const writtenBy = (recorded: ProjectedEvent): WrittenAt => ({
  position_commit: recorded.position.commit,
  position_prepare: recorded.position.prepare,
});

/** When the event's command was decided: the time every read model shows for it. */
export const occurredAt = (recorded: ProjectedEvent): Date => new Date(recorded.metadata.occurredAt);

/** Postgres takes at most 65535 parameters per statement; stay well below it. */
const MAX_PARAMETERS = 60_000;

/** Rows in slices small enough for one multi-row statement each. */
export function inSlices<T>(rows: readonly T[], columnsPerRow: number): T[][] {
  const size = Math.max(1, Math.floor(MAX_PARAMETERS / columnsPerRow));
  const slices: T[][] = [];
  for (let start = 0; start < rows.length; start += size) slices.push(rows.slice(start, start + size));
  return slices;
}

type CounterKeys<Row> = { [K in keyof Row]: Row[K] extends bigint ? K : never }[keyof Row];

/**
 * A change to one row of a latest-state table: create it, set fields, add to counters — or any
 * of these, applied in that order. `id` is the row's primary key, in column order.
 */
export interface RowPatch<Row> {
  readonly id: readonly string[];
  readonly create?: Row;
  readonly set?: Partial<Row>;
  readonly add?: Partial<Record<CounterKeys<Row>, bigint>>;
  readonly at: ProjectedEvent;
}

export const keyOf = (id: readonly string[]): string => id.join('\u0000');

/** The ids of rows a batch changes without creating them first: those must be read before folding. */
export function idsToLoad<Row>(patches: readonly RowPatch<Row>[]): string[][] {
  const seen = new Map<string, readonly string[]>();
  const created = new Set<string>();
  for (const patch of patches) {
    const key = keyOf(patch.id);
    if (patch.create && !seen.has(key)) created.add(key);
    if (!seen.has(key)) seen.set(key, patch.id);
  }
  return [...seen].filter(([key]) => !created.has(key)).map(([, id]) => [...id]);
}

/**
 * Folds a batch's patches, in order, onto the rows as they stood before it (`existing`, keyed by
 * `keyOf`): the latest state of every row the batch touched, each stamped with the position of
 * the event that last changed it.
 */
export function foldPatches<Row extends WrittenAt>(
  patches: readonly RowPatch<Row>[],
  existing: ReadonlyMap<string, Row>,
  table: string,
): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const patch of patches) {
    const key = keyOf(patch.id);
    let row = patch.create ? { ...patch.create } : rows.get(key);
    if (!row) {
      const before = existing.get(key);
      if (!before) {
        throw new Error(
          `${patch.at.event.type} at ${patch.at.position.commit}/${patch.at.position.prepare} changes ${table} ` +
            `row (${patch.id.join(', ')}), which the read model does not have`,
        );
      }
      row = { ...before };
    }
    if (patch.set) Object.assign(row, patch.set);
    for (const [column, amount] of Object.entries(patch.add ?? {}) as Array<[keyof Row, bigint]>) {
      (row[column] as bigint) = (row[column] as bigint) + amount;
    }
    Object.assign(row, writtenBy(patch.at));
    rows.set(key, row);
  }
  return rows;
}
