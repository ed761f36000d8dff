/**
 * The grant scheduler: records what time does to accounts when no other command comes along. Every
 * interval it asks the grants read model which accounts have something due — a scheduled grant
 * whose window began, free credits of a grant that lapsed, free credits coming within the window
 * of a `credits_expiring` alert rule (alert_rules) — and sends each an `ExpireCredits`
 * through the same command path as HTTP, which records exactly what is due by now (see
 * libs/ledger/src/decide/clock.ts). Decisions never wait for it: they ignore lapsed credits and
 * record what fell due themselves. It exists so the read models are on time too.
 *
 * Safe to run in every API instance: a command for an account that has nothing due appends
 * nothing, two instances racing on one account are ordered by the stream's expected revision, and
 * each sends under the idempotency key `due:<instant>` for the earliest thing due.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Principal } from '@ledger/domain';
import type { LedgerConfig } from '@ledger/platform';
import { sql, type Kysely } from 'kysely';
import { CommandGateway } from '../commands/command-gateway';
import type { ReceiptJson } from '../commands/receipt';
import type { LedgerDatabase } from '@ledger/database';
import { CONFIG, DATABASE } from '../infrastructure/tokens';

/** The scheduler acts for every account, as the ledger itself; its events name it as the principal. */
export const GRANT_SCHEDULER: Principal = { id: 'ledger-grant-scheduler', role: 'admin', accounts: '*' };

/** Accounts handled per tick; the rest wait for the next (the oldest due first). */
const ACCOUNTS_PER_TICK = 500;
/** An account just sent for is not sent again for the same due instant while the read models catch up. */
const RESEND_AFTER_MS = 60_000;

export interface DueAccount {
  readonly accountId: string;
  readonly dueAt: Date;
}

/** What the scheduler remembers having sent: an account and the instant something fell due on it. */
const sentKey = ({ accountId, dueAt }: DueAccount): string => `${accountId}\u0000${dueAt.toISOString()}`;

export interface SchedulerTick {
  readonly due: number;
  readonly sent: number;
  readonly receipts: readonly ReceiptJson[];
  readonly failures: number;
}

@Injectable()
export class GrantScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('GrantScheduler');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SchedulerTick> | undefined;
  private readonly sent = new Map<string, number>();

  constructor(
    private readonly commands: CommandGateway,
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    @Inject(CONFIG) private readonly config: LedgerConfig,
  ) {}

  onApplicationBootstrap(): void {
    const interval = this.config.grantSchedulerIntervalMs;
    if (interval === 0) return;
    this.timer = setInterval(() => void this.tick().catch(() => undefined), interval);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pass: every account with something due by now gets its command. Overlapping calls share a pass. */
  tick(now: Date = new Date()): Promise<SchedulerTick> {
    this.running ??= this.pass(now).finally(() => (this.running = undefined));
    return this.running;
  }

  /** Accounts where something falls due by `now`, earliest first. */
  async dueAccounts(now: Date, limit = ACCOUNTS_PER_TICK): Promise<DueAccount[]> {
    const rows = await sql<{ account_id: string; due_at: Date }>`
      SELECT account_id, min(due_at) AS due_at FROM (
        SELECT account_id, effective_at AS due_at FROM credit_grants
         WHERE status = 'scheduled' AND effective_at <= ${now}
        UNION ALL
        -- has_free is free > 0, kept by Postgres: the lapsing index names it (free changes too often).
        SELECT account_id, expires_at AS due_at FROM credit_grants
         WHERE has_free AND expires_at <= ${now}
        UNION ALL
        -- A credits_expiring alert rule not firing, and free credits lapsing within its N days:
        -- due at expiresAt − N days, when the rule's condition starts to hold (decide/alerts.ts).
        SELECT due.account_id, due.due_at FROM (
          SELECT g.account_id, g.expires_at - CASE WHEN r.kind = 'credits_expiring'
                   THEN make_interval(days => r.threshold::integer) END AS due_at
            FROM alert_rules r JOIN credit_grants g ON g.account_id = r.account_id
           WHERE r.kind = 'credits_expiring' AND r.status = 'active' AND NOT r.firing
             AND g.free > 0 AND g.expires_at > ${now}
        ) due
         WHERE due.due_at <= ${now}
      ) due
      GROUP BY account_id ORDER BY min(due_at), account_id LIMIT ${limit}
    `.execute(this.db);
    return rows.rows.map((row) => ({ accountId: row.account_id, dueAt: row.due_at }));
  }

  private async pass(now: Date): Promise<SchedulerTick> {
    let due: DueAccount[];
    try {
      due = await this.dueAccounts(now);
    } catch (error) {
      this.logger.warn(`could not read the grants falling due: ${String(error)}`);
      throw error;
    }
    for (const [key, at] of this.sent) if (now.getTime() - at > RESEND_AFTER_MS) this.sent.delete(key);
    const toSend = due.filter((account) => !this.sent.has(sentKey(account)));
    const outcomes = await Promise.allSettled(toSend.map((account) => this.send(account, now)));
    const receipts: ReceiptJson[] = [];
    let failures = 0;
    toSend.forEach((account, i) => {
      const outcome = outcomes[i];
      if (outcome?.status === 'fulfilled') {
        receipts.push(outcome.value);
        this.sent.set(sentKey(account), now.getTime());
      } else {
        failures++;
        this.logger.warn(`recording what fell due on ${account.accountId} failed: ${String(outcome?.reason)}`);
      }
    });
    const recorded = receipts.reduce((total, receipt) => total + receipt.events.length, 0);
    if (recorded > 0) this.logger.log(`recorded ${recorded} events falling due on ${receipts.length} accounts`);
    return { due: due.length, sent: toSend.length, receipts, failures };
  }

  private async send({ accountId, dueAt }: DueAccount, now: Date): Promise<ReceiptJson> {
    const answer = await this.commands.answer(GRANT_SCHEDULER, {
      type: 'ExpireCredits',
      params: { accountId },
      body: {},
      idempotencyKey: `due:${dueAt.toISOString()}`,
      now: now.toISOString(),
    });
    if (answer.status !== 200) throw new Error(`answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body as ReceiptJson;
  }
}
