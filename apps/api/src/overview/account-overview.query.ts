/**
 * The billing overview of one account, or of one project's share of it: everything the seed page
 * shows, read from the read models alone.
 */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Overview } from '@ledger/contract';
import { bucketNames, formatFen, reject, type Principal } from '@ledger/domain';
import type { GlobalPosition } from '@ledger/event-store';
import { sql, type Kysely } from 'kysely';
import { LedgerHttpError } from '../errors/ledger-http-error';
import type { LedgerDatabase } from '@ledger/database';
import { DATABASE } from '../infrastructure/tokens';
import { assertMayRead } from '../read-models/account-access';
import { bucketsView, EMPTY_BUCKETS, positionOf, settlementView } from '../read-models/formatting';
import { ReadModelFreshness } from '../read-models/freshness';
import { formatCredits } from '@ledger/domain';

export const RECENT_EVENTS = 10;

export class AccountOverview {
  constructor(
    readonly principal: Principal,
    readonly accountId: string,
    readonly projectId: string | undefined,
    readonly atLeastPosition: GlobalPosition | undefined,
  ) {}
}

@QueryHandler(AccountOverview)
export class AccountOverviewHandler implements IQueryHandler<AccountOverview> {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    private readonly freshness: ReadModelFreshness,
  ) {}

  async execute({ principal, accountId, projectId, atLeastPosition }: AccountOverview): Promise<Overview> {
    assertMayRead(principal, accountId);
    await this.freshness.waitFor(atLeastPosition);
    const scope = projectId ?? '';
    const accountWide = this.bucketsOf(accountId, '');
    // Every part at once: one round of queries, not one after another.
    const [account, projects, buckets, accountBuckets, runs, ledger, recent, scheduled, reached] = await Promise.all([
      this.db.selectFrom('billing_accounts').selectAll().where('account_id', '=', accountId).executeTakeFirst(),
      this.db
        .selectFrom('account_projects')
        .select(['project_id', 'name', 'attached_at'])
        .where('account_id', '=', accountId)
        .orderBy('attached_at')
        .orderBy('project_id')
        .execute(),
      // The account's own view reads its buckets once.
      projectId === undefined ? accountWide : this.bucketsOf(accountId, projectId),
      accountWide,
      this.db
        .selectFrom('run_totals')
        .select(['accepted', 'open'])
        .where('account_id', '=', accountId)
        .where('project_id', '=', scope)
        .executeTakeFirst(),
      this.db
        .selectFrom('usage_totals')
        .select(['rows', 'last_movement_at'])
        .where('account_id', '=', accountId)
        .where('project_id', '=', scope)
        .executeTakeFirst(),
      this.db
        .selectFrom('billing_events')
        .selectAll()
        .where('account_id', '=', accountId)
        .$if(projectId !== undefined, (q) => q.where('project_id', '=', projectId!))
        .orderBy('position_commit', 'desc')
        .orderBy('position_prepare', 'desc')
        .limit(RECENT_EVENTS)
        .execute(),
      // Granted with a validity window still to come: in no bucket yet (docs/rules.md).
      this.db
        .selectFrom('credit_grants')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<bigint>('amount'), sql<bigint>`0`).as('amount'))
        .where('account_id', '=', accountId)
        .where('status', '=', 'scheduled')
        .$if(projectId !== undefined, (q) => q.where('project_id', '=', projectId!))
        .executeTakeFirstOrThrow(),
      this.freshness.reached(),
    ]);
    if (!account) throw new LedgerHttpError(reject('account_not_found', `there is no billing account "${accountId}"`));
    if (projectId !== undefined && !projects.some((p) => p.project_id === projectId)) {
      throw new LedgerHttpError(
        reject('project_not_attached', `project "${projectId}" is not attached to this account`),
      );
    }
    return {
      accountId,
      name: account.name,
      status: account.status,
      project: projectId ?? null,
      buckets: bucketsView(buckets),
      /** The wallet is account-owned: a project view shows the account's available beside its share. */
      accountAvailable: formatCredits(accountBuckets.available ?? 0n),
      subscription:
        account.plan_id === null
          ? null
          : {
              planId: account.plan_id,
              planName: account.plan_name,
              capabilityBands: account.capability_bands,
              rateCard: account.rate_card,
              includedPerPeriod:
                account.included_per_period === null ? null : formatCredits(account.included_per_period),
              creditPriceFen: account.credit_price_fen === null ? null : formatFen(account.credit_price_fen),
              period: account.period_start && {
                start: account.period_start.toISOString(),
                end: account.period_end!.toISOString(),
              },
            },
      settlement: settlementView(buckets.hold, account.credit_price_fen, account.settlement_threshold_fen),
      relationship: {
        subscriptionPosture: {
          accountStatus: account.status,
          planName: account.plan_name,
          capabilityBands: account.capability_bands,
          surface: '/workspace/billing',
        },
        creditWallet: {
          available: formatCredits(accountBuckets.available ?? 0n),
          included: formatCredits(buckets.included),
          bonus: formatCredits(buckets.bonus),
          /** Granted, taking effect later (e.g. the next period's included credits after a renewal). */
          scheduled: formatCredits(BigInt(scheduled.amount)),
          surface: '/workspace/billing',
        },
        acceptedExecution: {
          acceptedRuns: Number(runs?.accepted ?? 0n),
          openRuns: Number(runs?.open ?? 0n),
          reserved: formatCredits(buckets.reserved),
          surface: '/workspace/usage',
        },
        usageLedger: {
          rows: Number(ledger?.rows ?? 0n),
          lastMovementAt: ledger?.last_movement_at?.toISOString() ?? null,
          surface: '/workspace/usage',
        },
      },
      projects: projects.map((p) => ({ projectId: p.project_id, name: p.name })),
      recentEvents: recent.map((event) => ({
        eventId: event.event_id,
        type: event.event_type,
        summary: event.summary,
        amount: event.amount === null ? null : formatCredits(event.amount),
        projectId: event.project_id,
        createdAt: event.occurred_at.toISOString(),
        commandId: event.command_id,
        position: positionOf(event),
      })),
      readModelPosition: reached && positionOf({ position_commit: reached.commit, position_prepare: reached.prepare }),
    };
  }

  private async bucketsOf(accountId: string, projectId: string) {
    const row = await this.db
      .selectFrom('balance_buckets')
      .select(bucketNames)
      .where('account_id', '=', accountId)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row ?? { ...EMPTY_BUCKETS, available: projectId === '' ? 0n : null };
  }
}
