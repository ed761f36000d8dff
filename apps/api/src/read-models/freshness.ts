/**
 * Read-your-writes: a read that names a position (the one a command's receipt carried) waits until
 * every projection has applied it, for a bounded time, then answers — or says clearly why not.
 */
import { Inject, Injectable } from '@nestjs/common';
import { reject } from '@ledger/domain';
import { comparePositions, formatPosition, type GlobalPosition } from '@ledger/event-store';
import { projections } from '@ledger/projections';
import type { Kysely } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { LedgerHttpError } from '../errors/ledger-http-error';
import type { LedgerDatabase } from '../infrastructure/database';
import { DATABASE } from '../infrastructure/tokens';

const POLL_MS = 10;
export const FRESHNESS_TIMEOUT_MS = 5_000;

@Injectable()
export class ReadModelFreshness {
  constructor(@Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>) {}

  /** The position every projection has reached (the oldest of their checkpoints). */
  async reached(): Promise<GlobalPosition | null> {
    const rows = await this.db
      .selectFrom('projection_checkpoints')
      .select(['projection', 'position_commit', 'position_prepare'])
      .execute();
    if (rows.length < projections.length) return null;
    return rows
      .map((row) => ({ commit: row.position_commit, prepare: row.position_prepare }))
      .reduce((oldest, p) => (comparePositions(p, oldest) < 0 ? p : oldest));
  }

  async waitFor(position: GlobalPosition | undefined, timeoutMs = FRESHNESS_TIMEOUT_MS): Promise<void> {
    if (!position) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reached = await this.reached();
      if (reached && comparePositions(reached, position) >= 0) return;
      if (Date.now() >= deadline) {
        throw new LedgerHttpError(
          reject(
            'read_model_behind',
            `the read models reached ${reached ? formatPosition(reached) : 'nothing yet'}, not ${formatPosition(position)}, within ${timeoutMs} ms; is the projector running?`,
            { requested: formatPosition(position), reached: reached && formatPosition(reached) },
          ),
        );
      }
      await sleep(POLL_MS);
    }
  }
}
