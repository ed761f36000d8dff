/**
 * The `runs` projection: every accepted run with its status and money (runs), and every settlement
 * hold with its outcome (settlement_holds). Both are latest-state tables: a batch folds its changes
 * onto the rows as they stood, in memory, and writes each touched row once.
 */
import type { Selectable } from 'kysely';
import type { Projection, ProjectedEvent } from './projection';
import type { RunsTable, SettlementHoldsTable } from './read-models';
import {
  applyPatches,
  occurredAt,
  writesOf,
  writtenBy,
  type Handlers,
  type LatestStateTable,
  type RowPatch,
} from './shared';
import { BatchTotals, runTotals } from './totals';

type RunRow = Selectable<RunsTable>;
type HoldRow = Selectable<SettlementHoldsTable>;

export type RunWrite =
  | ({ readonly table: 'runs' } & RowPatch<RunRow>)
  | ({ readonly table: 'settlement_holds' } & RowPatch<HoldRow>);

export const runHandlers: Handlers<RunWrite> = {
  RunAccepted: ({ accountId, runId, projectId, action, capabilityBand, estimatedCost }, at) => [
    {
      table: 'runs',
      id: [accountId, runId],
      create: {
        account_id: accountId,
        run_id: runId,
        project_id: projectId,
        action,
        capability_band: capabilityBand,
        status: 'accepted',
        estimated_cost: estimatedCost,
        reserved: 0n,
        actual_cost: null,
        consumed: 0n,
        held: 0n,
        shortfall: 0n,
        accepted_at: occurredAt(at),
        finished_at: null,
        ...writtenBy(at),
      },
      at,
    },
  ],
  CreditsReserved: ({ accountId, runId, amount }, at) => [
    { table: 'runs', id: [accountId, runId], add: { reserved: amount }, at },
  ],
  CreditsConsumed: ({ accountId, runId, amount, fromReservation }, at) => [
    { table: 'runs', id: [accountId, runId], add: { reserved: -fromReservation, consumed: amount }, at },
  ],
  ReservationReleased: ({ accountId, runId, amount }, at) => [
    { table: 'runs', id: [accountId, runId], add: { reserved: -amount }, at },
  ],
  CommercialExceptionRecorded: ({ accountId, runId, amount }, at) => [
    { table: 'runs', id: [accountId, runId], add: { shortfall: amount }, at },
  ],
  RunCompleted: ({ accountId, runId, actualCost }, at) => [
    {
      table: 'runs',
      id: [accountId, runId],
      set: { status: 'completed', actual_cost: actualCost, finished_at: occurredAt(at) },
      at,
    },
  ],
  RunFailed: ({ accountId, runId }, at) => [
    { table: 'runs', id: [accountId, runId], set: { status: 'failed', finished_at: occurredAt(at) }, at },
  ],
  RunCancelled: ({ accountId, runId }, at) => [
    { table: 'runs', id: [accountId, runId], set: { status: 'cancelled', finished_at: occurredAt(at) }, at },
  ],
  SettlementHoldPlaced: ({ accountId, runId, projectId, holdId, provider, amount }, at) => [
    // Like the domain's run.held: credits of the run in holds still open or paid out.
    { table: 'runs', id: [accountId, runId], add: { held: amount }, at },
    {
      table: 'settlement_holds',
      id: [accountId, holdId],
      create: {
        account_id: accountId,
        hold_id: holdId,
        run_id: runId,
        project_id: projectId,
        provider,
        amount,
        status: 'held',
        placed_at: occurredAt(at),
        released_at: null,
        ...writtenBy(at),
      },
      at,
    },
  ],
  SettlementHoldReleased: ({ accountId, runId, holdId, amount, outcome }, at) => [
    // A reversed hold's credits may be held again.
    ...(outcome === 'reversed' ? [{ table: 'runs' as const, id: [accountId, runId], add: { held: -amount }, at }] : []),
    {
      table: 'settlement_holds',
      id: [accountId, holdId],
      set: { status: outcome, released_at: occurredAt(at) },
      at,
    },
  ],
};

/** An accepted run opens; a finished one (completed, failed or cancelled) closes. */
function countRun(totals: BatchTotals<'accepted' | 'open', never>, recorded: ProjectedEvent): void {
  const { event } = recorded;
  switch (event.type) {
    case 'RunAccepted':
      return totals.add(event.data.accountId, event.data.projectId, { accepted: 1n, open: 1n }, recorded);
    case 'RunCompleted':
    case 'RunFailed':
    case 'RunCancelled':
      return totals.add(event.data.accountId, event.data.projectId, { open: -1n }, recorded);
  }
}

const runsTable: LatestStateTable<RunRow> = { name: 'runs', key: ['account_id', 'run_id'] };
const holdsTable: LatestStateTable<HoldRow> = { name: 'settlement_holds', key: ['account_id', 'hold_id'] };

export const runsProjection: Projection = {
  name: 'runs',
  tables: ['runs', 'settlement_holds', 'run_totals'],
  queryOnlyIndexes: ['runs_account_project'],
  async applyBatch(events, db, memory) {
    const runs: RowPatch<RunRow>[] = [];
    const holds: RowPatch<HoldRow>[] = [];
    const totals = new BatchTotals(runTotals);
    for (const recorded of events) {
      for (const write of writesOf(runHandlers, recorded)) {
        if (write.table === 'runs') runs.push(write);
        else holds.push(write);
      }
      countRun(totals, recorded);
    }
    await applyPatches(db, runsTable, runs, memory);
    await applyPatches(db, holdsTable, holds, memory);
    await totals.write(db);
  },
};
