/**
 * Before a decision on an account whose archive is kept in Postgres (account-snapshots.ts), asks
 * whether the ids its commands name were archived, so that the pure decision finds every answer it
 * needs in the state (ledger archive.ts). One statement for a whole flush, none when no account of
 * it needs one: an account folded from its stream, or whose commands name only what it holds
 * alive, asks nothing.
 */
import { archiveLookups, recordProbes, unprobed, type AccountState } from '@ledger/domain';
import { sql, type Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';

/** Anything decided like a command: only the ids it names matter here. */
type NamesIds = Parameters<typeof archiveLookups>[0];

export interface DecisionToPrepare {
  readonly streamId: string;
  readonly state: AccountState;
  readonly commands: readonly NamesIds[];
}

export class ArchivedIdLookups {
  /** Statements sent: the tests read it. */
  statements = 0;

  constructor(private readonly db: Kysely<LedgerDatabase>) {}

  async prepare(decisions: readonly DecisionToPrepare[]): Promise<void> {
    const asked = decisions
      .map((decision) => ({
        decision,
        fingerprints: unprobed(
          decision.state.archived,
          decision.commands.flatMap((command) => archiveLookups(command, decision.state)),
        ),
      }))
      .filter(({ fingerprints }) => fingerprints.length > 0);
    if (asked.length === 0) return;
    const streams = asked.flatMap(({ decision, fingerprints }) => fingerprints.map(() => decision.streamId));
    const values = asked.flatMap(({ fingerprints }) => fingerprints);
    this.statements += 1;
    const { rows } = await sql<{ stream_id: string; fingerprint: bigint }>`
      SELECT a.stream_id, a.fingerprint
      FROM unnest(${streams}::text[], ${values}::bigint[]) AS wanted(stream_id, fingerprint)
      JOIN archived_ids a USING (stream_id, fingerprint)`.execute(this.db);
    const found = new Map<string, Set<number>>();
    for (const row of rows) {
      const set = found.get(row.stream_id) ?? new Set<number>();
      set.add(Number(row.fingerprint));
      found.set(row.stream_id, set);
    }
    for (const { decision, fingerprints } of asked) {
      recordProbes(decision.state.archived, fingerprints, found.get(decision.streamId) ?? new Set());
    }
  }
}
