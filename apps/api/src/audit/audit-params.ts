/** The audit endpoints' query strings: the contract's fields, decoded here and described in /docs. */
import { readQueries } from '@ledger/contract';
import { parsePosition } from '@ledger/event-store';
import type { AsOf } from '@ledger/projections';
import { z } from 'zod';
import { instant } from '../read-models/read-query';
import { decodeEventsCursor } from './audit-events.query';

/** `asOf`: an ISO-8601 instant, or a global position ("812/3") as receipts carry it; default now. */
export const asOf = z.string().transform((text, ctx): AsOf => {
  const position = parsePosition(text);
  if (position) return { position };
  const parsed = instant.safeDecode(text);
  if (parsed.success) return { instant: parsed.data };
  ctx.issues.push({
    code: 'custom',
    message: 'asOf is an ISO-8601 instant (2026-11-05T12:00:00Z) or a position ("812/3")',
    input: text,
  });
  return z.NEVER;
});

export const balanceQuery = readQueries.auditBalance.extend({ asOf: asOf.optional() });

export const eventsQuery = readQueries.auditEvents.extend({
  cursor: z
    .string()
    .transform((text, ctx) => {
      const revision = decodeEventsCursor(text);
      if (revision === undefined)
        ctx.issues.push({ code: 'custom', message: 'not a cursor this API gave out', input: text });
      return revision ?? z.NEVER;
    })
    .optional(),
});
