/** Per-project buckets beside the account's: the project rows add up to the account row. */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { ProjectBuckets as ProjectBucketsJson } from '@ledger/contract';
import { reject, shareBucketNames, type Principal, type ShareBucketName } from '@ledger/domain';
import type { GlobalPosition } from '@ledger/event-store';
import type { Kysely } from 'kysely';
import { LedgerHttpError } from '../errors/ledger-http-error';
import type { LedgerDatabase } from '@ledger/database';
import { DATABASE } from '../infrastructure/tokens';
import { assertMayRead } from '../read-models/account-access';
import { bucketsView, EMPTY_BUCKETS } from '../read-models/formatting';
import { ReadModelFreshness } from '../read-models/freshness';

export class ProjectBuckets {
  constructor(
    readonly principal: Principal,
    readonly accountId: string,
    readonly atLeastPosition: GlobalPosition | undefined,
  ) {}
}

@QueryHandler(ProjectBuckets)
export class ProjectBucketsHandler implements IQueryHandler<ProjectBuckets> {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    private readonly freshness: ReadModelFreshness,
  ) {}

  async execute({ principal, accountId, atLeastPosition }: ProjectBuckets): Promise<ProjectBucketsJson> {
    assertMayRead(principal, accountId);
    await this.freshness.waitFor(atLeastPosition);
    const [projects, buckets] = await Promise.all([
      this.db
        .selectFrom('account_projects')
        .select(['project_id', 'name'])
        .where('account_id', '=', accountId)
        .orderBy('attached_at')
        .orderBy('project_id')
        .execute(),
      this.db.selectFrom('balance_buckets').selectAll().where('account_id', '=', accountId).execute(),
    ]);
    const account = buckets.find((row) => row.project_id === '');
    if (!account) throw new LedgerHttpError(reject('account_not_found', `there is no billing account "${accountId}"`));
    const byProject = new Map(buckets.map((row) => [row.project_id, row]));
    return {
      accountId,
      account: bucketsView(account),
      /** Credits granted to the account as a whole, not to any project. */
      unassigned: bucketsView(this.unassigned(account, buckets)),
      projects: projects.map((p) => ({
        projectId: p.project_id,
        name: p.name,
        buckets: bucketsView(byProject.get(p.project_id) ?? { ...EMPTY_BUCKETS, available: null }),
      })),
    };
  }

  /** What no project accounts for (account-wide grants and their expiry), so the parts sum to the whole. */
  private unassigned(
    account: typeof EMPTY_BUCKETS,
    rows: Array<typeof EMPTY_BUCKETS & { project_id: string }>,
  ): typeof EMPTY_BUCKETS {
    const projectRows = rows.filter((row) => row.project_id !== '');
    const rest = (key: ShareBucketName) => account[key] - projectRows.reduce((total, row) => total + row[key], 0n);
    const shares = Object.fromEntries(shareBucketNames.map((name) => [name, rest(name)]));
    return { ...(shares as Record<ShareBucketName, bigint>), available: null };
  }
}
