/**
 * This API process as the owner of the idempotency keys it claims (on EventStoreDB: on Postgres no
 * key is claimed, and no lease is held). It holds a lease in
 * `command_owners` and renews it every RENEW_EVERY_MS; a claim whose owner's lease has run out
 * belongs to a process that died (or stalled) mid-command, and the next retry takes it over. So a
 * retry is answered within LEASE_SECONDS of a death, instead of after a fixed wait per key.
 *
 * Taking over a claim whose owner is in fact alive (a pause longer than the lease) is safe: the
 * stream's expected revision lets only one of them append, and the other then finds the command's
 * events in the stream and answers from them.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { sql, type Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import { PostgresEventStore, type EventStore } from '@ledger/event-store';
import { ANSWERS_DATABASE, EVENT_STORE } from '../infrastructure/tokens';

/**
 * Whether keys are claimed in Postgres before deciding: on EventStoreDB, whose appends cannot write
 * the answers. On Postgres the append writes each key's only row, with its answer.
 */
export const keysClaimedBeforeDeciding = (eventStore: EventStore): boolean =>
  !(eventStore instanceof PostgresEventStore);

/** How long a lease lasts past its last renewal. */
export const LEASE_SECONDS = 3;
const RENEW_EVERY_MS = 1000;
/** Leases of owners gone this long are deleted (the rows only tell who is alive). */
const FORGET_OWNERS_AFTER_HOURS = 24;

@Injectable()
export class CommandOwner implements OnModuleInit, OnApplicationShutdown {
  /** Unique per process start: a restarted process is a new owner, and its old claims are free. */
  readonly id = `api-${randomUUID()}`;
  private readonly logger = new Logger('CommandOwner');
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;

  private readonly holdsLease: boolean;

  constructor(
    @Inject(ANSWERS_DATABASE) private readonly db: Kysely<LedgerDatabase>,
    @Inject(EVENT_STORE) eventStore: EventStore,
  ) {
    this.holdsLease = keysClaimedBeforeDeciding(eventStore);
  }

  async onModuleInit(): Promise<void> {
    if (!this.holdsLease) return;
    await this.renew();
    await this.db
      .deleteFrom('command_owners')
      .where('lease_until', '<', sql<Date>`now() - make_interval(hours => ${FORGET_OWNERS_AFTER_HOURS})`)
      .execute();
    this.timer = setInterval(() => {
      // One renewal at a time: a slow database must not pile them up.
      this.renewing ??= this.renew()
        .catch((error: unknown) => this.logger.warn(`renewing the command lease failed: ${String(error)}`))
        .finally(() => (this.renewing = undefined));
    }, RENEW_EVERY_MS);
    this.timer.unref();
  }

  /** Gives the lease up, so that another process may take over this one's claims at once. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.holdsLease) return;
    clearInterval(this.timer);
    await this.renewing;
    await this.db
      .deleteFrom('command_owners')
      .where('owner_id', '=', this.id)
      .execute()
      .catch(() => undefined);
  }

  private async renew(): Promise<void> {
    await sql`
      INSERT INTO command_owners (owner_id, lease_until)
      VALUES (${this.id}, now() + make_interval(secs => ${LEASE_SECONDS}))
      ON CONFLICT (owner_id) DO UPDATE SET lease_until = excluded.lease_until`.execute(this.db);
  }
}
