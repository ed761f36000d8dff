/**
 * A service the benchmarks run in a process of its own, as in production: `api` (the Nest app on
 * a free port) or `projector` (every projection, following the log). The parent talks to it over
 * the IPC channel: it answers `ready` once serving, `stats` on request, and stops on `stop`.
 */
import 'reflect-metadata';
import { createEventStore } from '@ledger/event-store';
import { createKysely, createPool, loadConfig } from '@ledger/platform';
import { projections, toProjectedEvent, type ReadModelTables } from '@ledger/projections';
import { startLedgerApi } from '../../../apps/api/src/bootstrap';
import { commandRunnerStats } from '../../../apps/api/src/commands/account-command-runner';
import { Projector } from '../../../apps/projector/src/projector';
import type pg from 'pg';
import { PROJECTOR_APPLICATION_NAME } from './services';
import { BENCH_KEYS } from './workload';

/** What the projector sent Postgres: every statement of its pool (log reads included), and its batches. */
export interface ProjectorStats {
  readonly statements: number;
  readonly transactions: number;
  readonly events: number;
}

export type ChildMessage =
  | { type: 'ready'; url?: string }
  | {
      type: 'stats';
      conflicts: number;
      appends: number;
      commands: number;
      rssBytes: number;
      projector?: ProjectorStats;
    }
  | { type: 'stopped' };

let projectorStats: (() => ProjectorStats) | undefined;

/** Counts every statement sent through the pool's clients, whoever sends it. */
function countStatements(pool: pg.Pool): () => number {
  let statements = 0;
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      statements += 1;
      return query(...args);
    };
  });
  return () => statements;
}

const send = (message: ChildMessage): void => void process.send?.(message);

async function runApi(databaseUrl: string): Promise<() => Promise<void>> {
  // The benchmarks' keys: they act as the workflow runner and the dashboards do.
  const config = { ...loadConfig({}), apiKeysJson: JSON.stringify(BENCH_KEYS), apiKeysFile: undefined };
  const api = await startLedgerApi({ config, databaseUrl, port: 0, logLevels: ['error'] });
  send({ type: 'ready', url: api.url });
  return () => api.close();
}

async function runProjector(databaseUrl: string): Promise<() => Promise<void>> {
  // As apps/projector/src/main.ts sets it up, with its defaults (batches of at most 500, committed as soon as the projection is free).
  const url = new URL(databaseUrl);
  url.searchParams.set('application_name', PROJECTOR_APPLICATION_NAME);
  const pool = createPool(url.toString(), { max: projections.length * 2 + 4 });
  const statements = countStatements(pool);
  const db = createKysely<ReadModelTables>(pool);
  const store = createEventStore(loadConfig({}), pool, { pageSize: 1000 });
  const projector = new Projector({ db, store, projections, toProjectedEvent });
  projectorStats = () => ({
    statements: statements(),
    transactions: projector.counters.transactions,
    events: projector.counters.events,
  });
  const controller = new AbortController();
  const running = projector.run(controller.signal);
  send({ type: 'ready' });
  return async () => {
    controller.abort();
    await running;
    await store.close();
    await db.destroy();
  };
}

async function main(): Promise<void> {
  const [role, databaseUrl] = process.argv.slice(2);
  if (!databaseUrl || (role !== 'api' && role !== 'projector')) throw new Error('usage: child (api|projector) <url>');
  const stop = role === 'api' ? await runApi(databaseUrl) : await runProjector(databaseUrl);
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'stats') {
      send({
        type: 'stats',
        ...commandRunnerStats,
        rssBytes: process.memoryUsage().rss,
        ...(projectorStats ? { projector: projectorStats() } : {}),
      });
    } else if (message.type === 'stop') {
      void stop().then(() => {
        send({ type: 'stopped' });
        process.exit(0);
      });
    }
  });
  // The parent going away must not leave a service running.
  process.on('disconnect', () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
