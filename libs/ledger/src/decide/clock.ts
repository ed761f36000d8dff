/**
 * What time alone has done to an account: scheduled grants whose validity window has begun take
 * effect, and the free credits of grants whose window has ended expire. The domain has no clock,
 * so these facts are recorded by the first command accepted at or after the moment they fall due
 * (the API's grant scheduler sends one on time); every decision is made on the state they leave.
 */
import { event, type ExpiryReason, type LedgerEvent } from '../events';
import { cloneState, fold } from '../evolve';
import type { Instant } from '../fields';
import type { AccountState, Grant, ScheduledGrant } from '../state';
import { compareInstants, drawOrder } from '../draw-order';
import { hasLapsed } from './draws';

/** Scheduled grants in the order they take effect: earliest start first, then by grant id (code points). */
export function activationOrder(a: ScheduledGrant, b: ScheduledGrant): number {
  return compareInstants(a.effectiveAt, b.effectiveAt) || (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0);
}

/** Scheduled grants whose window has begun by `now`, in activation order. */
function becomingEffective(state: AccountState, now: Instant) {
  return [...state.scheduledGrants.values()].filter((grant) => grant.effectiveAt <= now).sort(activationOrder);
}

type Expiring = Pick<Grant, 'grantId' | 'projectId' | 'free' | 'expiresAt' | 'sequence'>;

/** Scheduled grants taking effect, in the order given. */
export const activationsOf = (accountId: string, grants: readonly ScheduledGrant[]): LedgerEvent[] =>
  grants.map(({ grantId, source, projectId, amount }) =>
    event('CreditsBecameEffective', { accountId, grantId, source, projectId, amount }),
  );

/** The free credits of these grants expiring, in draw order. */
export const expiriesOf = (accountId: string, grants: readonly Expiring[], reason: ExpiryReason): LedgerEvent[] =>
  [...grants]
    .sort(drawOrder)
    .map(({ grantId, projectId, free }) =>
      event('CreditsExpired', { accountId, grantId, projectId, amount: free, reason }),
    );

/** A scheduled grant as it stands once in effect, before anything draws on it. */
const inEffect = (state: AccountState, grant: ScheduledGrant, i: number): Expiring => ({
  ...grant,
  free: grant.amount,
  sequence: state.grantSequence + i,
});

/**
 * Whether any grant starts or lapses by `now`. Every command asks, and almost always nothing is
 * due: the state keeps its earliest due instant, so this is one comparison, not a walk of every
 * grant (an account holds many).
 */
const anythingDue = (state: AccountState, now: Instant): boolean => state.nextDueAt !== null && state.nextDueAt <= now;

/**
 * The events that fall due by `now`, in the order they are recorded: every activation, then every
 * expiry (a grant scheduled and lapsed in the same gap takes effect and expires at once, so the
 * books still show it granted).
 */
export function dueByNow(state: AccountState, accountId: string, now: Instant): LedgerEvent[] {
  if (!anythingDue(state, now)) return [];
  const activated = becomingEffective(state, now);
  const lapsing = [
    ...[...state.grants.values()].filter((grant) => grant.free > 0n),
    ...activated.map((grant, i) => inEffect(state, grant, i)),
  ].filter((grant) => hasLapsed(grant, now));
  return [...activationsOf(accountId, activated), ...expiriesOf(accountId, lapsing, 'lapsed')];
}

/**
 * What closing the account records: each scheduled grant taking effect and expiring at once (in
 * activation order), then the free credits of every grant in effect expiring (in draw order), all
 * with reason `account_closed`, so the final buckets say where every credit went.
 */
export function closingOf(state: AccountState, accountId: string): LedgerEvent[] {
  const scheduled = [...state.scheduledGrants.values()].sort(activationOrder);
  const free = [...state.grants.values()].filter((grant) => grant.free > 0n);
  return [
    ...scheduled.flatMap((grant, i) => [
      ...activationsOf(accountId, [grant]),
      ...expiriesOf(accountId, [inEffect(state, grant, i)], 'account_closed'),
    ]),
    ...expiriesOf(accountId, free, 'account_closed'),
  ];
}

/**
 * The state decisions are made on: `state` with what fell due by `now` folded in (a copy, only when
 * something did), and those events, which an accepted command records first.
 */
export function caughtUp(
  state: AccountState,
  accountId: string,
  now: Instant,
): { due: LedgerEvent[]; current: AccountState } {
  const open = state.status === 'active' || state.status === 'suspended';
  const due = open ? dueByNow(state, accountId, now) : [];
  return { due, current: due.length === 0 ? state : fold(due, cloneState(state)) };
}

/** A grant's `effectiveAt` as recorded: only a start still to come makes it a scheduled grant. */
export const scheduledStart = (effectiveAt: Instant | undefined, now: Instant): Instant | null =>
  effectiveAt !== undefined && effectiveAt > now ? effectiveAt : null;
