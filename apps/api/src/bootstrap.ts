/**
 * Builds the API around a Postgres URL and the configured event store (Postgres or EventStoreDB):
 * connections, migrations, the Nest app, and a clean close.
 */
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { createEventStore } from '@ledger/event-store';
import { createKysely, createPool, migrate, type LedgerConfig } from '@ledger/platform';
import { AppModule } from './app.module';
import { GrantScheduler } from './credits/grant-scheduler';
import { LedgerErrorFilter } from './errors/error.filter';
import { badUrlHandler, Edge, installEdge } from './edge/edge';
import { PathParamsGuard } from './edge/path-params.guard';
import { serverOptions } from './edge/server-options';
import { ApiKeys } from './identity/api-keys';
import { ledgerMigrations, type LedgerDatabase } from '@ledger/database';
import type { Infrastructure } from './infrastructure/infrastructure.module';
import { demoWorkspace } from './workspace/demo-workspace';

export interface LedgerApi {
  readonly url: string;
  readonly infrastructure: Infrastructure;
  /** Settles once the demo workspace exists (or at once, 'off', when LEDGER_DEMO is off). */
  readonly demo: Promise<'created' | 'present' | 'off'>;
  /** Records what falls due (grants taking effect, credits lapsing) on its interval, or when asked. */
  readonly grantScheduler: GrantScheduler;
  close(): Promise<void>;
}

export interface ApiOptions {
  readonly config: LedgerConfig;
  readonly databaseUrl: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly host?: string;
  readonly logLevels?: LogLevel[] | false;
  /** One JSON object per line instead of coloured text (for log collectors, when not on a terminal). */
  readonly jsonLogs?: boolean;
}

export async function startLedgerApi(options: ApiOptions): Promise<LedgerApi> {
  const demo = options.config.demo ? demoWorkspace() : null;
  // Keys first: a ledger that must not start (no keys outside development) touches no database.
  const apiKeys = ApiKeys.fromConfig(options.config, demo?.keys);
  const pool = createPool(options.databaseUrl, { max: 20 });
  const db = createKysely<LedgerDatabase>(pool);
  await migrate(db, ledgerMigrations);
  const infrastructure: Infrastructure = {
    config: options.config,
    pool,
    db,
    answersDb: createKysely<LedgerDatabase>(createPool(options.databaseUrl, { max: 10, asynchronousCommit: true })),
    eventStore: createEventStore(options.config, pool),
    apiKeys,
    demo,
  };
  const errors = new LedgerErrorFilter();
  const edge = new Edge(infrastructure.apiKeys);
  const adapter = new FastifyAdapter({
    ...serverOptions(badUrlHandler(edge, (error, request, reply) => errors.answer(error, request, reply))),
    // The edge is Fastify hooks, and the API has no Express-style middleware to run.
    skipMiddie: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.with(infrastructure), adapter, {
    logger:
      options.logLevels === false
        ? false
        : new ConsoleLogger({
            logLevels: options.logLevels ?? ['error', 'warn', 'log'],
            json: options.jsonLogs ?? false,
            colors: !options.jsonLogs,
          }),
    // Nest adds no parser; installEdge removes Fastify's own, so the edge's is the only one.
    // (Fastify sends no X-Powered-By, so there is none to turn off.)
    bodyParser: false,
  });
  installEdge(adapter.getInstance(), edge);
  app.useGlobalFilters(errors);
  app.useGlobalGuards(new PathParamsGuard());
  await app.listen(options.port, options.host ?? '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://${options.host ?? '127.0.0.1'}:${address.port}`;
  const demoReady = demo
    ? demo.ensure(url.replace('0.0.0.0', '127.0.0.1'), infrastructure.eventStore)
    : Promise.resolve('off' as const);
  demoReady.catch(() => undefined); // the caller reports it; an unawaited failure must not crash the API
  return {
    url,
    infrastructure,
    demo: demoReady,
    grantScheduler: app.get(GrantScheduler),
    async close() {
      // server.close() lets in-flight requests finish; idle keep-alive sockets must not hold it open.
      const server = app.getHttpServer() as import('node:http').Server;
      const closeIdle = setInterval(() => server.closeIdleConnections(), 50);
      await app.close();
      clearInterval(closeIdle);
      await infrastructure.eventStore.close();
      await infrastructure.answersDb.destroy();
      await db.destroy(); // ends the pool too
    },
  };
}
