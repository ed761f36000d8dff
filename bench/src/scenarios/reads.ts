/**
 * 6. Reads: the overview and the usage page, account-level and filtered by project, over HTTP,
 * with a usage ledger of a million rows.
 *
 * A real history (made by the domain, projected by the real projections) gives every read model
 * its rows; the usage ledger is then grown to its size by copying those rows in SQL under fresh
 * event ids, run ids and later positions, spread over the same accounts and projects. Projecting
 * a million-row ledger event by event is what the rebuild scenario measures; here it would only
 * make the run longer, and a query does not care how a row was written.
 */
import { createKysely, createPool, migrate } from '@ledger/platform';
import { projections, toProjectedEvent, type ReadModelTables } from '@ledger/projections';
import { PostgresEventStore } from '@ledger/event-store';
import { ledgerMigrations } from '@ledger/database';
import { rebuildProjection } from '../../../apps/projector/src/rebuild';
import type { Figure, Scenario } from '../scenario';
import { AccountHistory, appendHistories } from '../support/history';
import { BenchClient } from '../support/http';
import { startService } from '../support/services';
import { summarize } from '../support/stats';
import { DASHBOARD_KEY } from '../support/workload';

const PROJECT = 'proj-support';

export const readsScenario: Scenario = {
  name: 'reads',
  title: 'Overview and usage-page reads over a million-row usage ledger',
  async run({ quick, postgres, progress }) {
    const parameters = {
      usageRows: quick ? 20_000 : 1_000_000,
      accounts: quick ? 5 : 20,
      eventsPerAccount: quick ? 300 : 2000,
      requestsPerQuery: quick ? 50 : 2000,
      pageSize: 50,
      clients: 1,
    };
    const database = await postgres.createDatabase('reads');
    const pool = createPool(database.url, { max: 4 });
    const db = createKysely<ReadModelTables>(pool);
    const store = new PostgresEventStore(pool);
    let api: Awaited<ReturnType<typeof startService>> | undefined;
    let client: BenchClient | undefined;
    try {
      await migrate(db, ledgerMigrations);
      const accounts = Array.from({ length: parameters.accounts }, (_, i) => new AccountHistory(`acct-${i}`));
      progress.note('making the history', { events: parameters.accounts * parameters.eventsPerAccount });
      await appendHistories(pool, accounts, parameters.accounts * parameters.eventsPerAccount);
      for (const projection of projections) await rebuildProjection({ db, store, projection, toProjectedEvent });

      const { rows: counted } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM usage_ledger');
      const real = Number(counted[0]?.n ?? 0);
      const copies = Math.max(0, Math.ceil((parameters.usageRows - real) / real));
      progress.note('growing the usage ledger', { realRows: real, copies });
      const { rows: columns } = await pool.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'usage_ledger' AND table_schema = 'public' ORDER BY ordinal_position`,
      );
      const replaced: Record<string, string> = {
        event_id: 'gen_random_uuid()',
        run_id: `CASE WHEN u.run_id IS NULL THEN NULL ELSE u.run_id || '.' || g END`,
        position_commit: 'u.position_commit + g::bigint * 1000000000',
      };
      const names = columns.map((c) => c.column_name);
      const select = names.map((name) => replaced[name] ?? `u.${name}`).join(', ');
      for (let g = 1; g <= copies; g += 10) {
        await pool.query(
          `INSERT INTO usage_ledger (${names.join(', ')})
           SELECT ${select} FROM usage_ledger u CROSS JOIN generate_series($1::int, $2::int) AS g
           WHERE u.position_commit < 1000000000`,
          [g, Math.min(copies, g + 9)],
        );
        progress.tick('copying', { copy: g });
      }
      await pool.query('VACUUM ANALYZE usage_ledger');
      // Write back what the setup dirtied now, not while the reads are timed.
      await pool.query('CHECKPOINT');
      const { rows: total } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM usage_ledger');

      api = await startService('api', database.url);
      client = new BenchClient(api.url!, DASHBOARD_KEY, 1);
      const queries: Array<{ name: string; label: string; path: (account: string) => string; target?: number }> = [
        { name: 'overview', label: 'overview (account)', path: (a) => `/v1/accounts/${a}/overview`, target: 5 },
        {
          name: 'overview_project',
          label: 'overview (project)',
          path: (a) => `/v1/accounts/${a}/overview?project=${PROJECT}`,
          target: 5,
        },
        {
          name: 'usage',
          label: 'usage page (account)',
          path: (a) => `/v1/accounts/${a}/usage?limit=${parameters.pageSize}`,
        },
        {
          name: 'usage_project',
          label: 'usage page (project)',
          path: (a) => `/v1/accounts/${a}/usage?limit=${parameters.pageSize}&project=${PROJECT}`,
        },
      ];
      const figures: Figure[] = [];
      const notes: string[] = [];
      for (const query of queries) {
        // Warm-up: the first requests pay for plans and connections.
        for (let i = 0; i < 20; i++) await client.get(query.path(accounts[i % accounts.length]!.accountId));
        const latencies: number[] = [];
        for (let i = 0; i < parameters.requestsPerQuery; i++) {
          const answer = await client.get(query.path(accounts[i % accounts.length]!.accountId));
          if (answer.status !== 200)
            throw new Error(`${query.name} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
          latencies.push(answer.ms);
          progress.tick(query.name, { done: i + 1 });
        }
        const latency = summarize(latencies);
        figures.push({ name: `${query.name}_p50_ms`, label: `${query.label} p50`, value: latency.p50, unit: 'ms' });
        figures.push({
          name: `${query.name}_p99_ms`,
          label: `${query.label} p99`,
          value: latency.p99,
          unit: 'ms',
          ...(query.target ? { target: { op: '<' as const, value: query.target } } : {}),
        });
      }
      notes.push(
        `${Number(total[0]?.n ?? 0).toLocaleString('en-US')} usage-ledger rows over ${parameters.accounts} accounts (${real.toLocaleString('en-US')} projected from events, the rest copies); ` +
          `one client, sequential requests over keep-alive HTTP, measured at the client; usage pages of ${parameters.pageSize} rows, project ${PROJECT}.`,
      );
      return { parameters, figures, notes };
    } finally {
      client?.close();
      await api?.stop();
      await store.close();
      await db.destroy();
      await database.drop();
    }
  },
};
