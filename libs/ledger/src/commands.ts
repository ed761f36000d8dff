/**
 * The commands a billing account stream answers, declared once as schemas. The HTTP edge decodes
 * callers' JSON with them; the domain's `decide` takes their decoded (exact) form.
 */
import { z } from 'zod';
import { credits, creditsOrZero, identifier, instant, label } from './fields';
import { period, planTerms } from './plan';

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
} as const;

export type CommandType = keyof typeof commandSchemas;
export type CommandOf<T extends CommandType> = { type: T } & z.output<(typeof commandSchemas)[T]>;
export type LedgerCommand = { [T in CommandType]: CommandOf<T> }[CommandType];

/** `PreviewRun` asks the same questions as `AcceptRun` and appends nothing; its run id is optional. */
export const previewRunSchema = commandSchemas.AcceptRun.extend({ runId: identifier.optional() });
export type PreviewRunQuery = z.output<typeof previewRunSchema>;

export const commandTypes = Object.keys(commandSchemas) as CommandType[];
