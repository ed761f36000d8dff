/** Query-string parsing shared by the read endpoints: typed, and refused with a typed 400. */
import { identifier, instant } from '@ledger/domain';
import { parsePosition, type GlobalPosition } from '@ledger/event-store';
import { z } from 'zod';

/** Postgres's bigint: every revision, position and cursor the API takes must fit one. */
export const INT64_MAX = 2n ** 63n - 1n;
export const fitsInt64 = (...values: bigint[]): boolean => values.every((value) => value <= INT64_MAX);

export const position = z.string().transform((text, ctx): GlobalPosition => {
  const parsed = text.length <= 41 ? parsePosition(text) : undefined;
  if (!parsed || !fitsInt64(parsed.commit, parsed.prepare)) {
    ctx.issues.push({ code: 'custom', message: 'a position looks like "812/2" (from a receipt)', input: text });
    return z.NEVER;
  }
  return parsed;
});

/** Every read may ask to see at least the effects of a command it sent: the receipt's position. */
export const freshness = { atLeastPosition: position.optional() };
export const projectFilter = { project: identifier.optional() };
export { identifier, instant };
