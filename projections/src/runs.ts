/**
 * The `runs` projection: every accepted run with its status and money (runs), and every settlement
 * hold with its outcome (settlement_holds). Both are latest-state tables: a batch folds its changes
 * onto the rows as they stood, in memory, and writes each touched row once.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Projection } from './projection';
import type { ReadModelTables, RunsTable, SettlementHoldsTable } from './read-models';
import {
  foldPatches,
  idsToLoad,
  inSlices,
  keyOf,
  occurredAt,
  writesOf,
  writtenBy,
  type Handlers,
  type RowPatch,
} from './shared';

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
    // Like the domain's run.held: credits of the run ever placed in holds, released or not.
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
  SettlementHoldReleased: ({ accountId, holdId, outcome }, at) => [
    {
      table: 'settlement_holds',
      id: [accountId, holdId],
      set: { status: outcome, released_at: occurredAt(at) },
      at,
    },
  ],
};

async function applyRuns(db: Kysely<ReadModelTables>, patches: RowPatch<RunRow>[]): Promise<void> {
  if (patches.length === 0) return;
  const ids = idsToLoad(patches);
  const existing = new Map<string, RunRow>();
  for (const slice of inSlices(ids, 2)) {
    const loaded = await db
      .selectFrom('runs')
      .selectAll()
      .where(({ eb, refTuple, tuple }) =>
        eb(
          refTuple('account_id', 'run_id'),
          'in',
          slice.map(([accountId, runId]) => tuple(accountId, runId)),
        ),
      )
      .execute();
    for (const row of loaded) existing.set(keyOf([row.account_id, row.run_id]), row);
  }
  const rows = [...foldPatches(patches, existing, 'runs').values()];
  for (const slice of inSlices(rows, 16)) {
    await db
      .insertInto('runs')
      .values(slice)
      .onConflict((conflict) =>
        conflict.columns(['account_id', 'run_id']).doUpdateSet((eb) => ({
          project_id: eb.ref('excluded.project_id'),
          action: eb.ref('excluded.action'),
          capability_band: eb.ref('excluded.capability_band'),
          status: eb.ref('excluded.status'),
          estimated_cost: eb.ref('excluded.estimated_cost'),
          reserved: eb.ref('excluded.reserved'),
          actual_cost: eb.ref('excluded.actual_cost'),
          consumed: eb.ref('excluded.consumed'),
          held: eb.ref('excluded.held'),
          shortfall: eb.ref('excluded.shortfall'),
          accepted_at: eb.ref('excluded.accepted_at'),
          finished_at: eb.ref('excluded.finished_at'),
          position_commit: eb.ref('excluded.position_commit'),
          position_prepare: eb.ref('excluded.position_prepare'),
        })),
      )
      .execute();
  }
}

async function applyHolds(db: Kysely<ReadModelTables>, patches: RowPatch<HoldRow>[]): Promise<void> {
  if (patches.length === 0) return;
  const ids = idsToLoad(patches);
  const existing = new Map<string, HoldRow>();
  for (const slice of inSlices(ids, 2)) {
    const loaded = await db
      .selectFrom('settlement_holds')
      .selectAll()
      .where(({ eb, refTuple, tuple }) =>
        eb(
          refTuple('account_id', 'hold_id'),
          'in',
          slice.map(([accountId, holdId]) => tuple(accountId, holdId)),
        ),
      )
      .execute();
    for (const row of loaded) existing.set(keyOf([row.account_id, row.hold_id]), row);
  }
  const rows = [...foldPatches(patches, existing, 'settlement_holds').values()];
  for (const slice of inSlices(rows, 11)) {
    await db
      .insertInto('settlement_holds')
      .values(slice)
      .onConflict((conflict) =>
        conflict.columns(['account_id', 'hold_id']).doUpdateSet((eb) => ({
          run_id: eb.ref('excluded.run_id'),
          project_id: eb.ref('excluded.project_id'),
          provider: eb.ref('excluded.provider'),
          amount: eb.ref('excluded.amount'),
          status: eb.ref('excluded.status'),
          placed_at: eb.ref('excluded.placed_at'),
          released_at: eb.ref('excluded.released_at'),
          position_commit: eb.ref('excluded.position_commit'),
          position_prepare: eb.ref('excluded.position_prepare'),
        })),
      )
      .execute();
  }
}

export const runsProjection: Projection = {
  name: 'runs',
  tables: ['runs', 'settlement_holds'],
  async applyBatch(events, db) {
    const runs: RowPatch<RunRow>[] = [];
    const holds: RowPatch<HoldRow>[] = [];
    for (const recorded of events) {
      for (const write of writesOf(runHandlers, recorded)) {
        if (write.table === 'runs') runs.push(write);
        else holds.push(write);
      }
    }
    await applyRuns(db, runs);
    await applyHolds(db, holds);
  },
};
