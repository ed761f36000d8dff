/** The audit endpoints' query strings, declared once: validated here and described in /docs. */
import { parsePosition } from '@ledger/event-store';
import type { AsOf } from '@ledger/projections';
import { z } from 'zod';
import { identifier, instant } from '../read-models/read-query';
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

export const balanceQuery = z.object({ asOf: asOf.optional(), project: identifier.optional() });

export const eventsQuery = z.object({
  from: instant.optional(),
  cursor: z
    .string()
    .transform((text, ctx) => {
      const revision = decodeEventsCursor(text);
      if (revision === undefined)
        ctx.issues.push({ code: 'custom', message: 'not a cursor this API gave out', input: text });
      return revision ?? z.NEVER;
    })
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
