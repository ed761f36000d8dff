/** One run as the read models know it, with every ledger row it caused and its settlement holds. */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { RunDetails as RunDetailsJson } from '@ledger/contract';
import { formatCredits, reject, type Principal } from '@ledger/domain';
import type { GlobalPosition } from '@ledger/event-store';
import type { Kysely } from 'kysely';
import { LedgerHttpError } from '../errors/ledger-http-error';
import type { LedgerDatabase } from '@ledger/database';
import { DATABASE } from '../infrastructure/tokens';
import { assertMayRead } from '../read-models/account-access';
import { positionOf, usageRowView } from '../read-models/formatting';
import { ReadModelFreshness } from '../read-models/freshness';

export class RunDetails {
  constructor(
    readonly principal: Principal,
    readonly accountId: string,
    readonly runId: string,
    readonly atLeastPosition: GlobalPosition | undefined,
  ) {}
}

@QueryHandler(RunDetails)
export class RunDetailsHandler implements IQueryHandler<RunDetails> {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    private readonly freshness: ReadModelFreshness,
  ) {}

  async execute({ principal, accountId, runId, atLeastPosition }: RunDetails): Promise<RunDetailsJson> {
    assertMayRead(principal, accountId);
    await this.freshness.waitFor(atLeastPosition);
    const run = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('run_id', '=', runId)
      .executeTakeFirst();
    if (!run)
      throw new LedgerHttpError(reject('run_not_found', `there is no run "${runId}" on account "${accountId}"`));
    const [rows, holds] = await Promise.all([
      this.db
        .selectFrom('usage_ledger')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('run_id', '=', runId)
        .orderBy('position_commit')
        .orderBy('position_prepare')
        .orderBy('entry_index')
        .execute(),
      this.db
        .selectFrom('settlement_holds')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('run_id', '=', runId)
        .orderBy('placed_at')
        .execute(),
    ]);
    const credits = (value: bigint | null) => (value === null ? null : formatCredits(value));
    return {
      accountId,
      runId,
      projectId: run.project_id,
      action: run.action,
      capabilityBand: run.capability_band,
      status: run.status,
      estimatedCost: formatCredits(run.estimated_cost),
      reserved: formatCredits(run.reserved),
      actualCost: credits(run.actual_cost),
      consumed: formatCredits(run.consumed),
      held: formatCredits(run.held),
      shortfall: formatCredits(run.shortfall),
      acceptedAt: run.accepted_at.toISOString(),
      finishedAt: run.finished_at?.toISOString() ?? null,
      position: positionOf(run),
      holds: holds.map((hold) => ({
        holdId: hold.hold_id,
        provider: hold.provider,
        amount: formatCredits(hold.amount),
        status: hold.status,
        placedAt: hold.placed_at.toISOString(),
        releasedAt: hold.released_at?.toISOString() ?? null,
      })),
      ledger: rows.map(usageRowView),
    };
  }
}
