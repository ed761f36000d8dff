/**
 * 4. Projection rebuild from position zero, as `npm run rebuild` does it (build aside, swap), for
 * each projection in turn, with the log grown to each size: the events per second, and the cost
 * per event, which should stay flat as the log grows.
 */
import { createKysely, createPool, migrate } from '@ledger/platform';
import { projections, toProjectedEvent, type ReadModelTables } from '@ledger/projections';
import { PostgresEventStore } from '@ledger/event-store';
import { ledgerMigrations } from '@ledger/database';
import { rebuildProjection } from '../../../apps/projector/src/rebuild';
import type { Figure, Scenario } from '../scenario';
import { AccountHistory, appendHistories } from '../support/history';
import { now, perSecond } from '../support/stats';

export const rebuildScenario: Scenario = {
  name: 'rebuild',
  title: 'Projection rebuild from position zero at 10k, 100k and 1M events',
  async run({ quick, postgres, progress }) {
    const parameters = {
      sizes: quick ? [1000, 2000, 5000] : [10_000, 100_000, 1_000_000],
      accounts: quick ? 10 : 200,
      projections: projections.map((projection) => projection.name),
      batchSize: 'rebuild default (5000)',
    };
    const database = await postgres.createDatabase('rebuild');
    const pool = createPool(database.url, { max: 8 });
    const db = createKysely<ReadModelTables>(pool);
    const store = new PostgresEventStore(pool);
    try {
      await migrate(db, ledgerMigrations);
      const accounts = Array.from({ length: parameters.accounts }, (_, i) => new AccountHistory(`acct-${i}`));
      const rows: Array<{ size: number; projection: string; eventsPerSecond: number; microsPerEvent: number }> = [];
      let stored = 0;
      for (const size of parameters.sizes) {
        progress.note('growing the log', { to: size });
        stored += await appendHistories(
          pool,
          accounts,
          size - stored,
          (n) => progress.tick('appending', { events: stored + n }),
          { inFlight: 4 },
        );
        await pool.query('VACUUM ANALYZE events');
        for (const projection of projections) {
          const started = now();
          const result = await rebuildProjection({
            db,
            store,
            projection,
            toProjectedEvent,
            onProgress: (p) =>
              progress.tick(`rebuilding ${projection.name}`, { events: p.eventsApplied, perSecond: p.eventsPerSecond }),
          });
          const ms = now() - started;
          rows.push({
            size,
            projection: projection.name,
            eventsPerSecond: perSecond(result.eventsApplied, ms),
            microsPerEvent: Number(((ms * 1000) / result.eventsApplied).toFixed(2)),
          });
          progress.note(`rebuilt ${projection.name}`, {
            events: result.eventsApplied,
            perSecond: perSecond(result.eventsApplied, ms),
          });
        }
      }
      const largest = Math.max(...parameters.sizes);
      const smallest = Math.min(...parameters.sizes);
      const at = (size: number, name: string) => rows.find((row) => row.size === size && row.projection === name)!;
      const allAt = (size: number): number => {
        const mine = rows.filter((row) => row.size === size);
        const micros = mine.reduce((sum, row) => sum + row.microsPerEvent, 0);
        return Math.round(1_000_000 / micros);
      };
      const figures: Figure[] = projections.map((projection) => ({
        name: `${projection.name}_events_per_second`,
        label: `rebuild ${projection.name} at ${largest.toLocaleString('en-US')} events`,
        value: at(largest, projection.name).eventsPerSecond,
        unit: 'events/s',
        target: { op: '>=', value: 50_000 },
      }));
      figures.push({
        name: 'all_events_per_second',
        label: `rebuild all ${projections.length} in turn at ${largest.toLocaleString('en-US')} events`,
        value: allAt(largest),
        unit: 'events/s',
      });
      figures.push({
        name: 'cost_growth',
        label: `per-event cost at ${largest.toLocaleString('en-US')} ÷ at ${smallest.toLocaleString('en-US')} events (all)`,
        value: Number((allAt(smallest) / allAt(largest)).toFixed(2)),
        unit: '×',
        target: { op: '<=', value: 1.5 },
      });
      return {
        parameters,
        figures,
        notes: [
          `Per size and projection (events/s, µs/event): ${rows
            .map(
              (row) =>
                `${row.size.toLocaleString('en-US')} ${row.projection} ${row.eventsPerSecond.toLocaleString('en-US')} (${row.microsPerEvent})`,
            )
            .join('; ')}.`,
          `The log is made in-process by the real domain (decide + evolve), ${parameters.accounts} accounts interleaved, appended through the Postgres store.`,
        ],
      };
    } finally {
      await store.close();
      await db.destroy();
      await database.drop();
    }
  },
};
