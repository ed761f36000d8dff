/**
 * Where each read is served (under /v1) and what its query string holds: the one table the read
 * controllers and the OpenAPI document both use.
 */
import { z } from 'zod';
import { balanceQuery, eventsQuery } from '../audit/audit-params';
import { usageExportQuery, usageQuery } from '../usage/usage-params';
import { fitsInt64, freshness, identifier, projectFilter } from './read-query';

export const freshnessQuery = z.object({ ...freshness });
export const overviewQuery = z.object({ ...projectFilter, ...freshness });
export const accountListQuery = z.object({
  after: identifier.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
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
}

export const readRoutes = {
  me: {
    path: 'me',
    summary: 'Who the presented key stands for: principal, role, and the accounts it may read',
    tag: 'identity',
    query: z.object({}),
  },
  accounts: {
    path: 'accounts',
    summary: 'The billing accounts this key may read, by id',
    tag: 'read models',
    query: accountListQuery,
  },
  overview: {
    path: 'accounts/:accountId/overview',
    summary: 'The billing overview: buckets, posture, settlement, relationship map, recent events',
    tag: 'read models',
    query: overviewQuery,
  },
  usage: {
    path: 'accounts/:accountId/usage',
    summary: 'The usage ledger, newest first, one row per money movement',
    tag: 'read models',
    query: usageQuery,
  },
  usageExport: {
    path: 'accounts/:accountId/usage.csv',
    summary: 'The usage ledger as CSV, every row the filters select, newest first',
    tag: 'read models',
    query: usageExportQuery,
  },
  accountEvent: {
    path: 'accounts/:accountId/events/:revision',
    summary: 'One event of the account’s stream, by revision (as usage rows name it): the fact behind a figure',
    tag: 'read models',
    query: z.object({}),
  },
  projects: {
    path: 'accounts/:accountId/projects',
    summary: 'Per-project buckets and the account-wide part',
    tag: 'read models',
    query: freshnessQuery,
  },
  run: {
    path: 'accounts/:accountId/runs/:runId',
    summary: 'A run with its ledger rows and settlement holds',
    tag: 'read models',
    query: freshnessQuery,
  },
  projections: {
    path: 'projections',
    summary: 'Each projection’s checkpoint, the store’s head, lag, failures',
    tag: 'operations',
    query: z.object({}),
  },
  auditBalance: {
    path: 'audit/accounts/:accountId/balance',
    summary: 'Buckets as of an instant or position, replayed from events alone (auditor, admin)',
    tag: 'audit',
    query: balanceQuery,
  },
  auditEvents: {
    path: 'audit/accounts/:accountId/events',
    summary: 'The account’s raw events with their metadata, paged (auditor, admin)',
    tag: 'audit',
    query: eventsQuery,
  },
} as const satisfies Record<string, ReadRoute>;
