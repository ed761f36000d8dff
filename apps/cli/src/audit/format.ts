/** How the audit commands print money and movements: decimal credits, never floats. */
import { formatCredits, type Buckets } from '@ledger/domain';
import type { ShareBuckets } from '@ledger/projections';

export const bucketOrder = ['included', 'bonus', 'available', 'reserved', 'consumed', 'hold', 'expired'] as const;

export function bucketLines(buckets: Partial<Buckets> & ShareBuckets, indent = '  '): string[] {
  return bucketOrder
    .filter((name) => buckets[name] !== undefined)
    .map((name) => `${indent}${name.padEnd(10)} ${formatCredits(buckets[name]!)}`);
}

export function bucketsInline(buckets: Partial<Buckets>): string {
  return bucketOrder
    .filter((name) => buckets[name] !== undefined)
    .map((name) => `${name} ${formatCredits(buckets[name]!)}`)
    .join(' · ');
}

export const signed = (value: bigint): string =>
  value < 0n ? `−${formatCredits(-value)}` : `+${formatCredits(value)}`;

/** A movement: "reserved +12 · available −12", or "" when nothing moved. */
export function movementInline(delta: Partial<Record<string, bigint>>): string {
  return bucketOrder
    .filter((name) => delta[name] !== undefined && delta[name] !== 0n)
    .map((name) => `${name} ${signed(delta[name]!)}`)
    .join(' · ');
}

export const bucketsJson = (buckets: Partial<Buckets>): Record<string, string> =>
  Object.fromEntries(
    bucketOrder.filter((name) => buckets[name] !== undefined).map((name) => [name, formatCredits(buckets[name]!)]),
  );
