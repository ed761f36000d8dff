/**
 * Which credits move: grants are drawn earliest expiry first, then oldest first, so the credits
 * closest to lapsing are spent before they can expire, and every movement names its grants.
 */
import { event, type GrantDraw, type LedgerEvent } from '../events';
import type { Instant } from '../fields';
import { invariant } from '../invariant';
import type { Credits } from '../money';
import { drawOrder } from '../draw-order';
import type { AccountState, Grant, Run } from '../state';

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

/**
 * Draws `amount` from free credits of grants that have not lapsed at `now`: from the front of the
 * draw queue, which holds them in draw order already, as far as the amount needs.
 */
export function drawFree(state: AccountState, amount: Credits, now: Instant): GrantDraw[] {
  const sources: Array<{ grantId: string; has: Credits }> = [];
  let covered = 0n;
  for (const grantId of state.drawQueue) {
    if (covered >= amount) break;
    const grant = state.grants.get(grantId)!;
    if (hasLapsed(grant, now)) continue;
    sources.push({ grantId, has: grant.free });
    covered += grant.free;
  }
  return take(amount, sources);
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
