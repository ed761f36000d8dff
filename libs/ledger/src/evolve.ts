/**
 * evolve(state, event) → state: how each recorded fact changes a billing account.
 *
 * Ownership rule: evolve updates the state it is given and returns it, so folding a long stream
 * costs O(events), not O(events × runs). A caller that needs the state from before an event keeps
 * its own copy (`cloneState`); `decide` never mutates.
 */
import { isConditionKind } from './commands';
import type { EventOf, GrantDraw, LedgerEvent } from './events';
import { invariant } from './invariant';
import type { AccountState, Grant, Run } from './state';
import { drawOrder } from './draw-order';
import { earlierOf, earliestDue, initialState } from './state';
import { copyArchivedIds, isKnownArchived } from './archive';

type Handlers = { [T in LedgerEvent['type']]: (state: AccountState, data: EventOf<T>['data']) => void };

function grantOf(state: AccountState, grantId: string): Grant {
  const grant = state.grants.get(grantId);
  invariant(grant, `event refers to grant ${grantId}, which holds no credits`);
  return grant;
}

function runOf(state: AccountState, runId: string): Run {
  const run = state.runs.get(runId);
  invariant(run, `event refers to unknown run ${runId}`);
  return run;
}

function dropIfSpent(state: AccountState, grant: Grant): void {
  if (grant.free === 0n && grant.reserved === 0n) state.grants.delete(grant.grantId);
}

/**
 * Keeps `nextDueAt` exact after a due instant left the account (a grant's last free credit went,
 * or a scheduled grant took effect): only when it was the earliest is the walk needed.
 */
function dueInstantGone(state: AccountState, instant: string | null): void {
  if (instant !== null && instant === state.nextDueAt) state.nextDueAt = earliestDue(state);
}

