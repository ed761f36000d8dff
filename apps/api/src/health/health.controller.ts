import { Controller, Get, Inject, Module } from '@nestjs/common';
import type { Health } from '@ledger/contract';
import type { EventStore } from '@ledger/event-store';
import { sql, type Kysely } from 'kysely';
import type { LedgerDatabase } from '@ledger/database';
import { DATABASE, EVENT_STORE } from '../infrastructure/tokens';

@Controller('health')
export class HealthController {
  constructor(
    @Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  /** Ready when Postgres and the event store answer; a failure surfaces as store_unavailable (503). */
  @Get()
  async health(): Promise<Health> {
    await sql`SELECT 1`.execute(this.db);
    await this.store.headPosition();
    return { status: 'ok' };
  }
}

@Module({ controllers: [HealthController] })
export class HealthModule {}
