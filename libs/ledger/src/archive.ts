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
 */

export type ArchivedKind = 'run' | 'hold' | 'grant';

export interface ArchivedIds {
  /** Fingerprints in ascending order. */
  sorted: Float64Array;
  /** Fingerprints added since the last merge, in the order they were added. */
  recent: number[];
}

const MERGE_AT = 1024;

export const noArchivedIds = (): ArchivedIds => ({ sorted: new Float64Array(0), recent: [] });

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

export function isArchived(ids: ArchivedIds, kind: ArchivedKind, id: string): boolean {
  const value = fingerprint(kind, id);
  return ids.recent.includes(value) || holds(ids.sorted, value);
}

export function archive(ids: ArchivedIds, kind: ArchivedKind, id: string): void {
  const value = fingerprint(kind, id);
  if (ids.recent.includes(value) || holds(ids.sorted, value)) return;
  ids.recent.push(value);
  if (ids.recent.length >= MERGE_AT) merge(ids);
}

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

export const archivedCount = (ids: ArchivedIds): number => ids.sorted.length + ids.recent.length;

/** A copy that may be changed on its own (the sorted part is shared: it is never written in place). */
export const copyArchivedIds = (ids: ArchivedIds): ArchivedIds => ({ sorted: ids.sorted, recent: [...ids.recent] });