/** Where a grant stands, or would stand, in the draw queue (binary search: the queue is sorted). */
function queueIndex(state: AccountState, grant: Grant): number {
  let low = 0;
  let high = state.drawQueue.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (drawOrder(state.grants.get(state.drawQueue[middle]!)!, grant) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** A grant came to hold free credits: it joins the draw queue, and its lapse is due. */
function gainedFree(state: AccountState, grant: Grant): void {
  state.drawQueue.splice(queueIndex(state, grant), 0, grant.grantId);
  state.nextDueAt = earlierOf(state.nextDueAt, grant.expiresAt);
}

/** Takes free credits out of a grant (drawn, reserved or expired). */
function takeFree(state: AccountState, grant: Grant, amount: bigint): void {
  grant.free -= amount;
  if (grant.free !== 0n) return;
  state.drawQueue.splice(queueIndex(state, grant), 1);
  dueInstantGone(state, grant.expiresAt);
}

function drawsTotal(draws: readonly GrantDraw[]): bigint {
  return draws.reduce((total, draw) => total + draw.amount, 0n);
}

/** Moves reserved credits of a run back to (or out of) each grant they were reserved from. */
function takeFromReservation(state: AccountState, run: Run, draws: readonly GrantDraw[], into: 'free' | 'consumed') {
  for (const { grantId, amount } of draws) {
    const grant = grantOf(state, grantId);
    const outstanding = run.reservation.get(grantId) ?? 0n;
    invariant(outstanding >= amount && grant.reserved >= amount, `run ${run.runId} reserved less from ${grantId}`);
    grant.reserved -= amount;
    grant[into] += amount;
    if (into === 'free' && grant.free === amount) gainedFree(state, grant);
    if (outstanding === amount) run.reservation.delete(grantId);
    else run.reservation.set(grantId, outstanding - amount);
    dropIfSpent(state, grant);
  }
  const total = drawsTotal(draws);
  run.reserved -= total;
  state.totals.reserved -= total;
}

/** A grant's credits join the buckets: free to spend, counted as included or bonus. */
function putInEffect(
  state: AccountState,
  grant: Omit<Grant, 'sequence' | 'free' | 'reserved' | 'consumed' | 'expired'>,
) {
  const inEffect: Grant = {
    ...grant,
    sequence: state.grantSequence++,
    free: grant.amount,
    reserved: 0n,
    consumed: 0n,
    expired: 0n,
  };
  state.grants.set(grant.grantId, inEffect);
  if (grant.source === 'plan_included') state.totals.included += grant.amount;
  else state.totals.bonus += grant.amount;
  gainedFree(state, inEffect);
}

const handlers: Handlers = {
  BillingAccountOpened(state, { accountId, name }) {
    state.accountId = accountId;
    state.name = name;
    state.status = 'active';
  },
  SubscriptionStarted(state, { plan, period }) {
    state.subscription = { plan, period, previousPeriod: null };
  },
  PlanChanged(state, { plan }) {
    invariant(state.subscription, 'plan changed without a subscription');
    state.subscription = { ...state.subscription, plan };
  },
  SubscriptionPeriodRenewed(state, { period }) {
    invariant(state.subscription, 'period renewed without a subscription');
    state.subscription = { ...state.subscription, period, previousPeriod: state.subscription.period };
  },
  ProjectAttached(state, { projectId, name }) {
    state.projects.set(projectId, { name });
  },
  CreditsGranted(state, { grantId, source, amount, effectiveAt, expiresAt, projectId }) {
    invariant(
      !state.grantIds.has(grantId) && !isKnownArchived(state.archived, 'grant', grantId),
      `grant ${grantId} granted twice`,
    );
    state.grantIds.add(grantId);
    if (effectiveAt !== null) {
      state.scheduledGrants.set(grantId, { grantId, source, projectId, amount, effectiveAt, expiresAt });
      state.nextDueAt = earlierOf(state.nextDueAt, effectiveAt);
      return;
    }
    putInEffect(state, { grantId, source, projectId, amount, effectiveAt, expiresAt });
  },
  CreditsBecameEffective(state, { grantId, amount }) {
    const grant = state.scheduledGrants.get(grantId);
    invariant(grant && grant.amount === amount, `grant ${grantId} is not scheduled for ${amount}`);
    state.scheduledGrants.delete(grantId);
    putInEffect(state, grant);
    dueInstantGone(state, grant.effectiveAt);
  },
  CreditsExpired(state, { grantId, amount }) {
    const grant = grantOf(state, grantId);
    invariant(grant.free >= amount, `grant ${grantId} expires more than it has free`);
    takeFree(state, grant, amount);
    grant.expired += amount;
    state.totals.expired += amount;
    dropIfSpent(state, grant);
  },
  RunAccepted(state, { runId, projectId, action, capabilityBand, estimatedCost }) {
    invariant(!state.runs.has(runId) && !isKnownArchived(state.archived, 'run', runId), `run ${runId} accepted twice`);
    state.runs.set(runId, {
      runId,
      projectId,
      action,
      capabilityBand,
      estimatedCost,
      status: 'accepted',
      reservation: new Map(),
      reserved: 0n,
      consumed: 0n,
      held: 0n,
      actualCost: null,
      completedAt: null,
    });
  },
  CreditsReserved(state, { runId, amount, draws }) {
    const run = runOf(state, runId);
    invariant(drawsTotal(draws) === amount, `reservation of run ${runId} does not add up`);
    for (const draw of draws) {
      const grant = grantOf(state, draw.grantId);
      invariant(grant.free >= draw.amount, `grant ${draw.grantId} reserves more than it has free`);
      takeFree(state, grant, draw.amount);
      grant.reserved += draw.amount;
      run.reservation.set(draw.grantId, (run.reservation.get(draw.grantId) ?? 0n) + draw.amount);
    }
    run.reserved += amount;
    state.totals.reserved += amount;
  },
  RunCompleted(state, { runId, actualCost, completedAt }) {
    const run = runOf(state, runId);
    run.status = 'completed';
    run.actualCost = actualCost;
    run.completedAt = completedAt;
  },
  CreditsConsumed(state, { runId, amount, fromReservation, reservationDraws, overrun, overrunDraws }) {
    const run = runOf(state, runId);
    invariant(
      drawsTotal(reservationDraws) === fromReservation &&
        drawsTotal(overrunDraws) === overrun &&
        fromReservation + overrun === amount,
      `consumption of run ${runId} does not add up`,
    );
    takeFromReservation(state, run, reservationDraws, 'consumed');
    for (const { grantId, amount: drawn } of overrunDraws) {
      const grant = grantOf(state, grantId);
      invariant(grant.free >= drawn, `grant ${grantId} gives more than it has free`);
      takeFree(state, grant, drawn);
      grant.consumed += drawn;
      dropIfSpent(state, grant);
    }
    run.consumed += amount;
    state.totals.consumed += amount;
  },
  ReservationReleased(state, { runId, amount, draws }) {
    invariant(drawsTotal(draws) === amount, `release of run ${runId} does not add up`);
    takeFromReservation(state, runOf(state, runId), draws, 'free');
  },
  CommercialExceptionRecorded(state, { amount }) {
    state.shortfall += amount;
  },
  RunFailed(state, { runId }) {
    runOf(state, runId).status = 'failed';
  },
  RunCancelled(state, { runId }) {
    runOf(state, runId).status = 'cancelled';
  },
  SettlementHoldPlaced(state, { holdId, runId, projectId, provider, amount }) {
    invariant(
      !state.holds.has(holdId) && !isKnownArchived(state.archived, 'hold', holdId),
      `hold ${holdId} placed twice`,
    );
    const run = runOf(state, runId);
    run.held += amount;
    state.holds.set(holdId, { holdId, runId, projectId, provider, amount, status: 'held' });
    state.totals.hold += amount;
  },
  SettlementHoldReleased(state, { holdId, amount, outcome }) {
    const hold = state.holds.get(holdId);
    invariant(hold?.status === 'held' && hold.amount === amount, `hold ${holdId} released wrongly`);
    hold.status = outcome;
    state.totals.hold -= amount;
    // A paid-out hold's credits are settled for good; a reversed hold's may be held again — unless
    // the run's settlement window closed and compaction archived it: then nothing can hold them.
    const run = state.runs.get(hold.runId);
    if (outcome === 'reversed' && run) run.held -= amount;
  },
  AccountSuspended(state) {
    state.status = 'suspended';
  },
  AccountReactivated(state) {
    state.status = 'active';
  },
  BillingAccountClosed(state) {
    state.status = 'closed';
  },
  AlertRuleDefined(state, { ruleId, kind, threshold }) {
    state.alertRules.set(ruleId, { ruleId, kind, threshold, firing: false });
  },
  AlertRuleRemoved(state, { ruleId }) {
    state.alertRules.delete(ruleId);
  },
  AlertFired(state, { ruleId }) {
    const rule = state.alertRules.get(ruleId);
    invariant(rule, `alert fired for unknown rule ${ruleId}`);
    // An event kind fires on each event and never clears: it is never "firing".
    if (isConditionKind(rule.kind)) rule.firing = true;
  },
  AlertCleared(state, { ruleId }) {
    const rule = state.alertRules.get(ruleId);
    invariant(rule, `alert cleared for unknown rule ${ruleId}`);
    rule.firing = false;
  },
};

export function evolve(state: AccountState, event: LedgerEvent): AccountState {
  (handlers[event.type] as (state: AccountState, data: LedgerEvent['data']) => void)(state, event.data);
  return state;
}

export function fold(events: Iterable<LedgerEvent>, state: AccountState = initialState()): AccountState {
  for (const event of events) evolve(state, event);
  return state;
}

/** A deep copy, for callers that must keep a state from before further events. */
export function cloneState(state: AccountState): AccountState {
  return {
    ...state,
    subscription: state.subscription && { ...state.subscription },
    projects: new Map(state.projects),
    grants: new Map([...state.grants].map(([id, grant]) => [id, { ...grant }])),
    scheduledGrants: new Map(state.scheduledGrants),
    drawQueue: [...state.drawQueue],
    grantIds: new Set(state.grantIds),
    runs: new Map([...state.runs].map(([id, run]) => [id, { ...run, reservation: new Map(run.reservation) }])),
    holds: new Map([...state.holds].map(([id, hold]) => [id, { ...hold }])),
    archived: copyArchivedIds(state.archived),
    totals: { ...state.totals },
    alertRules: new Map([...state.alertRules].map(([id, rule]) => [id, { ...rule }])),
  };
}
