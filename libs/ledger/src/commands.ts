/**
 * The commands a billing account stream answers, declared once as schemas. The HTTP edge decodes
 * callers' JSON with them; the domain's `decide` takes their decoded (exact) form.
 */
import { z } from 'zod';
import { credits, creditsOrZero, identifier, instant, label } from './fields';
import { period, planTerms } from './plan';
import { readThreshold } from './alert-thresholds';

const account = { accountId: identifier };
const reason = label.optional();

export const grantSources = ['plan_included', 'manual', 'top_up'] as const;
export type GrantSource = (typeof grantSources)[number];

/**
 * What an alert rule watches. The first four are conditions on the balance, firing once each time
 * the condition starts to hold and clearing when it stops; the last two fire on each such event.
 */
export const alertKinds = [
  'available_below',
  'available_below_share',
  'settlement_threshold_reached',
  'credits_expiring',
  'commercial_exception',
  'account_suspended',
] as const;
export type AlertKind = (typeof alertKinds)[number];
/**
 * The kinds that fire on each event of their kind and never clear: every other kind is a condition
 * (account_suspended holds while the account is suspended, and clears on reactivation).
 */
export const eventAlertKinds: readonly AlertKind[] = ['commercial_exception'];
export const isConditionKind = (kind: AlertKind): boolean => !eventAlertKinds.includes(kind);

/** Each kind's threshold is checked here, at the edge, so a caller gets a typed 400 (alert-thresholds.ts). */
const alertRule = z
  .object({
    ...account,
    ruleId: identifier,
    kind: z.enum(alertKinds),
    threshold: z
      .string()
      .max(64)
      .optional()
      .meta({
        description:
          'the kind’s parameter: credits > 0 for available_below ("50"), a share strictly between 0 and 1 for ' +
          'available_below_share ("0.2"), whole days 1–365 for credits_expiring ("7"); absent for the other kinds',
      }),
  })
  .superRefine(({ kind, threshold }, ctx) => {
    const reading = readThreshold(kind, threshold);
    if (!reading.ok) {
      ctx.addIssue({
        code: 'custom',
        path: ['threshold'],
        message: reading.message,
        input: threshold,
        params: { code: reading.problem },
      });
    }
  });

export const commandSchemas = {
  OpenBillingAccount: z.object({ ...account, name: label }),
  StartSubscription: z.object({ ...account, plan: planTerms, period }),
  ChangePlan: z.object({ ...account, plan: planTerms }),
  RenewSubscriptionPeriod: z.object({ ...account, period }),
  AttachProject: z.object({ ...account, projectId: identifier, name: label.optional() }),
  GrantCredits: z.object({
    ...account,
    grantId: identifier,
    source: z.enum(grantSources),
    amount: credits,
    /** When the credits become spendable (default: at once); a later start schedules the grant. */
    effectiveAt: instant.optional(),
    expiresAt: instant.optional(),
    projectId: identifier.optional(),
    reason,
  }),
  /** Records what fell due by now (grants taking effect, credits lapsing); `asOf` may not be in the future. */
  ExpireCredits: z.object({ ...account, asOf: instant.optional() }),
  AcceptRun: z.object({
    ...account,
    runId: identifier,
    projectId: identifier,
    action: identifier,
    capabilityBand: identifier,
    estimatedCost: credits,
  }),
  CompleteRun: z.object({ ...account, runId: identifier, actualCost: creditsOrZero }),
  FailRun: z.object({ ...account, runId: identifier, reason }),
  CancelRun: z.object({ ...account, runId: identifier, reason }),
  PlaceSettlementHold: z.object({
    ...account,
    holdId: identifier,
    runId: identifier,
    provider: identifier,
    amount: credits,
  }),
  ReleaseSettlementHold: z.object({ ...account, holdId: identifier, outcome: z.enum(['paid_out', 'reversed']) }),
  SuspendAccount: z.object({ ...account, reason }),
  ReactivateAccount: z.object({ ...account }),
  CloseBillingAccount: z.object({ ...account }),
  /** Defining a rule again with the same definition changes nothing; with another, it is refused. */
  DefineAlertRule: alertRule,
  RemoveAlertRule: z.object({ ...account, ruleId: identifier }),
} as const;

export type CommandType = keyof typeof commandSchemas;
export type CommandOf<T extends CommandType> = { type: T } & z.output<(typeof commandSchemas)[T]>;
export type LedgerCommand = { [T in CommandType]: CommandOf<T> }[CommandType];

/** `PreviewRun` asks the same questions as `AcceptRun` and appends nothing; its run id is optional. */
export const previewRunSchema = commandSchemas.AcceptRun.extend({ runId: identifier.optional() });
export type PreviewRunQuery = z.output<typeof previewRunSchema>;

export const commandTypes = Object.keys(commandSchemas) as CommandType[];
