/** The bucket shapes the API answers with, each built from the one list of bucket names. */
import { z } from 'zod';
import { bucketNames, creditsText, fieldsOf, shareBucketNames } from './vocabulary';

/** Every bucket, as a decided account holds them (receipts, the audit replay of an account). */
export const buckets = fieldsOf(bucketNames, creditsText);
/** Buckets as the read models hold them: a project's row has no `available` (null). */
export const readModelBuckets = buckets.extend({ available: creditsText.nullable() });
/** A project's share of the buckets: every bucket but `available`. */
export const shareBuckets = fieldsOf(shareBucketNames, creditsText);

export type Buckets = z.output<typeof buckets>;
export type ReadModelBuckets = z.output<typeof readModelBuckets>;
export type ShareBuckets = z.output<typeof shareBuckets>;
