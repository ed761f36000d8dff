/** The usage ledger's CSV export: text, not JSON; its header row is the usage row's fields. */
import { z } from 'zod';

export const usageCsv = z.string().meta({
  description: 'CSV (text/csv), a header row then one row per money movement, newest first',
});
