/**
 * `ledger audit export`: the account's ledger rows — every money movement, computed by replaying
 * its events with the usage projection's own rules — each linked to its event (id, type, schema
 * version, revision, position) and command facts, hash-chained (see hash-chain.ts).
 */
import { formatCredits } from '@ledger/domain';
import { formatPosition } from '@ledger/event-store';
import { replayAccountStream } from '@ledger/projections';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseInstant, requireAccount } from './args';
import type { AuditConnection } from './connection';
import { csvField } from '@ledger/platform';
import { chainHash, GENESIS_HASH, type ChainedRow } from './hash-chain';
import { CliError, EXIT_OK, line, type CliIo } from './io';

export const exportHelp = `ledger audit export --account <id> [--from <time>] [--to <time>] --format csv|jsonl --out <file>

Writes the account's ledger rows (one per money movement), computed from its events alone, each
with its event id, entry index, event type and schema version, stream revision, global position,
time, principal and command facts. The rows form a hash chain: each carries prev_hash (the previous
row's hash, 64 zeros for the first) and hash = sha256(prev_hash + canonical JSON of its other
fields). The last hash is the digest: printed, and written to <file>.digest.
Check a file with \`ledger audit check-export <file>\`.

  --account <id>      the billing account
  --from <time>       only rows of events decided at or after this ISO-8601 instant
  --to <time>         only rows of events decided before this ISO-8601 instant
  --format csv|jsonl  CSV with a header line, or one JSON object per line
  --out <file>        where to write it (overwritten)
`;

/** The exported columns, in file order (CSV header order). */
export const EXPORT_COLUMNS = [
  'seq',
  'account_id',
  'event_id',
  'entry_index',
  'event_type',
  'schema_version',
  'stream_revision',
  'position',
  'occurred_at',
  'kind',
  'amount',
  'project_id',
  'run_id',
  'grant_id',
  'grant_source',
  'hold_id',
  'reason',
  'available_after',
  'principal',
  'command_type',
  'command_id',
  'idempotency_key',
  'correlation_id',
  'causation_id',
  'prev_hash',
  'hash',
] as const;

export interface ExportDigest {
  readonly file: string;
  readonly format: 'csv' | 'jsonl';
  readonly accountId: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly rows: number;
  readonly chain: string;
  readonly digest: string;
}

export const digestPathOf = (file: string): string => `${file}.digest`;

export async function auditExport(argv: string[], io: CliIo, open: () => Promise<AuditConnection>): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      account: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const accountId = requireAccount(values.account, 'audit export');
  const format = values.format;
  if (format !== 'csv' && format !== 'jsonl') throw new CliError('audit export needs --format csv or --format jsonl');
  if (!values.out) throw new CliError('audit export needs --out <file>');
  const out = path.resolve(values.out);
  const from = values.from === undefined ? undefined : parseInstant(values.from, '--from');
  const to = values.to === undefined ? undefined : parseInstant(values.to, '--to');
  const connection = await open();
  try {
    const file = createWriteStream(out, { encoding: 'utf8' });
    const failed = new Promise<never>((_, reject) => file.on('error', reject));
    failed.catch(() => undefined);
    const write = async (text: string) => {
      if (!file.write(text)) await Promise.race([once(file, 'drain'), failed]);
    };
    if (format === 'csv') await write(`${EXPORT_COLUMNS.join(',')}\n`);
    let prev = GENESIS_HASH;
    let seq = 0;
    const pending: ChainedRow[] = [];
    const { exists } = await replayAccountStream(connection.store, accountId, {
      onEvent: ({ recorded, ledgerRows }) => {
        const time = Date.parse(recorded.metadata.occurredAt);
        if ((from !== undefined && time < Date.parse(from)) || (to !== undefined && time >= Date.parse(to))) return;
        const meta = recorded.metadata;
        for (const row of ledgerRows) {
          const content: ChainedRow = {
            seq: String(++seq),
            account_id: row.account_id,
            event_id: row.event_id,
            entry_index: String(row.entry_index),
            event_type: row.event_type,
            schema_version: String(meta.schemaVersion ?? 1),
            stream_revision: row.stream_revision.toString(),
            position: formatPosition(recorded.position),
            occurred_at: row.occurred_at.toISOString(),
            kind: row.kind,
            amount: formatCredits(row.amount),
            project_id: row.project_id,
            run_id: row.run_id,
            grant_id: row.grant_id,
            grant_source: row.grant_source,
            hold_id: row.hold_id,
            reason: row.reason,
            available_after: formatCredits(row.available_after),
            principal: meta.principal,
            command_type: meta.commandType,
            command_id: meta.commandId,
            idempotency_key: meta.idempotencyKey,
            correlation_id: meta.correlationId,
            causation_id: meta.causationId,
          };
          const hash = chainHash(prev, content);
          pending.push({ ...content, prev_hash: prev, hash });
          prev = hash;
        }
      },
    });
    if (!exists) {
      file.destroy();
      throw new CliError(`there is no billing account "${accountId}" (its stream has no events)`);
    }
    for (const row of pending) {
      await write(
        format === 'csv'
          ? `${EXPORT_COLUMNS.map((column) => csvField(row[column] ?? null)).join(',')}\n`
          : `${JSON.stringify(Object.fromEntries(EXPORT_COLUMNS.map((column) => [column, row[column] ?? null])))}\n`,
      );
    }
    file.end();
    await Promise.race([once(file, 'finish'), failed]);
    const digest: ExportDigest = {
      file: path.basename(out),
      format,
      accountId,
      from: from ?? null,
      to: to ?? null,
      rows: seq,
      chain:
        'hash = sha256(prev_hash + canonical JSON of the row without prev_hash and hash); first prev_hash = 64 zeros',
      digest: prev,
    };
    await writeFile(digestPathOf(out), `${JSON.stringify(digest, null, 2)}\n`);
    line(io, `exported ${seq} ledger row(s) of account ${accountId} to ${out}`);
    line(io, `digest ${prev} (written to ${digestPathOf(out)})`);
    return EXIT_OK;
  } finally {
    await connection.close();
  }
}
