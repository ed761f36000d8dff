/**
 * The daily figures of one account, or of one project's share of it: what the overview's charts
 * draw. The daily projection keeps a row per day with events; the days between are carried
 * forward here, so every day of the range has its figures, as at that day's end.
 */
import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { DailyFigures } from '@ledger/contract';
import { formatCredits, reject, shareBucketNames, type Principal } from '@ledger/domain';
import type { LedgerDatabase } from '@ledger/database';
import type { GlobalPosition } from '@ledger/event-store';
import { sql, type Kysely } from 'kysely';
import { LedgerHttpError } from '../errors/ledger-http-error';
import { DATABASE } from '../infrastructure/tokens';
import { assertAccountKnown, assertMayRead } from '../read-models/account-access';
import { bucketsView, EMPTY_BUCKETS, type BucketsRow } from '../read-models/formatting';
import { ReadModelFreshness } from '../read-models/freshness';
import { addDays, daysBetween, MAX_DAILY_SPAN_DAYS, spanOf, utcDay } from './days';

export class AccountDailyFigures {
  constructor(
    readonly principal: Principal,
    readonly accountId: string,
    readonly range: { readonly project?: string; readonly from?: string; readonly to?: string },
    readonly atLeastPosition: GlobalPosition | undefined,
    /** Today is the default last day. */
    readonly now: Date,
  ) {}
}

interface DayRow extends BucketsRow {
  project_id: string;
  day: string;
  consumed_in_day: bigint;
}

const dayColumns = ['project_id', ...shareBucketNames, 'available', 'consumed_in_day'] as const;

@QueryHandler(AccountDailyFigures)
export class AccountDailyFiguresHandler implements IQueryHandler<AccountDailyFigures> {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    private readonly freshness: ReadModelFreshness,
  ) {}

  async execute({ principal, accountId, range, atLeastPosition, now }: AccountDailyFigures): Promise<DailyFigures> {
    assertMayRead(principal, accountId);
    await this.freshness.waitFor(atLeastPosition);
    const to = range.to ?? utcDay(now);
    const [, projects, first] = await Promise.all([
      assertAccountKnown(this.db, accountId),
      this.db
        .selectFrom('account_projects')
        .select(['project_id', 'name'])
        .where('account_id', '=', accountId)
        .orderBy('attached_at')
        .orderBy('project_id')
        .execute(),
      this.db
        .selectFrom('daily_balances')
        .select(sql<string>`min(day)::text`.as('day'))
        .where('account_id', '=', accountId)
        .where('project_id', '=', '')
        .executeTakeFirst(),
    ]);
    const { project } = range;
    if (project !== undefined && !projects.some((p) => p.project_id === project)) {
      throw new LedgerHttpError(reject('project_not_attached', `project "${project}" is not attached to this account`));
    }
    const from = range.from ?? defaultFrom(first?.day ?? null, to);
    checkRange(from, to);
    const shown = project === undefined ? projects : projects.filter((p) => p.project_id === project);
    const scopes = ['', ...shown.map((p) => p.project_id)];

    const select = () =>
      this.db
        .selectFrom('daily_balances')
        .select([...dayColumns, sql<string>`day::text`.as('day')])
        .where('account_id', '=', accountId)
        .where('project_id', 'in', scopes);
    const [inRange, before, periods] = await Promise.all([
      select().where('day', '>=', from).where('day', '<=', to).orderBy('daily_balances.day').execute(),
      // Where each series stands as the range begins: its last row before it.
      select()
        .distinctOn('project_id')
        .where('day', '<', from)
        .orderBy('project_id')
        .orderBy('daily_balances.day', 'desc')
        .execute(),
      this.db
        .selectFrom('subscription_periods')
        .select(['period_start', 'period_end'])
        .where('account_id', '=', accountId)
        .where('period_start', '<', sql<Date>`(${to}::date + 1)::timestamptz`)
        .where('period_end', '>', sql<Date>`${from}::date::timestamptz`)
        .orderBy('period_start')
        .execute(),
    ]);

    const current = new Map<string, DayRow>(before.map((row) => [row.project_id, row as DayRow]));
    const byDay = new Map<string, DayRow[]>();
    for (const row of inRange) {
      const rows = byDay.get(row.day) ?? [];
      rows.push(row as DayRow);
      byDay.set(row.day, rows);
    }
    const scope = project ?? '';
    const days = daysBetween(from, to).map((day) => {
      const today = new Map<string, DayRow>();
      for (const row of byDay.get(day) ?? []) {
        current.set(row.project_id, row);
        today.set(row.project_id, row);
      }
      const view = current.get(scope);
      const consumedToday = (projectId: string) => today.get(projectId)?.consumed_in_day ?? 0n;
      return {
        day,
        available: formatCredits(current.get('')?.available ?? 0n),
        buckets: bucketsView(view ?? { ...EMPTY_BUCKETS, available: project === undefined ? 0n : null }),
        consumed: formatCredits(consumedToday(scope)),
        consumedByProject: Object.fromEntries(
          shown.map((p) => [p.project_id, formatCredits(consumedToday(p.project_id))]),
        ),
      };
    });
    return {
      accountId,
      project: project ?? null,
      from,
      to,
      projects: shown.map((p) => ({ projectId: p.project_id, name: p.name })),
      days,
      periods: periods.map((p) => ({ start: p.period_start.toISOString(), end: p.period_end.toISOString() })),
    };
  }
}

/** The account's first day, but no more than the longest span back from `to`, and never after it. */
function defaultFrom(first: string | null, to: string): string {
  const earliest = addDays(to, -(MAX_DAILY_SPAN_DAYS - 1));
  if (first === null || first > to) return to;
  return first < earliest ? earliest : first;
}

function checkRange(from: string, to: string): void {
  if (from > to) {
    throw new LedgerHttpError(reject('validation_failed', `from (${from}) is after to (${to})`, { from, to }));
  }
  const span = spanOf(from, to);
  if (span > MAX_DAILY_SPAN_DAYS) {
    throw new LedgerHttpError(
      reject('validation_failed', `from ${from} to ${to} is ${span} days; ask for at most ${MAX_DAILY_SPAN_DAYS}`, {
        from,
        to,
        maxDays: MAX_DAILY_SPAN_DAYS,
      }),
    );
  }
}
