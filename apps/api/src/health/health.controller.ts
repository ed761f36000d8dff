import { Controller, Get, Inject, Module } from '@nestjs/common';
import { sql, type Kysely } from 'kysely';
import type { LedgerDatabase } from '../infrastructure/database';
import { DATABASE } from '../infrastructure/tokens';

@Controller('health')
export class HealthController {
  constructor(@Inject(DATABASE) private readonly db: Kysely<LedgerDatabase>) {}

  /** Ready when Postgres answers; a failure surfaces as store_unavailable (503). */
  @Get()
  async health(): Promise<{ status: 'ok' }> {
    await sql`SELECT 1`.execute(this.db);
    return { status: 'ok' };
  }
}

@Module({ controllers: [HealthController] })
export class HealthModule {}
