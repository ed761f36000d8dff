/**
 * Which credits move: grants are drawn earliest expiry first, then oldest first, so the credits
 * closest to lapsing are spent before they can expire, and every movement names its grants.
 */
import { event, type GrantDraw, type LedgerEvent } from '../events';
import type { Instant } from '../fields';
import { invariant } from '../invariant';
import type { Credits } from '../money';
import type { AccountState, Grant, Run } from '../state';

type Ordered = Pick<Grant, 'expiresAt' | 'sequence'>;

/**
 * Earlier first, and no instant (never) after every instant. Normalised instants compare as plain
 * strings, by code point: never by the host's locale, so a decision is the same on every machine.
 */
export function compareInstants(a: Instant | null, b: Instant | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

export function drawOrder(a: Ordered, b: Ordered): number {
  const byExpiry = compareInstants(a.expiresAt, b.expiresAt);
  return byExpiry !== 0 ? byExpiry : a.sequence - b.sequence;
}

export const hasLapsed = (grant: Pick<Grant, 'expiresAt'>, now: Instant): boolean =>
  grant.expiresAt !== null && grant.expiresAt <= now;

function take(amount: Credits, sources: Array<{ grantId: string; has: Credits }>): GrantDraw[] {
  const draws: GrantDraw[] = [];
  let left = amount;
  for (const { grantId, has } of sources) {
    if (left === 0n) break;
    const drawn = has < left ? has : left;
    if (drawn > 0n) draws.push({ grantId, amount: drawn });
    left -= drawn;
  }
  invariant(left === 0n, `could not draw ${amount} credits`);
  return draws;
}

/** Draws `amount` from free credits of grants that have not lapsed at `now`. */
export function drawFree(state: AccountState, amount: Credits, now: Instant): GrantDraw[] {
  const grants = [...state.grants.values()].filter((g) => g.free > 0n && !hasLapsed(g, now)).sort(drawOrder);
  return take(
    amount,
    grants.map((g) => ({ grantId: g.grantId, has: g.free })),
  );
}

/** Draws `amount` from a run's reservation, in the same order. */
export function drawReservation(state: AccountState, run: Run, amount: Credits): GrantDraw[] {
  const grants = [...run.reservation.keys()].map((id) => state.grants.get(id)!).sort(drawOrder);
  return take(
    amount,
    grants.map((g) => ({ grantId: g.grantId, has: run.reservation.get(g.grantId)! })),
  );
}

/** Released credits that return to an already-lapsed grant expire at once. */
export function expireReleased(
  state: AccountState,
  accountId: string,
  released: readonly GrantDraw[],
  now: Instant,
): LedgerEvent[] {
  return released.flatMap(({ grantId, amount }) => {
    const grant = state.grants.get(grantId)!;
    return hasLapsed(grant, now)
      ? [event('CreditsExpired', { accountId, grantId, projectId: grant.projectId, amount, reason: 'lapsed' as const })]
      : [];
  });
}
