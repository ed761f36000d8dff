/**
 * 3. Event-store append, in-process: our Postgres store against Emmett's PostgreSQL event store
 * (`@event-driven-io/emmett-postgresql`), in the same run, on the same Postgres (each in a database
 * of its own), appending the same events to the same number of streams under expected versions,
 * one event per append and in batches.
 *
 * Fair to the peer: its documented setup (`getPostgreSQLEventStore(connectionString)`, its own
 * pooled connections, as many as ours), its schema migrated before the clock starts, no inline
 * projections; each append passes the stream's expected version. Runs alternate ours/peer per mode
 * so neither always goes first on a warmer cache.
 *
 * A third mode runs both with `synchronous_commit = off` (set the same way for both, through the
 * connection string): durable appends mostly wait for the same WAL flush, which hides what each
 * store itself costs per append; without the wait, that cost is what is left.
 */
import { randomUUID } from 'node:crypto';
import { getPostgreSQLEventStore, type PostgresEventStore as EmmettStore } from '@event-driven-io/emmett-postgresql';
import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import { appendToStream, eventStoreMigrations, type EventToAppend } from '@ledger/event-store';
import { createKysely, createPool, migrate } from '@ledger/platform';
import type pg from 'pg';
import type { Scenario } from '../scenario';
import { now, perSecond, summarize } from '../support/stats';

const POOL_SIZE = 10;

/** A realistic event: a reservation with its draws and the full command metadata. */
function ledgerEvent(streamNo: number, n: number): EventToAppend {
  const commandId = randomUUID();
  return {
    type: 'CreditsReserved',
    data: {
      accountId: `acct-${streamNo}`,
      projectId: 'proj-a',
      runId: `run-${n}`,
      amount: '12.5',
      draws: [{ grantId: 'grant-0', amount: '12.5' }],
    },
    metadata: {
      eventId: randomUUID(),
      schemaVersion: 1,
      commandId,
      commandType: 'AcceptRun',
      idempotencyKey: `accept:${streamNo}:${n}`,
      requestHash: 'sha256:3f1b2c',
      correlationId: commandId,
      causationId: commandId,
      principal: 'workflow-runner',
      occurredAt: new Date(Date.UTC(2026, 10, 1) + n * 1000).toISOString(),
    },
  };
}

