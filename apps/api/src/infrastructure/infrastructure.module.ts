import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { EventStore } from '@ledger/event-store';
import type { LedgerConfig } from '@ledger/platform';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { ApiKeys } from '../identity/api-keys';
import type { DemoWorkspace } from '../workspace/demo-workspace';
import type { LedgerDatabase } from '@ledger/database';
import { ANSWERS_DATABASE, API_KEYS, CONFIG, DATABASE, DEMO_WORKSPACE, EVENT_STORE, PG_POOL } from './tokens';

/** Connections made before Nest starts (migrations run first), handed to every module. */
export interface Infrastructure {
  readonly config: LedgerConfig;
  readonly pool: pg.Pool;
  readonly db: Kysely<LedgerDatabase>;
  readonly answersDb: Kysely<LedgerDatabase>;
  readonly eventStore: EventStore;
  readonly apiKeys: ApiKeys;
  /** The demo workspace, unless LEDGER_DEMO is off. */
  readonly demo: DemoWorkspace | null;
}

@Global()
@Module({})
export class InfrastructureModule {
  static forRoot(infrastructure: Infrastructure): DynamicModule {
    const providers = [
      { provide: CONFIG, useValue: infrastructure.config },
      { provide: PG_POOL, useValue: infrastructure.pool },
      { provide: DATABASE, useValue: infrastructure.db },
      { provide: ANSWERS_DATABASE, useValue: infrastructure.answersDb },
      { provide: EVENT_STORE, useValue: infrastructure.eventStore },
      { provide: API_KEYS, useValue: infrastructure.apiKeys },
      { provide: DEMO_WORKSPACE, useValue: infrastructure.demo },
    ];
    return { module: InfrastructureModule, providers, exports: providers.map((p) => p.provide) };
  }
}
