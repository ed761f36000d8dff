/**
 * Ids that were used and are finished with — runs that ended, holds released, grants spent — kept
 * as a 53-bit fingerprint each, so that a compacted account still refuses every reuse of one while
 * holding 8 bytes for it instead of the whole record (see compact.ts). A fingerprint is a hash of
 * the kind and the id: two ids sharing one (about one chance in 10^15 per pair) would make a new id
 * be refused as archived, never an old one accepted again.
 *
 * Plain data, changed only through these functions: `sorted` is replaced, never written in place,
 * so a copy of the state may share it; `recent` collects additions until MERGE_AT of them are
 * merged in, which keeps an addition cheap and a lookup a binary search plus a short scan.
 *
 * The archive of a long-lived account outgrows what a load should move (a million events leave
 * ~200,000 ids), so it may be kept outside the state: `stored` then says that the ids archived
 * before some point live elsewhere (the API keeps them in Postgres, written with the snapshot that
 * left them out), and only the answers to the lookups made so far are here, in `probed`. Whoever
 * decides on such a state asks the store first for the ids a command names (`archiveLookups`); a
 * lookup of an id nobody asked about is a defect of that caller and fails loudly, never a guess.
 */

export type ArchivedKind = 'run' | 'hold' | 'grant';

export interface ArchivedIds {
  /** Fingerprints in ascending order. */
  sorted: Float64Array;
  /** Fingerprints added since the last merge, in the order they were added. */
  recent: number[];
  /** Null when every archived id is above; else the ids kept elsewhere, as far as they were asked about. */
  stored: StoredArchive | null;
}

export interface StoredArchive {
  /**
   * Fingerprint → whether the store holds it. An answer stays right for every copy of the state:
   * the store only gains ids, and an id archived after it was asked about was in the state then,
   * so it is archived in memory now. Copies of a state therefore share this map.
   */
  readonly probed: Map<number, boolean>;
}

const MERGE_AT = 1024;
/** Answers kept per account; older ones are forgotten (and asked again when needed). */
const PROBED_AT_MOST = 10_000;

export const noArchivedIds = (): ArchivedIds => ({ sorted: new Float64Array(0), recent: [], stored: null });

/** An archive whose ids all live in the store: what a snapshot that left them out loads to. */
export const storedArchivedIds = (): ArchivedIds => ({
  sorted: new Float64Array(0),
  recent: [],
  stored: { probed: new Map() },
});

/** Two 32-bit FNV-1a hashes of one text with different offsets, as one whole number below 2^53. */
export function fingerprint(kind: ArchivedKind, id: string): number {
  const text = `${kind}:${id}`;
  let low = 0x811c9dc5;
  let high = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    low = Math.imul(low ^ unit, 0x01000193);
    high = Math.imul(high ^ unit, 0x5bd1e995);
  }
  return (high >>> 11) * 2 ** 32 + (low >>> 0);
}

function holds(sorted: Float64Array, value: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = sorted[mid]!;
    if (at === value) return true;
    if (at < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

const inMemory = (ids: ArchivedIds, value: number): boolean => ids.recent.includes(value) || holds(ids.sorted, value);

/** Whether the id was archived. On an archive kept elsewhere, only for an id probed beforehand. */
export function isArchived(ids: ArchivedIds, kind: ArchivedKind, id: string): boolean {
  const value = fingerprint(kind, id);
  if (inMemory(ids, value)) return true;
  if (ids.stored === null) return false;
  const known = ids.stored.probed.get(value);
  if (known === undefined) {
    throw new Error(`invariant violated: the archive kept elsewhere was not asked about ${kind} "${id}" first`);
  }
  return known;
}

/**
 * Whether the id is known to be archived, asking nobody: what a fold checks its events against
 * (the decisions that made them were checked in full).
 */
export function isKnownArchived(ids: ArchivedIds, kind: ArchivedKind, id: string): boolean {
  const value = fingerprint(kind, id);
  return inMemory(ids, value) || ids.stored?.probed.get(value) === true;
}

export function archive(ids: ArchivedIds, kind: ArchivedKind, id: string): void {
  const value = fingerprint(kind, id);
  if (inMemory(ids, value)) return;
  ids.recent.push(value);
  if (ids.recent.length >= MERGE_AT) merge(ids);
}

/** The fingerprints among `wanted` that an archive kept elsewhere has not been asked about yet. */
export function unprobed(ids: ArchivedIds, wanted: Iterable<readonly [ArchivedKind, string]>): number[] {
  const { stored } = ids;
  if (stored === null) return [];
  const out = new Set<number>();
  for (const [kind, id] of wanted) {
    const value = fingerprint(kind, id);
    if (!inMemory(ids, value) && !stored.probed.has(value)) out.add(value);
  }
  return [...out];
}

/** Records the store's answers: `found` are the fingerprints among `asked` that it holds. */
export function recordProbes(ids: ArchivedIds, asked: readonly number[], found: ReadonlySet<number>): void {
  const { stored } = ids;
  if (stored === null) return;
  for (const value of asked) {
    stored.probed.delete(value);
    stored.probed.set(value, found.has(value));
  }
  // The oldest answers go first (a Map keeps insertion order): those just asked about, which a
  // decision may be about to read, stay.
  for (const oldest of stored.probed.keys()) {
    if (stored.probed.size <= PROBED_AT_MOST) break;
    stored.probed.delete(oldest);
  }
}

/** Every fingerprint held in memory (the ids archived since the store last took them, if it did). */
export const archivedInMemory = (ids: ArchivedIds): number[] => [...ids.sorted, ...ids.recent];

function merge(ids: ArchivedIds): void {
  const incoming = [...ids.recent].sort((a, b) => a - b);
  const merged = new Float64Array(ids.sorted.length + incoming.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < ids.sorted.length || j < incoming.length) {
    const fromSorted = j >= incoming.length || (i < ids.sorted.length && ids.sorted[i]! <= incoming[j]!);
    merged[k++] = fromSorted ? ids.sorted[i++]! : incoming[j++]!;
  }
  ids.sorted = merged;
  ids.recent = [];
}

/** Ids archived and held in memory (those kept elsewhere are not counted). */
export const archivedCount = (ids: ArchivedIds): number => ids.sorted.length + ids.recent.length;

/**
 * A copy that may be changed on its own: the sorted part is shared (it is never written in place),
 * and so are the store's answers (they stay right for every copy, see StoredArchive).
 */
export const copyArchivedIds = (ids: ArchivedIds): ArchivedIds => ({
  sorted: ids.sorted,
  recent: [...ids.recent],
  stored: ids.stored,
});
