/**
 * The words the API's answers are made of: the buckets, usage kinds, money as decimal strings,
 * positions and instants. The bucket list itself is the domain's (pure, and the projections'
 * and the replay's too); the contract re-exports it and builds every bucket shape from it.
 */
import {
  bucketNames,
  shareBucketNames,
  type AccountStatus,
  type BucketName,
  type HoldStatus,
  type RunStatus,
  type ShareBucketName,
} from '@ledger/domain';
import { z } from 'zod';

export { bucketNames, shareBucketNames, type BucketName, type ShareBucketName };

/** What the usage ledger's rows record: one kind per money movement. */
export const usageKinds = [
  'grant',
  'reservation',
  'release',
  'consumption',
  'overrun',
  'commercial_exception',
  'hold_placed',
  'hold_released',
  'expiry',
] as const;
export type UsageKind = (typeof usageKinds)[number];

/** Credits as the ledger prints them: a decimal string, at most 4 places ("24", "0.35"). */
export const creditsText = z
  .string()
  .regex(/^-?\d+(\.\d{1,4})?$/)
  .meta({ description: 'credits, a decimal string' });
/** CNY fen: a whole-number string ("10000" is 100 CNY). */
export const fenText = z
  .string()
  .regex(/^-?\d+$/)
  .meta({ description: 'CNY fen, a whole-number string' });
/** CNY: a decimal string of at most 2 places ("100", "8.5"). */
export const cnyText = z
  .string()
  .regex(/^-?\d+(\.\d{1,2})?$/)
  .meta({ description: 'CNY, a decimal string' });
/** A global position in the event store, "commit/prepare", as receipts carry it. */
export const positionText = z
  .string()
  .regex(/^\d+\/\d+$/)
  .meta({ description: 'a global position, "commit/prepare"' });
/** A stream revision: a decimal counter from 0 (a string, as it may exceed 2^53). */
export const revisionText = z.string().regex(/^\d+$/).meta({ description: 'a stream revision, a whole-number string' });
/** A whole-number count as a string (it may exceed 2^53). */
export const countText = z.string().regex(/^\d+$/);
export const instantText = z.iso.datetime({ offset: true });
/** A UTC calendar day, as the daily figures name it. */
export const dayText = z.iso.date().meta({ description: 'a UTC day, YYYY-MM-DD' });

const statuses = <T extends string>(values: readonly [T, ...T[]]) => z.enum(values);
export const accountStatus = statuses<Exclude<AccountStatus, 'unopened'>>(['active', 'suspended', 'closed']);
export const runStatus = statuses<RunStatus>(['accepted', 'completed', 'failed', 'cancelled']);
export const holdStatus = statuses<HoldStatus>(['held', 'paid_out', 'reversed']);

/** Any JSON object: event data and metadata as stored. */
export const jsonObject = z.record(z.string(), z.unknown());

/** A strict object with one field per name, all of one schema: a bucket shape from a bucket list. */
export function fieldsOf<const Name extends string, Schema extends z.ZodType>(
  names: readonly Name[],
  schema: Schema,
): z.ZodObject<{ [K in Name]: Schema }, z.core.$strict> {
  return z.strictObject(Object.fromEntries(names.map((name) => [name, schema])) as { [K in Name]: Schema });
}