/** The same database, its sessions committing without waiting for the WAL flush. */
function withoutFlushWait(url: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent('-c synchronous_commit=off')}`;
}

interface Appender {
  /** Appends to stream `s`, expecting the events appended to it so far. */
  append(streamNo: number, events: EventToAppend[]): Promise<void>;
}

function ours(pool: pg.Pool, prefix: string): Appender {
  const revisions = new Map<number, bigint>();
  return {
    async append(streamNo, events) {
      const result = await appendToStream(
        pool,
        `${prefix}-${streamNo}`,
        events,
        revisions.get(streamNo) ?? 'no_stream',
      );
      revisions.set(streamNo, result.revision);
    },
  };
}

function peer(store: EmmettStore, prefix: string): Appender {
  const versions = new Map<number, bigint>();
  return {
    async append(streamNo, events) {
      const result = await store.appendToStream(
        `${prefix}-${streamNo}`,
        events.map((event) => ({ type: event.type, data: event.data, metadata: event.metadata })),
        { expectedStreamVersion: versions.get(streamNo) ?? STREAM_DOES_NOT_EXIST },
      );
      versions.set(streamNo, result.nextExpectedStreamVersion);
    },
  };
}

/** Every stream gets `appends` appends of `batch` events; `writers` run at once, each on its own streams. */
async function measure(
  appender: Appender,
  streams: number,
  appends: number,
  batch: number,
  writers: number,
): Promise<{ eventsPerSecond: number; appendsPerSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  const started = now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let round = 0; round < appends; round++) {
        for (let s = w; s < streams; s += writers) {
          const events = Array.from({ length: batch }, (_, i) => ledgerEvent(s, round * batch + i));
          const sent = now();
          await appender.append(s, events);
          latencies.push(now() - sent);
        }
      }
    }),
  );
  const ms = now() - started;
  const latency = summarize(latencies);
  return {
    eventsPerSecond: perSecond(streams * appends * batch, ms),
    appendsPerSecond: perSecond(streams * appends, ms),
    p50: latency.p50,
    p99: latency.p99,
  };
}

export const appendScenario: Scenario = {
  name: 'append',
  title: 'Event-store append in-process, side by side with Emmett (PostgreSQL)',
  async run({ quick, postgres, progress }) {
    const parameters = {
      streams: quick ? 10 : 100,
      writers: 8,
      single: { appendsPerStream: quick ? 10 : 100, eventsPerAppend: 1 },
      batch: { appendsPerStream: quick ? 2 : 20, eventsPerAppend: 10 },
      unflushed: { appendsPerStream: quick ? 10 : 100, eventsPerAppend: 1 },
      poolSize: POOL_SIZE,
      peer: '@event-driven-io/emmett-postgresql 0.42.0',
    };
    const oursDb = await postgres.createDatabase('append_ours');
    const peerDb = await postgres.createDatabase('append_peer');
    const pool = createPool(oursDb.url, { max: POOL_SIZE });
    const peerStore = getPostgreSQLEventStore(peerDb.url);
    const unflushedPool = createPool(withoutFlushWait(oursDb.url), { max: POOL_SIZE });
    const unflushedPeerStore = getPostgreSQLEventStore(withoutFlushWait(peerDb.url));
    try {
      const db = createKysely(pool);
      await migrate(db, eventStoreMigrations);
      await peerStore.schema.migrate();
      // Warm both: connections open, statements planned.
      await measure(ours(pool, 'warm'), parameters.writers, 2, 1, parameters.writers);
      await measure(peer(peerStore, 'warm'), parameters.writers, 2, 1, parameters.writers);
      await measure(ours(unflushedPool, 'warm-u'), parameters.writers, 2, 1, parameters.writers);
      await measure(peer(unflushedPeerStore, 'warm-u'), parameters.writers, 2, 1, parameters.writers);

      const compare = async (mode: 'single' | 'batch' | 'unflushed') => {
        const { appendsPerStream, eventsPerAppend } = parameters[mode];
        progress.note(`appending: ${mode}`, { streams: parameters.streams, appendsPerStream, eventsPerAppend });
        const [oursPool, peersStore] = mode === 'unflushed' ? [unflushedPool, unflushedPeerStore] : [pool, peerStore];
        const mine = await measure(
          ours(oursPool, `${mode}`),
          parameters.streams,
          appendsPerStream,
          eventsPerAppend,
          parameters.writers,
        );
        const theirs = await measure(
          peer(peersStore, `${mode}`),
          parameters.streams,
          appendsPerStream,
          eventsPerAppend,
          parameters.writers,
        );
        return { ours: mine, peer: theirs };
      };
      // One after another, in this order, as before: the modes never share the machine.
      const results = {
        single: await compare('single'),
        batch: await compare('batch'),
        unflushed: await compare('unflushed'),
      };
      const ratio = (mode: keyof typeof results): number =>
        Number((results[mode].ours.eventsPerSecond / Math.max(1, results[mode].peer.eventsPerSecond)).toFixed(2));
      return {
        parameters,
        figures: [
          {
            name: 'single_ours_events_per_second',
            label: 'append, 1 event/append: ours',
            value: results.single.ours.eventsPerSecond,
            unit: 'events/s',
          },
          {
            name: 'single_peer_events_per_second',
            label: 'append, 1 event/append: Emmett',
            value: results.single.peer.eventsPerSecond,
            unit: 'events/s',
          },
          {
            name: 'single_ratio',
            label: 'append, 1 event/append: ours ÷ Emmett',
            value: ratio('single'),
            unit: '×',
            target: { op: '>=', value: 2 },
          },
          {
            name: 'batch_ours_events_per_second',
            label: 'append, 10 events/append: ours',
            value: results.batch.ours.eventsPerSecond,
            unit: 'events/s',
          },
          {
            name: 'batch_peer_events_per_second',
            label: 'append, 10 events/append: Emmett',
            value: results.batch.peer.eventsPerSecond,
            unit: 'events/s',
          },
          {
            name: 'batch_ratio',
            label: 'append, 10 events/append: ours ÷ Emmett',
            value: ratio('batch'),
            unit: '×',
            target: { op: '>=', value: 2 },
          },
          {
            name: 'unflushed_ours_events_per_second',
            label: 'append, 1 event/append, no flush wait: ours',
            value: results.unflushed.ours.eventsPerSecond,
            unit: 'events/s',
          },
          {
            name: 'unflushed_peer_events_per_second',
            label: 'append, 1 event/append, no flush wait: Emmett',
            value: results.unflushed.peer.eventsPerSecond,
            unit: 'events/s',
          },
          {
            name: 'unflushed_ratio',
            label: 'append, 1 event/append, no flush wait: ours ÷ Emmett',
            value: ratio('unflushed'),
            unit: '×',
          },
        ],
        notes: [
          `Append latency p50/p99 (ms): single ours ${results.single.ours.p50}/${results.single.ours.p99}, Emmett ${results.single.peer.p50}/${results.single.peer.p99}; ` +
            `batch ours ${results.batch.ours.p50}/${results.batch.ours.p99}, Emmett ${results.batch.peer.p50}/${results.batch.peer.p99}.`,
          'Ours: one statement per append (claim the revision and insert, in a CTE), autocommit. Emmett: BEGIN, its append function, COMMIT.',
        ],
      };
    } finally {
      await peerStore.close();
      await unflushedPeerStore.close();
      await pool.end();
      await unflushedPool.end();
      await oursDb.drop();
      await peerDb.drop();
    }
  },
};
