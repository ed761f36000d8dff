/**
 * `ledger audit check-export FILE`: recomputes an export's hash chain and names the first row that
 * was edited, removed or moved — and, from the digest beside the file, rows cut from its end.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { digestPathOf, EXPORT_COLUMNS, type ExportDigest } from './export';
import { parseCsvLine } from '@ledger/platform';
import { chainHash, GENESIS_HASH, type ChainedRow } from './hash-chain';
import { CliError, EXIT_FINDINGS, EXIT_OK, line, type CliIo } from './io';

export const checkExportHelp = `ledger audit check-export <file>

Recomputes the hash chain of a file written by \`ledger audit export\` (CSV or JSON lines) and
compares its end with the digest in <file>.digest. Names the first row that was edited (its content
no longer matches its hash), is missing (the chain skips a link) or was reordered (a row's
predecessor sits elsewhere in the file, or the rows' order by stream revision breaks). Exits 0 when
the file is intact, 1 when it is not.
`;

export type ExportProblem = 'edited' | 'missing' | 'reordered';

export interface CheckResult {
  readonly rows: number;
  readonly digest: string;
  /** The first problem, if any. */
  readonly problem?: { readonly kind: ExportProblem; readonly line: number; readonly message: string };
  readonly digestFile: 'matches' | 'absent';
}

interface ParsedRow {
  readonly line: number;
  readonly row: ChainedRow | undefined;
  readonly error?: string;
}

function parseRows(text: string, format: 'csv' | 'jsonl'): ParsedRow[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const rows: ParsedRow[] = [];
  let header: string[] | undefined;
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const textLine = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (format === 'csv') {
      if (!header) {
        header = parseCsvLine(textLine);
        const missing = EXPORT_COLUMNS.filter((column) => !header!.includes(column));
        if (missing.length > 0) throw new CliError(`line 1 is not an export header: it lacks ${missing.join(', ')}`);
        return;
      }
      try {
        const fields = parseCsvLine(textLine);
        if (fields.length !== header.length)
          throw new Error(`${fields.length} fields, the header has ${header.length}`);
        rows.push({
          line: lineNo,
          row: Object.fromEntries(header.map((name, i) => [name, fields[i] || null])),
        });
      } catch (error) {
        rows.push({ line: lineNo, row: undefined, error: (error as Error).message });
      }
      return;
    }
    try {
      const parsed = JSON.parse(textLine) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      const values = Object.values(parsed);
      if (values.some((value) => value !== null && typeof value !== 'string')) throw new Error('a value is not text');
      rows.push({ line: lineNo, row: parsed as ChainedRow });
    } catch (error) {
      rows.push({ line: lineNo, row: undefined, error: (error as Error).message });
    }
  });
  return rows;
}

const describe = (row: ChainedRow | undefined): string =>
  row ? `event ${row.event_id ?? '?'} entry ${row.entry_index ?? '?'}` : 'an unreadable row';

/** The order rows were exported in: stream revision, then entry. */
function orderKey(row: ChainedRow): [bigint, bigint] | undefined {
  try {
    return [BigInt(row.stream_revision ?? ''), BigInt(row.entry_index ?? '')];
  } catch {
    return undefined;
  }
}

const before = (a: [bigint, bigint], b: [bigint, bigint]): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

export function checkExportText(text: string, format: 'csv' | 'jsonl', digest?: ExportDigest): CheckResult {
  const rows = parseRows(text, format);
  const lineOfHash = new Map<string, number>();
  for (const { row, line: lineNo } of rows) if (row?.hash) lineOfHash.set(row.hash, lineNo);
  let prev = GENESIS_HASH;
  let prevRow: ChainedRow | undefined;
  const fail = (kind: ExportProblem, lineNo: number, message: string): CheckResult => ({
    rows: rows.length,
    digest: prev,
    problem: { kind, line: lineNo, message: `line ${lineNo}: ${kind} — ${message}` },
    digestFile: digest ? 'matches' : 'absent',
  });
  for (const { row, line: lineNo, error } of rows) {
    if (!row) return fail('edited', lineNo, `the row cannot be read (${error})`);
    if (!row.hash || !row.prev_hash || chainHash(row.prev_hash, row) !== row.hash) {
      return fail('edited', lineNo, `${describe(row)}: its content does not match its hash`);
    }
    if (row.prev_hash !== prev) {
      const home = lineOfHash.get(row.prev_hash);
      if (home !== undefined) {
        return fail('reordered', lineNo, `${describe(row)} belongs right after line ${home}, not here`);
      }
      const key = orderKey(row);
      const prevKey = prevRow && orderKey(prevRow);
      if (key && prevKey && !before(prevKey, key)) {
        return fail('reordered', lineNo, `${describe(row)} comes before the row above it (${describe(prevRow)})`);
      }
      const gap = prevRow && row.seq && prevRow.seq ? Number(row.seq) - Number(prevRow.seq) - 1 : undefined;
      return fail(
        'missing',
        lineNo,
        `${gap && gap > 0 ? `${gap} row(s)` : 'a row'} before ${describe(row)} ` +
          `${prevRow ? `(after ${describe(prevRow)}) ` : '(at the start) '}is gone: the chain skips a link`,
      );
    }
    if (row.seq && prevRow?.seq && Number(row.seq) !== Number(prevRow.seq) + 1) {
      return fail('edited', lineNo, `${describe(row)} carries seq ${row.seq} after ${prevRow.seq}`);
    }
    prev = row.hash;
    prevRow = row;
  }
  if (digest) {
    if (digest.digest !== prev || digest.rows !== rows.length) {
      const lastLine = rows.at(-1)?.line ?? (format === 'csv' ? 1 : 0);
      return fail(
        'missing',
        lastLine + 1,
        digest.rows > rows.length
          ? `${digest.rows - rows.length} row(s) after the last line are gone: the digest file counts ${digest.rows}, the file has ${rows.length}`
          : `the chain ends in ${prev}, the digest file says ${digest.digest}`,
      );
    }
  }
  return { rows: rows.length, digest: prev, digestFile: digest ? 'matches' : 'absent' };
}

export async function auditCheckExport(argv: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true, strict: true });
  const [given] = positionals;
  if (positionals.length !== 1 || given === undefined) throw new CliError('audit check-export needs exactly one file');
  const file = path.resolve(given);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const format = file.endsWith('.jsonl') || text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
  let digest: ExportDigest | undefined;
  if (existsSync(digestPathOf(file))) {
    try {
      digest = JSON.parse(await readFile(digestPathOf(file), 'utf8')) as ExportDigest;
    } catch (error) {
      throw new CliError(`cannot read the digest ${digestPathOf(file)}: ${(error as Error).message}`);
    }
  }
  const result = checkExportText(text, format, digest);
  if (result.problem) {
    line(io, `✗ ${file}`);
    line(io, `  ${result.problem.message}`);
    return EXIT_FINDINGS;
  }
  line(io, `✓ ${file}: ${result.rows} row(s), the chain is intact; digest ${result.digest}`);
  line(
    io,
    result.digestFile === 'matches'
      ? `  matches ${digestPathOf(file)}`
      : `  no digest file beside it (${digestPathOf(file)}): rows removed from the end would go unnoticed`,
  );
  return EXIT_OK;
}
