/** The usage ledger's query string: the contract's fields, decoded here and described in /docs. */
import { readQueries } from '@ledger/contract';
import { z } from 'zod';
import { freshness } from '../read-models/read-query';
import { decodeCursor } from './usage-cursor';

/** The CSV export takes the page's filters, without paging: it holds every row they select. */
export const usageExportQuery = readQueries.usageExport.extend(freshness);

export const usageQuery = readQueries.usage.extend({
  ...freshness,
  cursor: z
    .string()
    .transform((text, ctx) => {
      const cursor = decodeCursor(text);
      if (!cursor) ctx.issues.push({ code: 'custom', message: 'not a cursor this API gave out', input: text });
      return cursor ?? z.NEVER;
    })
    .optional(),
});
