/**
 * A billing account as its stream's events leave it. Plain data; `evolve` builds it and `decide`
 * reads it. Collections are Maps because an account may hold many runs, and evolve updates them
 * in place (see evolve.ts for the ownership rule).
 */
import type { GrantSource } from './commands';
import type { Instant } from './fields';
import { CREDIT_SCALE, creditValueInFen, type Credits } from './money';
import type { Period, PlanTerms } from './plan';

export type AccountStatus = 'unopened' | 'active' | 'suspended' | 'closed';

export interface Grant {
  readonly grantId: string;
  readonly source: GrantSource;
  readonly projectId: string | null;
  readonly amount: Credits;
  readonly expiresAt: Instant | null;
  /** Order of granting, the tie-break of the draw order. */
  readonly sequence: number;
  /** Not reserved, consumed or expired: spendable. */
  free: Credits;
  reserved: Credits;
  consumed: Credits;
  expired: Credits;
}

export type RunStatus = 'accepted' | 'completed' | 'failed' | 'cancelled';

export interface Run {
  readonly runId: string;
  readonly projectId: string;
  readonly action: string;
  readonly capabilityBand: string;
  readonly estimatedCost: Credits;
  status: RunStatus;
  /** Outstanding reservation per grant; empty once the run finishes. */
  readonly reservation: Map<string, Credits>;
  reserved: Credits;
  consumed: Credits;
  /** Part of `consumed` currently or formerly placed in settlement holds. */
  held: Credits;
  actualCost: Credits | null;
}

export type HoldStatus = 'held' | 'paid_out' | 'reversed';

export interface SettlementHold {
  readonly holdId: string;
  readonly runId: string;
  readonly projectId: string;
  readonly provider: string;
  readonly amount: Credits;
  status: HoldStatus;
}

/** The ledger's buckets. `available` is derived; the others are kept as running totals. */
export interface Buckets {
  included: Credits;
  bonus: Credits;
  available: Credits;
  reserved: Credits;
  consumed: Credits;
  hold: Credits;
  expired: Credits;
}

export interface Subscription {
  plan: PlanTerms;
  period: Period;
}

export interface AccountState {
  accountId: string | null;
  name: string | null;
  status: AccountStatus;
  subscription: Subscription | null;
  projects: Map<string, { name: string | null }>;
  /** Grants that still hold free or reserved credits; spent and lapsed ones are dropped. */
  grants: Map<string, Grant>;
  grantIds: Set<string>;
  runs: Map<string, Run>;
  holds: Map<string, SettlementHold>;
  totals: Omit<Buckets, 'available'>;
  /** Commercial exceptions: credits owed beyond every balance. */
  shortfall: Credits;
  grantSequence: number;
}

export function initialState(): AccountState {
  return {
    accountId: null,
    name: null,
    status: 'unopened',
    subscription: null,
    projects: new Map(),
    grants: new Map(),
    grantIds: new Set(),
    runs: new Map(),
    holds: new Map(),
    totals: { included: 0n, bonus: 0n, reserved: 0n, consumed: 0n, hold: 0n, expired: 0n },
    shortfall: 0n,
    grantSequence: 0,
  };
}

export const granted = (state: AccountState): Credits => state.totals.included + state.totals.bonus;

export function bucketsOf(state: AccountState): Buckets {
  const { included, bonus, reserved, consumed, hold, expired } = state.totals;
  return {
    included,
    bonus,
    available: included + bonus - reserved - consumed - expired,
    reserved,
    consumed,
    hold,
    expired,
  };
}

/** Free credits of grants that have not lapsed at `now`: what a run may reserve. */
export function spendableAt(state: AccountState, now: Instant): Credits {
  let total = 0n;
  for (const grant of state.grants.values()) {
    if (grant.expiresAt === null || grant.expiresAt > now) total += grant.free;
  }
  return total;
}

/**
 * Held credits become eligible for a provider payout once their value at the plan's credit price
 * reaches the settlement threshold. Compared in exact units: hold (10^-4 credits) × price (fen per
 * credit) against threshold (fen) × 10^4.
 */
export function settlementReached(hold: Credits, creditPriceFen: bigint, thresholdFen: bigint): boolean {
  return hold > 0n && hold * creditPriceFen >= thresholdFen * CREDIT_SCALE;
}

/** Where held credits stand against the plan's settlement threshold, valued at the plan's price. */
export function settlementPosition(state: AccountState): {
  thresholdFen: bigint;
  heldValueFen: string;
  reached: boolean;
} | null {
  const plan = state.subscription?.plan;
  if (!plan) return null;
  const hold = state.totals.hold;
  return {
    thresholdFen: plan.settlementThresholdFen,
    heldValueFen: creditValueInFen(hold, plan.creditPriceFen),
    reached: settlementReached(hold, plan.creditPriceFen, plan.settlementThresholdFen),
  };
}
