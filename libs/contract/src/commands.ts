/** What the command endpoints answer: a receipt for an accepted command, a quote for a preview. */
import { commandTypes } from '@ledger/domain';
import { z } from 'zod';
import { buckets } from './buckets';
import { creditsText, fenText, jsonObject, positionText, revisionText } from './vocabulary';

/** One appended event as a receipt shows it. */
export const receiptEvent = z.strictObject({
  eventId: z.string(),
  type: z.string(),
  revision: revisionText,
  data: jsonObject,
});

/** Held credits against the plan's settlement threshold, after the command; null without a plan. */
export const receiptSettlement = z
  .strictObject({ thresholdFen: fenText, heldValueFen: fenText, reached: z.boolean() })
  .nullable();

/** An accepted command: what was appended, where, and the balance after. */
export const receipt = z.strictObject({
  commandType: z.enum(commandTypes),
  commandId: z.string(),
  accountId: z.string(),
  events: z.array(receiptEvent),
  /** The stream's revision after the command (null: the stream does not exist yet). */
  revision: revisionText.nullable(),
  /** Global position of the last event appended, for read-your-writes; null when nothing was appended. */
  position: positionText.nullable(),
  buckets,
  settlement: receiptSettlement,
});

/** PreviewRun: the AcceptRun checks passed, and what the run would cost. */
export const quote = z.strictObject({
  estimatedCost: creditsText,
  available: creditsText,
  availableAfter: creditsText,
  creditPriceFen: fenText,
  estimatedValueFen: fenText,
});

export type ReceiptEvent = z.output<typeof receiptEvent>;
export type Receipt = z.output<typeof receipt>;
export type Quote = z.output<typeof quote>;
