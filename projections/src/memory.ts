/**
 * What a projection remembers of its own rows between batches, so that a batch reads back from
 * Postgres only the rows it has not written itself. A live projector is the only writer of its
 * projections' tables (every write moves the checkpoint in the same transaction, and a batch only
 * commits when the checkpoint stood where the projector left it), so a row it wrote stays as it
 * wrote it until someone else moves the checkpoint — a rebuild's swap, another projector — and then
 * the projector forgets everything and starts from the checkpoints again.
 *
 * A batch remembers into its own staging area; only a committed batch's rows become memory. A
 * remembered row is never changed in place: folding copies it (shared.ts, foldPatches).
 */

/** What one batch's projection code sees: earlier batches' rows, and its own once it wrote them. */
export interface RowRecall {
  recall(table: string, key: string): unknown;
  remember(table: string, key: string, row: unknown): void;
}

/** Rows, most recently written last; the oldest go once there are more than `capacity`. */
export class RowMemory {
  private readonly rows = new Map<string, unknown>();

  constructor(private readonly capacity = 50_000) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError('capacity must be a whole number ≥ 0');
  }

  get size(): number {
    return this.rows.size;
  }

  /** A staging area for one batch; `keep` it once the batch committed, or drop it. */
  batch(): StagedRows {
    return new StagedRows(this.rows);
  }

  /** The batch committed: what it wrote is what the tables now hold. */
  keep(staged: StagedRows): void {
    for (const [key, row] of staged.written) {
      this.rows.delete(key);
      this.rows.set(key, row);
    }
    for (const key of this.rows.keys()) {
      if (this.rows.size <= this.capacity) break;
      this.rows.delete(key);
    }
  }

  /** Someone else may have written the tables, or a batch failed half-way: trust nothing kept. */
  forget(): void {
    this.rows.clear();
  }
}

export class StagedRows implements RowRecall {
  readonly written = new Map<string, unknown>();

  constructor(private readonly kept: ReadonlyMap<string, unknown>) {}

  recall(table: string, key: string): unknown {
    const at = slot(table, key);
    return this.written.get(at) ?? this.kept.get(at);
  }

  remember(table: string, key: string, row: unknown): void {
    this.written.set(slot(table, key), row);
  }
}

const slot = (table: string, key: string): string => `${table}\u0001${key}`;
