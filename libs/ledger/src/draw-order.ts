/**
 * The order credits are drawn in: grants earliest expiry first, then oldest first, so the credits
 * closest to lapsing are spent before they can expire. Shared by the decisions that draw and by
 * evolve, which keeps the grants holding free credits in this order (AccountState.drawQueue).
 */
import type { Instant } from './fields';
import type { Grant } from './state';

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
