/** The usage ledger's query string, declared once: validated here and described in /docs. */
import { usageKinds } from '@ledger/projections';
import { z } from 'zod';
import { freshness, identifier, instant, projectFilter } from '../read-models/read-query';
import { decodeCursor } from './usage-cursor';

const usageFilters = {
  ...projectFilter,
  ...freshness,
  kind: z.enum(usageKinds).optional(),
  run: identifier.optional(),
  /** The rows one command moved (a billing event's commandId). */
  command: z.uuid().optional(),
  from: instant.optional(),
  to: instant.optional(),
};

/** The CSV export takes the page's filters, without paging: it holds every row they select. */
export const usageExportQuery = z.object(usageFilters);

export const usageQuery = z.object({
  ...usageFilters,
  cursor: z
    .string()
    .transform((text, ctx) => {
      const cursor = decodeCursor(text);
      if (!cursor) ctx.issues.push({ code: 'custom', message: 'not a cursor this API gave out', input: text });
      return cursor ?? z.NEVER;
    })
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
