/**
 * What the query API answers, as the API's own handlers declare it: the pages import the types,
 * never restate them, so a changed read model breaks the pages' type check instead of the pages.
 */
import type { AccountListHandler } from '../../../api/src/accounts/account-list.query';
import type { AccountEventHandler } from '../../../api/src/events/account-event.query';
import type { MeController } from '../../../api/src/identity/me.controller';
import type { AccountOverviewHandler } from '../../../api/src/overview/account-overview.query';
import type { ProjectBucketsHandler } from '../../../api/src/projects/project-buckets.query';
import type { UsageLedgerPageHandler } from '../../../api/src/usage/usage-ledger.query';
import type { WorkspaceController } from '../../../api/src/workspace/workspace.controller';
import type { readRoutes } from '../../../api/src/read-models/read-routes';
import type { usageKinds } from '../../../../projections/src/read-models';
import type { z } from 'zod';

type Answer<Handler extends { execute(...args: never[]): Promise<unknown> }> = Awaited<ReturnType<Handler['execute']>>;

export type Overview = Answer<AccountOverviewHandler>;
export type Buckets = Overview['buckets'];
export type RecentEvent = Overview['recentEvents'][number];
export type UsagePage = Answer<UsageLedgerPageHandler>;
export type UsageRow = UsagePage['rows'][number];
export type UsageKind = (typeof usageKinds)[number];
export type ProjectBuckets = Answer<ProjectBucketsHandler>;
export type AccountEvent = Answer<AccountEventHandler>;
export type AccountList = Answer<AccountListHandler>;
export type Me = ReturnType<MeController['me']>;
export type WorkspaceSettings = ReturnType<WorkspaceController['settings']>;

/** What each read takes in its query string, as the API's route table declares it. */
export type QueryOf<Route extends keyof typeof readRoutes> = z.input<(typeof readRoutes)[Route]['query']>;
