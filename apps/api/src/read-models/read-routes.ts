/**
 * Where each read is served (under /v1), what its query string holds and what it answers (the
 * contract's schema): the one table the read controllers, the OpenAPI document and the tests'
 * answer checks all use.
 */
import * as contract from '@ledger/contract';
import { z } from 'zod';
import { balanceQuery, eventsQuery } from '../audit/audit-params';
import { usageExportQuery, usageQuery } from '../usage/usage-params';
import { fitsInt64, freshness, identifier } from './read-query';

// The fields are the contract's (readQueries); here only how positions decode is added.
export const freshnessQuery = contract.readQueries.projects.extend(freshness);
export const overviewQuery = contract.readQueries.overview.extend(freshness);
export const accountListQuery = contract.readQueries.accounts;
export const dailyQuery = contract.readQueries.daily.extend(freshness);
export const alertRulesQuery = contract.readQueries.alertRules.extend(freshness);
/** A stream revision as usage rows show it: a decimal counter from 0. */
export const eventParams = z.object({
  accountId: identifier,
  revision: z
    .string()
    .regex(/^\d{1,19}$/, 'a revision is a whole number, as usage rows show it')
    .transform((text) => BigInt(text))
    .refine((revision) => fitsInt64(revision), 'a revision is at most 9223372036854775807'),
});

export interface ReadRoute {
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly query: z.ZodObject;
  /** What a 200 answers: JSON of this schema, or text for `text/csv` routes. */
  readonly response: z.ZodType;
  readonly mediaType?: 'text/csv';
}

export const readRoutes = {
  me: {
    path: 'me',
    summary: 'Who the presented key stands for: principal, role, and the accounts it may read',
    tag: 'identity',
    query: contract.readQueries.me,
    response: contract.me,
  },
  accounts: {
    path: 'accounts',
    summary: 'The billing accounts this key may read, by id',
    tag: 'read models',
    query: accountListQuery,
    response: contract.accountList,
  },
  overview: {
    path: 'accounts/:accountId/overview',
    summary: 'The billing overview: buckets, posture, settlement, relationship map, recent events',
    tag: 'read models',
    query: overviewQuery,
    response: contract.overview,
  },
  usage: {
    path: 'accounts/:accountId/usage',
    summary: 'The usage ledger, newest first, one row per money movement',
    tag: 'read models',
    query: usageQuery,
    response: contract.usagePage,
  },
  usageExport: {
    path: 'accounts/:accountId/usage.csv',
    summary: 'The usage ledger as CSV, every row the filters select, newest first',
    tag: 'read models',
    query: usageExportQuery,
    response: contract.usageCsv,
    mediaType: 'text/csv',
  },
  accountEvent: {
    path: 'accounts/:accountId/events/:revision',
    summary: 'One event of the account’s stream, by revision (as usage rows name it): the fact behind a figure',
    tag: 'read models',
    query: contract.readQueries.accountEvent,
    response: contract.accountEvent,
  },
  daily: {
    path: 'accounts/:accountId/daily',
    summary:
      'The figures of every day from `from` to `to` (at most 400): available, the buckets and each project’s consumption, as at each day’s end, with the subscription periods',
    tag: 'read models',
    query: dailyQuery,
    response: contract.dailyFigures,
  },
  projects: {
    path: 'accounts/:accountId/projects',
    summary: 'Per-project buckets and the account-wide part',
    tag: 'read models',
    query: freshnessQuery,
    response: contract.projectBuckets,
  },
  run: {
    path: 'accounts/:accountId/runs/:runId',
    summary: 'A run with its ledger rows and settlement holds',
    tag: 'read models',
    query: freshnessQuery,
    response: contract.runDetails,
  },
  alertRules: {
    path: 'accounts/:accountId/alert-rules',
    summary: 'The account’s alert rules, which fire now, and the latest firings and clearings',
    tag: 'alerts',
    query: alertRulesQuery,
    response: contract.alertRules,
  },
  projections: {
    path: 'projections',
    summary: 'Each projection’s checkpoint, the store’s head, lag, failures',
    tag: 'operations',
    query: contract.readQueries.projections,
    response: contract.projectionStatus,
  },
  auditBalance: {
    path: 'audit/accounts/:accountId/balance',
    summary: 'Buckets as of an instant or position, replayed from events alone (auditor, admin)',
    tag: 'audit',
    query: balanceQuery,
    response: contract.auditBalance,
  },
  auditEvents: {
    path: 'audit/accounts/:accountId/events',
    summary: 'The account’s raw events with their metadata, paged (auditor, admin)',
    tag: 'audit',
    query: eventsQuery,
    response: contract.auditEventsPage,
  },
} as const satisfies Record<string, ReadRoute>;
