/**
 * Where each command is sent over HTTP: the one table the controllers and the OpenAPI document
 * both read. Every command is a POST under /v1 with path parameters merged into its body.
 */
import type { CommandType } from '@ledger/domain';

export interface CommandRoute {
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
}

export const commandRoutes: Record<CommandType, CommandRoute> = {
  OpenBillingAccount: { path: 'accounts', summary: 'Open a billing account', tag: 'accounts' },
  SuspendAccount: { path: 'accounts/:accountId/suspend', summary: 'Suspend an account', tag: 'accounts' },
  ReactivateAccount: { path: 'accounts/:accountId/reactivate', summary: 'Reactivate an account', tag: 'accounts' },
  CloseBillingAccount: { path: 'accounts/:accountId/close', summary: 'Close an account', tag: 'accounts' },
  StartSubscription: {
    path: 'accounts/:accountId/subscription',
    summary: 'Start a subscription and grant its included credits',
    tag: 'subscriptions',
  },
  ChangePlan: { path: 'accounts/:accountId/subscription/plan', summary: 'Change the plan', tag: 'subscriptions' },
  RenewSubscriptionPeriod: {
    path: 'accounts/:accountId/subscription/renewals',
    summary: 'Renew for the next period: its included credits take effect at its start',
    tag: 'subscriptions',
  },
  AttachProject: { path: 'accounts/:accountId/projects', summary: 'Attach a project', tag: 'projects' },
  GrantCredits: { path: 'accounts/:accountId/grants', summary: 'Grant a block of credits', tag: 'credits' },
  ExpireCredits: {
    path: 'accounts/:accountId/expirations',
    summary: 'Record what fell due by now: scheduled grants taking effect, lapsed credits expiring',
    tag: 'credits',
  },
  AcceptRun: { path: 'accounts/:accountId/runs', summary: 'Accept a run and reserve its cost', tag: 'runs' },
  CompleteRun: {
    path: 'accounts/:accountId/runs/:runId/complete',
    summary: 'Complete a run: consume its cost, release the rest',
    tag: 'runs',
  },
  FailRun: { path: 'accounts/:accountId/runs/:runId/fail', summary: 'Fail a run and release it', tag: 'runs' },
  CancelRun: { path: 'accounts/:accountId/runs/:runId/cancel', summary: 'Cancel a run and release it', tag: 'runs' },
  PlaceSettlementHold: {
    path: 'accounts/:accountId/settlement-holds',
    summary: 'Hold consumed credits for a provider settlement',
    tag: 'settlement-holds',
  },
  ReleaseSettlementHold: {
    path: 'accounts/:accountId/settlement-holds/:holdId/release',
    summary: 'Release a settlement hold (paid out or reversed)',
    tag: 'settlement-holds',
  },
  DefineAlertRule: {
    path: 'accounts/:accountId/alert-rules',
    summary: 'Define an alert rule: it fires once each time its condition starts to hold',
    tag: 'alerts',
  },
  RemoveAlertRule: {
    path: 'accounts/:accountId/alert-rules/:ruleId/remove',
    summary: 'Remove an alert rule',
    tag: 'alerts',
  },
};

/** The path parameters a route names, in order: `accounts/:accountId/runs/:runId/complete` → accountId, runId. */
export const pathParamsOf = (path: string): string[] =>
  [...path.matchAll(/:(\w+)/g)].flatMap((match) => match[1] ?? []);

export const PREVIEW_RUN_PATH = 'accounts/:accountId/runs/preview';
