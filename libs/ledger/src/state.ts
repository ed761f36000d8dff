/**
 * A billing account as its stream's events leave it. Plain data; `evolve` builds it and `decide`
 * reads it. Collections are Maps because an account may hold many runs, and evolve updates them
 * in place (see evolve.ts for the ownership rule).
 */
import type { AlertKind, GrantSource } from './commands';
import type { Instant } from './fields';
import { creditValueInFen, type Credits, type Fen } from './money';
import type { Period, PlanTerms } from './plan';
import { noArchivedIds, type ArchivedIds } from './archive';
import { drawOrder } from './draw-order';

export type AccountStatus = 'unopened' | 'active' | 'suspended' | 'closed';

export interface Grant {
  readonly grantId: string;
  readonly source: GrantSource;
  readonly projectId: string | null;
  readonly amount: Credits;
  /** When the grant took effect, if later than it was recorded (a scheduled grant); null: at once. */
  readonly effectiveAt: Instant | null;
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
  /** Part of `consumed` held or paid out; a reversed hold gives its credits back to be held again. */
  held: Credits;
  actualCost: Credits | null;
  /** When the run completed (its settlement window starts then); null until it does, and for runs completed before this was recorded. */
  completedAt: Instant | null;
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

/**
 * The ledger's buckets, in the order every view shows them: the one place they are named. The
 * projections, the replay, the API's answers and the CLI's tables all derive from this list.
 */
export const bucketNames = ['included', 'bonus', 'available', 'reserved', 'consumed', 'hold', 'expired'] as const;
export type BucketName = (typeof bucketNames)[number];

/** A project's share of the buckets: every bucket but `available` (the wallet is account-owned). */
export type ShareBucketName = Exclude<BucketName, 'available'>;
export const shareBucketNames: readonly ShareBucketName[] = bucketNames.filter(
  (name): name is ShareBucketName => name !== 'available',
);

/** The ledger's buckets. `available` is derived; the others are kept as running totals. */
export type Buckets = Record<BucketName, Credits>;
export type ShareBuckets = Record<ShareBucketName, Credits>;

/** Every share bucket at zero: a project's share before anything moved it. */
export const zeroShareBuckets = (): ShareBuckets =>
  Object.fromEntries(shareBucketNames.map((name) => [name, 0n])) as ShareBuckets;

/**
 * A grant recorded with a validity window that has not begun: its credits are in no bucket until
 * `CreditsBecameEffective` moves them in (see rules.md, "Validity windows").
 */
export interface ScheduledGrant {
  readonly grantId: string;
  readonly source: GrantSource;
  readonly projectId: string | null;
  readonly amount: Credits;
  readonly effectiveAt: Instant;
  readonly expiresAt: Instant | null;
}

export interface Subscription {
  plan: PlanTerms;
  /** The latest period recorded: the current one, or the next one after an early renewal. */
  period: Period;
  /** The period before `period`, which stays current until `period` starts. */
  previousPeriod: Period | null;
}

/** An alert rule as defined, and whether its condition holds now (it fired and has not cleared). */
export interface AlertRule {
  readonly ruleId: string;
  readonly kind: AlertKind;
  readonly threshold: string | null;
  firing: boolean;
}

export interface AccountState {
  accountId: string | null;
  name: string | null;
  status: AccountStatus;
  subscription: Subscription | null;
  projects: Map<string, { name: string | null }>;
  /** Grants that still hold free or reserved credits; spent and lapsed ones are dropped. */
  grants: Map<string, Grant>;
  /** Grants whose validity window has not begun yet. */
  scheduledGrants: Map<string, ScheduledGrant>;
  /**
   * The earliest instant at which time alone changes the account — a scheduled grant's start, or
   * the lapse of a grant still holding free credits — or null when nothing is coming. Derived
   * from the two maps above (`earliestDue`) and kept equal to it by evolve, so that a command can
   * tell that nothing fell due without walking every grant.
   */
  nextDueAt: Instant | null;
  /**
   * The ids of the grants holding free credits, in draw order (draw-order.ts). Derived from
   * `grants` (`drawQueueOf`) and kept in order by evolve, so a draw takes from the front instead
   * of sorting every grant the account holds.
   */
  drawQueue: string[];
  /** Ids of the grants in `grants` and `scheduledGrants`, and of spent ones not yet compacted. */
  grantIds: Set<string>;
  /** Open runs, and finished ones until compaction archives them (compact.ts). */
  runs: Map<string, Run>;
  /** Open holds, and released ones until compaction archives them. */
  holds: Map<string, SettlementHold>;
  /** Fingerprints of the runs, holds and grants compaction took out: none of their ids is used again. */
  archived: ArchivedIds;
  totals: ShareBuckets;
  /** Commercial exceptions: credits owed beyond every balance. */
  shortfall: Credits;
  grantSequence: number;
  alertRules: Map<string, AlertRule>;
}

export function initialState(): AccountState {
  return {
    accountId: null,
    name: null,
    status: 'unopened',
    subscription: null,
    projects: new Map(),
    grants: new Map(),
    scheduledGrants: new Map(),
    nextDueAt: null,
    drawQueue: [],
    grantIds: new Set(),
    runs: new Map(),
    holds: new Map(),
    archived: noArchivedIds(),
    totals: zeroShareBuckets(),
    shortfall: 0n,
    grantSequence: 0,
    alertRules: new Map(),
  };
}

/** The earlier of two instants, where null is "never". */
export const earlierOf = (a: Instant | null, b: Instant | null): Instant | null =>
  a === null ? b : b === null || a <= b ? a : b;

/** What `nextDueAt` must be, worked out from the grants (evolve keeps it without this walk). */
export function earliestDue(state: Pick<AccountState, 'grants' | 'scheduledGrants'>): Instant | null {
  let due: Instant | null = null;
  for (const grant of state.scheduledGrants.values()) due = earlierOf(due, grant.effectiveAt);
  for (const grant of state.grants.values()) if (grant.free > 0n) due = earlierOf(due, grant.expiresAt);
  return due;
}

/** What `drawQueue` must be, worked out from the grants (evolve keeps it without this sort). */
export const drawQueueOf = (state: Pick<AccountState, 'grants'>): string[] =>
  [...state.grants.values()]
    .filter((grant) => grant.free > 0n)
    .sort(drawOrder)
    .map((grant) => grant.grantId);

export const granted = (state: AccountState): Credits => state.totals.included + state.totals.bonus;

/** Credits granted with a validity window still to begin: in no bucket yet. */
export function scheduled(state: AccountState): Credits {
  let total = 0n;
  for (const grant of state.scheduledGrants.values()) total += grant.amount;
  return total;
}

/**
 * The subscription period `now` falls in, if any: the latest period once it has started, the one
 * before it until then. A gap between periods, or a time before the first, is in no period.
 */
export function currentPeriod(subscription: Subscription, now: Instant): Period | null {
  const inside = (period: Period) => period.start <= now && now < period.end;
  if (inside(subscription.period)) return subscription.period;
  if (subscription.previousPeriod && inside(subscription.previousPeriod)) return subscription.previousPeriod;
  return null;
}

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
  // Before nextDueAt no grant with free credits has lapsed, and the free credits of all grants
  // are exactly what is available (invariants.ts): no walk needed.
  if (state.nextDueAt === null || state.nextDueAt > now) return bucketsOf(state).available;
  let total = 0n;
  for (const grant of state.grants.values()) {
    if (grant.expiresAt === null || grant.expiresAt > now) total += grant.free;
  }
  return total;
}

/**
 * Held credits become eligible for a provider payout once their value reaches the settlement
 * threshold. The value is the one the overview shows — whole fen at the plan's credit price,
 * rounded down — so "reached" can never disagree with the figure beside it, and a payout is
 * never made on a value the credits do not have.
 */
export function settlementReached(hold: Credits, creditPriceFen: Fen, thresholdFen: Fen): boolean {
  return hold > 0n && creditValueInFen(hold, creditPriceFen) >= thresholdFen;
}

/** Where held credits stand against the plan's settlement threshold, valued at the plan's price. */
export function settlementPosition(state: AccountState): {
  thresholdFen: Fen;
  heldValueFen: Fen;
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
