/**
 * What the query API answers and takes, as the contract (libs/contract) declares it: the API's
 * handlers return these shapes and its tests check every answer against them, so a changed read
 * model breaks the pages' type check instead of the pages. Types only: no zod in the bundle.
 */
import type * as contract from '@ledger/contract';

export type Overview = contract.Overview;
export type Buckets = contract.ReadModelBuckets;
export type RecentEvent = contract.RecentEvent;
export type UsagePage = contract.UsagePage;
export type UsageRow = contract.UsageRow;
export type UsageKind = contract.UsageKind;
export type ProjectBuckets = contract.ProjectBuckets;
export type AccountEvent = contract.AccountEvent;
export type AccountList = contract.AccountList;
export type Me = contract.Me;
export type WorkspaceSettings = contract.WorkspaceSettings;
// alerts (issue #17)
export type AlertRules = contract.AlertRules;
export type AlertRuleView = contract.AlertRuleView;
export type AlertFiringView = contract.AlertFiringView;
export type DailyFigures = contract.DailyFigures;

/** What each read takes in its query string. */
export type QueryOf<Read extends contract.ReadName> = contract.QueryOf<Read>;
