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

/** CSV as RFC 4180 writes it: a field with a comma, quote or line break is quoted, quotes doubled. */
export function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line into its fields; throws on a malformed quote. */
export function parseCsvLine(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote < 0) throw new Error('a quoted field is not closed');
        value += text.slice(i, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      fields.push(value);
      if (i === text.length) return fields;
      if (text[i] !== ',') throw new Error('text follows a quoted field');
      i++;
    } else {
      const comma = text.indexOf(',', i);
      if (comma < 0) {
        fields.push(text.slice(i));
        return fields;
      }
      fields.push(text.slice(i, comma));
      i = comma + 1;
    }
  }
}
