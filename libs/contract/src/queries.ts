/**
 * What each read takes in its query string, as the caller writes it (the wire side). The API
 * extends these with how it decodes positions and cursors; the pages type their requests with
 * them. The fields are listed here only.
 */
import { identifier, instant } from '@ledger/domain';
import { z } from 'zod';
import { dayText, usageKinds } from './vocabulary';

/** Read-your-writes: the position a command's receipt carried ("812/2"); the read waits for it. */
const freshness = { atLeastPosition: z.string().optional() };
const project = { project: identifier.optional() };
const usageFilters = {
  ...project,
  ...freshness,
  kind: z.enum(usageKinds).optional(),
  run: identifier.optional(),
  /** The rows one command moved (a billing event's commandId). */
  command: z.uuid().optional(),
  /** `fired`: only the rows of commands that fired an alert (alerts, issue #17). */
  alerts: z.enum(['fired']).optional(),
  from: instant.optional(),
  to: instant.optional(),
};
/** The CSV export takes the page's filters, without paging: it holds every row they select. */
const usageExport = z.object(usageFilters);

// ── daily figures (the overview's charts) ──────────────────────────────────────────────────────
/** The longest span of days one read of the daily figures covers. */
export const MAX_DAILY_SPAN_DAYS = 400;
const daily = z.object({
  ...project,
  ...freshness,
  /** The first day (UTC, YYYY-MM-DD); default: the account's first day, at most 400 days before `to`. */
  from: dayText.optional(),
  /** The last day; default: today (UTC). */
  to: dayText.optional(),
});
// ── end of daily figures ──────────────────────────────────────────────────────────────────────

export const readQueries = {
  me: z.object({}),
  accounts: z.object({
    after: identifier.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  }),
  overview: z.object({ ...project, ...freshness }),
  usage: usageExport.extend({
    /** The `nextCursor` of the page before: opaque. */
    cursor: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  }),
  usageExport,
  accountEvent: z.object({}),
  projects: z.object(freshness),
  run: z.object(freshness),
  projections: z.object({}),
  // alerts (issue #17)
  alertRules: z.object(freshness),
  /** `asOf`: an ISO-8601 instant, or a position ("812/3") as receipts carry it; default now. */
  daily,
  auditBalance: z.object({ asOf: z.string().optional(), ...project }),
  auditEvents: z.object({
    from: instant.optional(),
    /** The `nextCursor` of the page before: opaque. */
    cursor: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  }),
} as const;

export type ReadName = keyof typeof readQueries;
/** What a read takes in its query string, as a caller writes it. */
export type QueryOf<Read extends ReadName> = z.input<(typeof readQueries)[Read]>;
