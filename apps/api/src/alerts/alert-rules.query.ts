/** An account's alert rules with their firing state, and its latest firings: the `alerts` read models. */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { AlertRules } from '@ledger/contract';
import type { Principal } from '@ledger/domain';
import type { LedgerDatabase } from '@ledger/database';
import type { GlobalPosition } from '@ledger/event-store';
import type { Kysely } from 'kysely';
import { DATABASE } from '../infrastructure/tokens';
import { assertAccountKnown, assertMayRead } from '../read-models/account-access';
import { ReadModelFreshness } from '../read-models/freshness';

/** How many of the latest firings and clearings the answer carries. */
export const RECENT_FIRINGS = 20;

export class AccountAlertRules {
  constructor(
    readonly principal: Principal,
    readonly accountId: string,
    readonly atLeastPosition: GlobalPosition | undefined,
  ) {}
}

const instant = (value: Date | null) => (value === null ? null : value.toISOString());

@QueryHandler(AccountAlertRules)
export class AccountAlertRulesHandler implements IQueryHandler<AccountAlertRules> {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    private readonly freshness: ReadModelFreshness,
  ) {}

  async execute({ principal, accountId, atLeastPosition }: AccountAlertRules): Promise<AlertRules> {
    assertMayRead(principal, accountId);
    await this.freshness.waitFor(atLeastPosition);
    const [, rules, recent] = await Promise.all([
      assertAccountKnown(this.db, accountId),
      this.db
        .selectFrom('alert_rules')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('status', '=', 'active')
        .orderBy('defined_at')
        .orderBy('position_commit')
        .orderBy('position_prepare')
        .execute(),
      this.db
        .selectFrom('alert_firings')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('position_commit', 'desc')
        .orderBy('position_prepare', 'desc')
        .limit(RECENT_FIRINGS)
        .execute(),
    ]);
    return {
      accountId,
      rules: rules.map((rule) => ({
        ruleId: rule.rule_id,
        kind: rule.kind,
        threshold: rule.threshold,
        firing: rule.firing,
        definedAt: rule.defined_at.toISOString(),
        firedCount: rule.fired_count.toString(),
        lastFiredAt: instant(rule.last_fired_at),
        lastClearedAt: instant(rule.last_cleared_at),
        lastObserved: rule.last_observed,
        lastSubject: rule.last_subject,
      })),
      recent: recent.map((firing) => ({
        eventId: firing.event_id,
        ruleId: firing.rule_id,
        kind: firing.kind,
        status: firing.status,
        threshold: firing.threshold,
        observed: firing.observed,
        subject: firing.subject,
        occurredAt: firing.occurred_at.toISOString(),
        commandId: firing.command_id,
        streamRevision: firing.stream_revision.toString(),
      })),
    };
  }
}
