/** `alertRules` (issue #17): an account's alert rules, which of them fire now, and the latest firings. */
import { alertKinds } from '@ledger/domain';
import { z } from 'zod';
import { countText, instantText, revisionText } from './vocabulary';

/**
 * A rule's threshold and what a firing observed, as decimal strings in the kind's unit: credits
 * for available_below (and observed credits for both available kinds and credits_expiring), a
 * share for available_below_share, whole days for credits_expiring, CNY fen of held value for
 * settlement_threshold_reached.
 */
const figureText = z.string().regex(/^\d+(\.\d+)?$/);

export const alertRuleView = z.strictObject({
  ruleId: z.string(),
  kind: z.enum(alertKinds),
  threshold: figureText.nullable(),
  /** Its condition holds now: it fired and has not cleared (never for commercial_exception). */
  firing: z.boolean(),
  definedAt: instantText,
  firedCount: countText,
  lastFiredAt: instantText.nullable(),
  lastClearedAt: instantText.nullable(),
  /** What the last firing observed, and what it was about (a run, a grant). */
  lastObserved: figureText.nullable(),
  lastSubject: z.string().nullable(),
});

export const alertFiringView = z.strictObject({
  eventId: z.string(),
  ruleId: z.string(),
  kind: z.enum(alertKinds),
  status: z.enum(['fired', 'cleared']),
  threshold: figureText.nullable(),
  observed: figureText.nullable(),
  subject: z.string().nullable(),
  occurredAt: instantText,
  /** The command that appended it: the usage rows of this command are the movement that crossed. */
  commandId: z.string(),
  streamRevision: revisionText,
});

export const alertRules = z.strictObject({
  accountId: z.string(),
  /** Rules in the order they were defined. */
  rules: z.array(alertRuleView),
  /** The latest firings and clearings, newest first (at most 20). */
  recent: z.array(alertFiringView),
});

export type AlertRuleView = z.output<typeof alertRuleView>;
export type AlertFiringView = z.output<typeof alertFiringView>;
export type AlertRules = z.output<typeof alertRules>;
