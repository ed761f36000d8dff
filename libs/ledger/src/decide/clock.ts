/**
 * What time alone has done to an account: scheduled grants whose validity window has begun take
 * effect, and the free credits of grants whose window has ended expire. The domain has no clock,
 * so these facts are recorded by the first command accepted at or after the moment they fall due
 * (the API's grant scheduler sends one on time); every decision is made on the state they leave.
 */
import { event, type LedgerEvent } from '../events';
import type { Instant } from '../fields';
import type { AccountState, Grant, ScheduledGrant } from '../state';
import { compareInstants, drawOrder, hasLapsed } from './draws';

/** Scheduled grants in the order they take effect: earliest start first, then by grant id (code points). */
export function activationOrder(a: ScheduledGrant, b: ScheduledGrant): number {
  return compareInstants(a.effectiveAt, b.effectiveAt) || (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0);
}

/** Scheduled grants whose window has begun by `now`, in activation order. */
function becomingEffective(state: AccountState, now: Instant) {
  return [...state.scheduledGrants.values()].filter((grant) => grant.effectiveAt <= now).sort(activationOrder);
}

/**
 * The events that fall due by `now`, in the order they are recorded: every activation, then every
 * expiry (a grant scheduled and lapsed in the same gap takes effect and expires at once, so the
 * books still show it granted).
 */
export function dueByNow(state: AccountState, accountId: string, now: Instant): LedgerEvent[] {
  const activated = becomingEffective(state, now);
  const lapsing: Array<Pick<Grant, 'grantId' | 'projectId' | 'free' | 'expiresAt' | 'sequence'>> = [
    ...[...state.grants.values()].filter((grant) => grant.free > 0n),
    ...activated.map((grant, i) => ({ ...grant, free: grant.amount, sequence: state.grantSequence + i })),
  ].filter((grant) => hasLapsed(grant, now));
  return [
    ...activated.map(({ grantId, source, projectId, amount }) =>
      event('CreditsBecameEffective', { accountId, grantId, source, projectId, amount }),
    ),
    ...lapsing
      .sort(drawOrder)
      .map(({ grantId, projectId, free }) =>
        event('CreditsExpired', { accountId, grantId, projectId, amount: free, reason: 'lapsed' as const }),
      ),
  ];
}

/** A grant's `effectiveAt` as recorded: only a start still to come makes it a scheduled grant. */
export const scheduledStart = (effectiveAt: Instant | undefined, now: Instant): Instant | null =>
  effectiveAt !== undefined && effectiveAt > now ? effectiveAt : null;
