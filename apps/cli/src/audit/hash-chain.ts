/**
 * The tamper-evident form of an export: every row carries `prev_hash` (the previous row's hash; 64
 * zeros for the first) and `hash` = sha256(prev_hash + canonical JSON of the row's other fields).
 * Canonical JSON: keys sorted, every value a string or null (money as decimal strings, counters as
 * decimal text), "" read as null. The last row's hash is the export's digest: it commits to every
 * row, and to their order.
 */
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

/** A row's fields as exported; `prev_hash` and `hash` are the chain's. */
export type ChainedRow = Record<string, string | null>;

export function canonicalContent(row: ChainedRow): string {
  const keys = Object.keys(row)
    .filter((key) => key !== 'prev_hash' && key !== 'hash')
    .sort();
  return JSON.stringify(Object.fromEntries(keys.map((key) => [key, row[key] === '' ? null : (row[key] ?? null)])));
}

export const chainHash = (prevHash: string, row: ChainedRow): string =>
  createHash('sha256')
    .update(prevHash + canonicalContent(row))
    .digest('hex');

/** Links rows into a chain, in order: each gains prev_hash and hash. */
export function chain(rows: Iterable<ChainedRow>): { rows: ChainedRow[]; digest: string } {
  let prev = GENESIS_HASH;
  const chained: ChainedRow[] = [];
  for (const row of rows) {
    const hash = chainHash(prev, row);
    chained.push({ ...row, prev_hash: prev, hash });
    prev = hash;
  }
  return { rows: chained, digest: prev };
}
