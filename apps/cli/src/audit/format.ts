/** How the audit commands print money and movements: decimal credits, never floats. */
import { bucketNames, formatCredits, type Buckets, type ShareBuckets } from '@ledger/domain';

/** The buckets in the order every view shows them: the domain's one list. */
const bucketOrder = bucketNames;

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
