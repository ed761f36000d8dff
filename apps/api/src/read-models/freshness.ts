/**
 * Read-your-writes: a read that names a position (the one a command's receipt carried) waits until
 * every projection has applied it, for a bounded time, then answers — or says clearly why not.
 */
import { Inject, Injectable } from '@nestjs/common';
import { reject } from '@ledger/domain';
import { comparePositions, formatPosition, type EventStore, type GlobalPosition } from '@ledger/event-store';
import { projections } from '@ledger/projections';
import type { Kysely } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { LedgerHttpError } from '../errors/ledger-http-error';
import type { LedgerDatabase } from '@ledger/database';
import { DATABASE, EVENT_STORE } from '../infrastructure/tokens';

/** The first wait between polls; it doubles up to MAX_POLL_MS, so a long wait costs few queries. */
const POLL_MS = 10;
const MAX_POLL_MS = 200;
/** How long a position may be ahead of the store's head before it is refused as one no receipt gave. */
const AHEAD_GRACE_MS = 250;
export const FRESHNESS_TIMEOUT_MS = 5_000;

@Injectable()
export class ReadModelFreshness {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

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
    const started = Date.now();
    let pause = POLL_MS;
    let withinHead = false;
    for (;;) {
      const reached = await this.reached();
      if (reached && comparePositions(reached, position) >= 0) return;
      if (!withinHead) {
        // A position no append has reached will never be projected: say so at once, not in 5 s.
        // The Postgres store's head waits for older transactions still committing, so a fresh
        // receipt may be ahead of it for a moment: only a position still ahead after a short
        // grace is refused.
        const head = await this.store.headPosition();
        withinHead = head !== null && comparePositions(position, head) <= 0;
        if (!withinHead && Date.now() - started >= AHEAD_GRACE_MS) {
          const shown = head ? formatPosition(head) : 'empty';
          throw new LedgerHttpError(
            reject(
              'position_ahead_of_store',
              `${formatPosition(position)} is past the event store's head (${shown}): positions come from receipts`,
              { requested: formatPosition(position), head: head && formatPosition(head) },
            ),
          );
        }
      }
      if (Date.now() >= deadline) {
        throw new LedgerHttpError(
          reject(
            'read_model_behind',
            `the read models reached ${reached ? formatPosition(reached) : 'nothing yet'}, not ${formatPosition(position)}, within ${timeoutMs} ms; is the projector running?`,
            { requested: formatPosition(position), reached: reached && formatPosition(reached) },
          ),
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 2, MAX_POLL_MS);
    }
  }
}
