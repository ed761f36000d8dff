import { isArchived } from '../archive';
import type { CommandOf } from '../commands';
import { SETTLEMENT_WINDOW_DAYS, settlementWindowClosed } from '../compact';
import { event } from '../events';
import { formatCredits } from '../money';
import type { AccountState } from '../state';
import { accepted, checkAccount, rejected, type Decision, type DecisionContext } from './context';
import { missingRun } from './runs';

/** Holds part of a completed run's consumed credits for a provider's settlement. */
export function placeSettlementHold(
  state: AccountState,
  command: CommandOf<'PlaceSettlementHold'>,
  context: DecisionContext,
): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open');
  if (failure) return failure;
  const run = state.runs.get(command.runId);
  if (!run) return missingRun(state, command.runId);
  if (run.status !== 'completed') return rejected('run_not_completed', `run "${run.runId}" is ${run.status}`);
  if (state.holds.has(command.holdId) || isArchived(state.archived, 'hold', command.holdId))
    return rejected('hold_already_exists', `hold "${command.holdId}" exists already`);
  if (settlementWindowClosed(run, context.now)) {
    return rejected(
      'settlement_window_closed',
      `run "${run.runId}" completed more than ${SETTLEMENT_WINDOW_DAYS} days ago`,
      { completedAt: run.completedAt, windowDays: SETTLEMENT_WINDOW_DAYS },
    );
  }
  const holdable = run.consumed - run.held;
  if (command.amount > holdable) {
    return rejected(
      'hold_exceeds_consumed',
      `run "${run.runId}" has ${formatCredits(holdable)} consumed credits not yet held`,
      { holdable: formatCredits(holdable) },
    );
  }
  const { accountId, holdId, provider, amount } = command;
  return accepted(
    event('SettlementHoldPlaced', { accountId, runId: run.runId, projectId: run.projectId, holdId, provider, amount }),
  );
}

/** Releases a hold: paid out to the provider, or reversed. Either way the credits stay consumed. */
export function releaseSettlementHold(
  state: AccountState,
  command: CommandOf<'ReleaseSettlementHold'>,
  context: DecisionContext,
): Decision {
  const failure = checkAccount(state, command.accountId, context, 'open');
  if (failure) return failure;
  const hold = state.holds.get(command.holdId);
  if (!hold) {
    return isArchived(state.archived, 'hold', command.holdId)
      ? rejected('hold_archived', `settlement hold "${command.holdId}" was released and archived`)
      : rejected('hold_not_found', `there is no settlement hold "${command.holdId}"`);
  }
  if (hold.status !== 'held') return rejected('hold_already_released', `hold "${hold.holdId}" was ${hold.status}`);
  return accepted(
    event('SettlementHoldReleased', {
      accountId: command.accountId,
      runId: hold.runId,
      projectId: hold.projectId,
      holdId: hold.holdId,
      provider: hold.provider,
      amount: hold.amount,
      outcome: command.outcome,
    }),
  );
}
