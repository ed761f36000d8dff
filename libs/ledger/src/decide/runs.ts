import { isArchived } from '../archive';
import type { CommandOf } from '../commands';
import { event, type GrantDraw, type LedgerEvent } from '../events';
import { minCredits } from '../money';
import { spendableAt, type AccountState, type Run } from '../state';
import { admitRun } from './admission';
import { accepted, checkAccount, rejected, type Decision, type DecisionContext } from './context';
import { drawFree, drawReservation, expireReleased } from './draws';

export function acceptRun(state: AccountState, command: CommandOf<'AcceptRun'>, context: DecisionContext): Decision {
  const admitted = admitRun(state, command, context);
  if (!admitted.ok) return admitted;
  const { accountId, runId, projectId, action, capabilityBand, estimatedCost } = command;
  return accepted(
    event('RunAccepted', { accountId, runId, projectId, action, capabilityBand, estimatedCost }),
    event('CreditsReserved', {
      accountId,
      runId,
      projectId,
      amount: estimatedCost,
      draws: drawFree(state, estimatedCost, context.now),
    }),
  );
}

/** A run the state does not hold: archived (finished long ago), or never accepted. */
export function missingRun(state: AccountState, runId: string): Decision {
  return isArchived(state.archived, 'run', runId)
    ? rejected('run_archived', `run "${runId}" finished and was archived`)
    : rejected('run_not_found', `there is no run "${runId}"`);
}

/** The run a finishing command names, if it is still open; otherwise why not. */
function openRun(
  state: AccountState,
  command: { accountId: string; runId: string },
  context: DecisionContext,
): { ok: true; run: Run } | Extract<Decision, { ok: false }> {
  const failure = checkAccount(state, command.accountId, context, 'open');
  if (failure) return failure as Extract<Decision, { ok: false }>;
  const run = state.runs.get(command.runId);
  if (!run) return missingRun(state, command.runId) as Extract<Decision, { ok: false }>;
  if (run.status !== 'accepted') {
    return rejected('run_already_finished', `run "${run.runId}" is ${run.status} already`, {
      status: run.status,
    }) as Extract<Decision, { ok: false }>;
  }
  return { ok: true, run };
}

function release(
  state: AccountState,
  run: Run,
  accountId: string,
  draws: GrantDraw[],
  reason: 'completed' | 'failed' | 'cancelled',
  context: DecisionContext,
): LedgerEvent[] {
  const amount = draws.reduce((total, draw) => total + draw.amount, 0n);
  if (amount === 0n) return [];
  return [
    event('ReservationReleased', { accountId, runId: run.runId, projectId: run.projectId, amount, reason, draws }),
    ...expireReleased(state, accountId, draws, context.now),
  ];
}

export function completeRun(
  state: AccountState,
  command: CommandOf<'CompleteRun'>,
  context: DecisionContext,
): Decision {
  const found = openRun(state, command, context);
  if (!found.ok) return found;
  const { run } = found;
  const { accountId, actualCost } = command;
  const ids = { accountId, runId: run.runId, projectId: run.projectId };

  const fromReservation = minCredits(actualCost, run.reserved);
  const reservationDraws = drawReservation(state, run, fromReservation);
  const overrunWanted = actualCost - fromReservation;
  const overrun = minCredits(overrunWanted, spendableAt(state, context.now));
  const shortfall = overrunWanted - overrun;

  const consumedFrom = new Map(reservationDraws.map((d) => [d.grantId, d.amount]));
  const releaseDraws = [...run.reservation]
    .map(([grantId, reserved]) => ({ grantId, amount: reserved - (consumedFrom.get(grantId) ?? 0n) }))
    .filter((draw) => draw.amount > 0n);

  // The money moves before the run is marked completed, so that no event leaves a finished run
  // still holding a reservation (see invariants.ts): every event, not just every decision, is sound.
  return accepted(
    ...(actualCost > 0n
      ? [
          event('CreditsConsumed', {
            ...ids,
            amount: fromReservation + overrun,
            fromReservation,
            reservationDraws,
            overrun,
            overrunDraws: drawFree(state, overrun, context.now),
          }),
        ]
      : []),
    ...release(state, run, accountId, releaseDraws, 'completed', context),
    event('RunCompleted', { ...ids, actualCost, completedAt: context.now }),
    ...(shortfall > 0n
      ? [event('CommercialExceptionRecorded', { ...ids, kind: 'overrun_shortfall' as const, amount: shortfall })]
      : []),
  );
}

function endRun(
  state: AccountState,
  command: CommandOf<'FailRun'> | CommandOf<'CancelRun'>,
  context: DecisionContext,
): Decision {
  const found = openRun(state, command, context);
  if (!found.ok) return found;
  const { run } = found;
  const ids = { accountId: command.accountId, runId: run.runId, projectId: run.projectId };
  const reason = command.reason ?? null;
  const ended =
    command.type === 'FailRun' ? event('RunFailed', { ...ids, reason }) : event('RunCancelled', { ...ids, reason });
  const draws = [...run.reservation].map(([grantId, amount]) => ({ grantId, amount }));
  return accepted(
    ...release(state, run, command.accountId, draws, command.type === 'FailRun' ? 'failed' : 'cancelled', context),
    ended,
  );
}

export const failRun = (state: AccountState, command: CommandOf<'FailRun'>, context: DecisionContext) =>
  endRun(state, command, context);
export const cancelRun = (state: AccountState, command: CommandOf<'CancelRun'>, context: DecisionContext) =>
  endRun(state, command, context);
