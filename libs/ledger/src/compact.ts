/**
 * Compaction: the decision state keeps only what a future decision can need, so that loading an
 * account costs what is still open, not how long its history is (rules.md, "Bounded state").
 *
 * `compactState` takes out of the state what no command can change any more, keeping a
 * fingerprint of each id (archive.ts) so that none is used again:
 * - failed and cancelled runs;
 * - completed runs with nothing left to hold (every consumed credit held, and no hold open that a
 *   reversal could give back), and every completed run once its settlement window has closed,
 *   with a margin for clocks that disagree;
 * - released holds;
 * - the ids of grants spent or lapsed (their credits left the state already).
 *
 * The promise, property-tested against the full history (compact.spec.ts): on a compacted state
 * every command is decided exactly as on the full one — the same events, or a refusal — except that
 * a command naming something archived is refused with a code that says so (`run_archived`,
 * `hold_archived`). Nothing is ever accepted twice; the buckets do not move.
 */
import { archive } from './archive';
import type { Instant } from './fields';
import type { AccountState, Run } from './state';

/** How long after a run completed settlement holds may still be placed on it. */
export const SETTLEMENT_WINDOW_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * Compaction waits this much longer than the window, so that a hold another process placed just
 * inside the window, by a clock a little behind this one, still finds its run.
 */
export const COMPACTION_MARGIN_MS = DAY_MS;

/** Whether holds may no longer be placed on a completed run; a completion of unknown time is long past. */
export function settlementWindowClosed(run: Pick<Run, 'completedAt'>, now: Instant): boolean {
  if (run.completedAt === null) return true;
  return Date.parse(now) >= Date.parse(run.completedAt) + SETTLEMENT_WINDOW_DAYS * DAY_MS;
}

function compactable(run: Run, openHolds: ReadonlySet<string>, now: number): boolean {
  if (run.status === 'failed' || run.status === 'cancelled') return true;
  if (run.status !== 'completed') return false;
  if (run.held === run.consumed && !openHolds.has(run.runId)) return true;
  if (run.completedAt === null) return true;
  return now >= Date.parse(run.completedAt) + SETTLEMENT_WINDOW_DAYS * DAY_MS + COMPACTION_MARGIN_MS;
}

/** Archives what no command can change any more (see above), in place; returns how many records went. */
export function compactState(state: AccountState, now: Instant): number {
  const at = Date.parse(now);
  let archived = 0;
  const openHolds = new Set<string>();
  for (const hold of state.holds.values()) {
    if (hold.status === 'held') openHolds.add(hold.runId);
    else {
      archive(state.archived, 'hold', hold.holdId);
      state.holds.delete(hold.holdId);
      archived++;
    }
  }
  for (const run of state.runs.values()) {
    if (!compactable(run, openHolds, at)) continue;
    archive(state.archived, 'run', run.runId);
    state.runs.delete(run.runId);
    archived++;
  }
  for (const grantId of state.grantIds) {
    if (state.grants.has(grantId) || state.scheduledGrants.has(grantId)) continue;
    archive(state.archived, 'grant', grantId);
    state.grantIds.delete(grantId);
    archived++;
  }
  return archived;
}
