/**
 * 3. Event-store append, in-process: our Postgres store against Emmett's PostgreSQL event store
 * (`@event-driven-io/emmett-postgresql`), in the same run, on the same Postgres (each in a database
 * of its own), appending the same events to the same number of streams under expected versions,
 * one event per append and in batches.
 *
 * Ours is timed through its production path, `PostgresEventStore.append` (the append statement,
 * then the commit notification subscribers wake on), not the bare `appendToStream`.
 *
 * Fair to the peer: its documented setup (`getPostgreSQLEventStore(connectionString)`, its own
 * pooled connections, as many as ours), its schema migrated before the clock starts, no inline
 * projections; each append passes the stream's expected version; the same durability for both
 * (the server's default, or `synchronous_commit = off` for both through the connection string).
 *
 * On a shared machine one run of each says little: every mode runs `repetitions` times, ours and
 * the peer back to back, the one going first alternating, and the ratio is taken within each pair;
 * the figures are the medians with their range. Each run also reads the CPU time it cost — the
 * benchmark process (the store's client side) and the Postgres cluster — per event.
 *
 * Modes: `single` (1 event per append), `batch` (10 per append), `unflushed` (1 per append, neither
 * waiting for the WAL flush: what each store itself costs, without the wait that dominates a durable
 * single-event append), and `many` (one event on each of 10 streams per call: ours as one
 * `appendMany` statement, the peer — which has no multi-stream append — as 10 concurrent appends).
 */
import { randomUUID } from 'node:crypto';
import { getPostgreSQLEventStore, type PostgresEventStore as EmmettStore } from '@event-driven-io/emmett-postgresql';
import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import { eventStoreMigrations, PostgresEventStore, type EventToAppend } from '@ledger/event-store';
import { createKysely, createPool, migrate } from '@ledger/platform';
import { medianFigure, type Figure, type Scenario } from '../scenario';
import { CpuMeter, findPostmasterPid } from '../support/cpu';
import { now, perSecond, summarize } from '../support/stats';
import { known } from '../support/windows';

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

interface Part {
  readonly streamNo: number;
  readonly events: EventToAppend[];
}

interface Appender {
  /** Appends each part to its stream, expecting the events appended to it so far. */
  append(parts: readonly Part[]): Promise<void>;
}

/** Ours, through the store: one `append` per part, or every part in one `appendMany`. */
function ours(store: PostgresEventStore, prefix: string, many: boolean): Appender {
  const revisions = new Map<number, bigint>();
  const expected = (streamNo: number) => revisions.get(streamNo) ?? ('no_stream' as const);
  const streamId = (streamNo: number): string => `${prefix}-${streamNo}`;
  return {
    async append(parts) {
      if (!many) {
        await Promise.all(
          parts.map(async ({ streamNo, events }) => {
            const result = await store.append(streamId(streamNo), events, expected(streamNo));
            revisions.set(streamNo, result.revision);
          }),
        );
        return;
      }
      const outcomes = await store.appendMany(
        parts.map(({ streamNo, events }) => ({ streamId: streamId(streamNo), events, expected: expected(streamNo) })),
      );
      outcomes.forEach((outcome, i) => {
        const part = parts[i]!;
        if (!outcome.ok) throw outcome.conflict;
        if (outcome.result) revisions.set(part.streamNo, outcome.result.revision);
      });
    },
  };
}

/** Emmett: one `appendToStream` per part, concurrently (it has no multi-stream append). */
function peer(store: EmmettStore, prefix: string): Appender {
  const versions = new Map<number, bigint>();
  return {
    async append(parts) {
      await Promise.all(
        parts.map(async ({ streamNo, events }) => {
          const result = await store.appendToStream(
            `${prefix}-${streamNo}`,
            events.map((event) => ({ type: event.type, data: event.data, metadata: event.metadata })),
            { expectedStreamVersion: versions.get(streamNo) ?? STREAM_DOES_NOT_EXIST },
          );
          versions.set(streamNo, result.nextExpectedStreamVersion);
        }),
      );
    },
  };
}

interface Shape {
  /** Calls to the appender per group of streams. */
  readonly rounds: number;
  /** Groups of streams; each call appends to every stream of one group. */
  readonly groups: number;
  readonly streamsPerCall: number;
  readonly eventsPerAppend: number;
}

interface Run {
  readonly eventsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** µs of CPU per event: the benchmark process (the store's client side), and Postgres. */
  readonly clientUs: number;
  readonly postgresUs: number | null;
}

/** Every group gets `rounds` calls; `writers` run at once, each on its own groups. */
async function measure(appender: Appender, shape: Shape, writers: number, meter: CpuMeter): Promise<Run> {
  const latencies: number[] = [];
  const window = meter.start();
  const started = now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let round = 0; round < shape.rounds; round++) {
        for (let g = w; g < shape.groups; g += writers) {
          const parts = Array.from({ length: shape.streamsPerCall }, (_, i) => {
            const streamNo = g * shape.streamsPerCall + i;
            return {
              streamNo,
              events: Array.from({ length: shape.eventsPerAppend }, (_, e) =>
                ledgerEvent(streamNo, round * shape.eventsPerAppend + e),
              ),
            };
          });
          const sent = now();
          await appender.append(parts);
          latencies.push(now() - sent);
        }
      }
    }),
  );
  const ms = now() - started;
  const cpu = window.stop();
  const events = shape.rounds * shape.groups * shape.streamsPerCall * shape.eventsPerAppend;
  const latency = summarize(latencies);
  return {
    eventsPerSecond: perSecond(events, ms),
    p50: latency.p50,
    p99: latency.p99,
    clientUs: Math.round(cpu.loadGeneratorUs / events),
    postgresUs: cpu.postgresUs === null ? null : Math.round(cpu.postgresUs / events),
  };
}

const MODES = ['single', 'batch', 'unflushed', 'many'] as const;
type Mode = (typeof MODES)[number];

const LABELS: Record<Mode, string> = {
  single: '1 event/append',
  batch: '10 events/append',
  unflushed: '1 event/append, no flush wait',
  many: '1 event on each of 10 streams per call (ours: appendMany)',
};

export const appendScenario: Scenario = {
  name: 'append',
  title: 'Event-store append in-process, side by side with Emmett (PostgreSQL)',
  async run({ quick, postgres, progress }) {
    const shapes: Record<Mode, Shape> = {
      single: { rounds: quick ? 5 : 40, groups: quick ? 10 : 100, streamsPerCall: 1, eventsPerAppend: 1 },
      batch: { rounds: quick ? 2 : 10, groups: quick ? 10 : 100, streamsPerCall: 1, eventsPerAppend: 10 },
      unflushed: { rounds: quick ? 5 : 40, groups: quick ? 10 : 100, streamsPerCall: 1, eventsPerAppend: 1 },
      many: { rounds: quick ? 3 : 20, groups: quick ? 8 : 16, streamsPerCall: 10, eventsPerAppend: 1 },
    };
    const parameters = {
      writers: 8,
      repetitions: 3,
      shapes,
      poolSize: POOL_SIZE,
      peer: '@event-driven-io/emmett-postgresql 0.42.0',
      durability: 'server default (synchronous_commit on) for both; unflushed: synchronous_commit=off for both',
    };
    const oursDb = await postgres.createDatabase('append_ours');
    const peerDb = await postgres.createDatabase('append_peer');
    const pool = createPool(oursDb.url, { max: POOL_SIZE });
    const unflushedPool = createPool(withoutFlushWait(oursDb.url), { max: POOL_SIZE });
    const store = new PostgresEventStore(pool);
    const unflushedStore = new PostgresEventStore(unflushedPool);
    const peerStore = getPostgreSQLEventStore(peerDb.url);
    const unflushedPeerStore = getPostgreSQLEventStore(withoutFlushWait(peerDb.url));
    try {
      const db = createKysely(pool);
      await migrate(db, eventStoreMigrations);
      await peerStore.schema.migrate();
      const meter = new CpuMeter({}, await findPostmasterPid(oursDb.url));
      const stores = (mode: Mode) =>
        mode === 'unflushed'
          ? { mine: unflushedStore, theirs: unflushedPeerStore }
          : { mine: store, theirs: peerStore };
      // Warm both, in every mode: connections open, statements planned.
      const warm: Shape = { rounds: 2, groups: parameters.writers, streamsPerCall: 1, eventsPerAppend: 1 };
      for (const mode of MODES) {
        const { mine, theirs } = stores(mode);
        const shape = { ...warm, streamsPerCall: shapes[mode].streamsPerCall };
        await measure(ours(mine, `warm-${mode}`, mode === 'many'), shape, parameters.writers, meter);
        await measure(peer(theirs, `warm-${mode}`), shape, parameters.writers, meter);
      }

      const runs = {} as Record<Mode, { ours: Run[]; peer: Run[]; ratios: number[] }>;
      // Mode after mode (the modes never share the machine); within a mode, pairs of runs whose
      // first store alternates.
      for (const mode of MODES) {
        const { mine, theirs } = stores(mode);
        const shape = shapes[mode];
        runs[mode] = { ours: [], peer: [], ratios: [] };
        for (let r = 0; r < parameters.repetitions; r++) {
          progress.note(`appending: ${mode}`, { repetition: r + 1, oursFirst: r % 2 === 0, ...shape });
          const runOurs = () => measure(ours(mine, `${mode}-${r}`, mode === 'many'), shape, parameters.writers, meter);
          const runPeer = () => measure(peer(theirs, `${mode}-${r}`), shape, parameters.writers, meter);
          let mineRun: Run;
          let theirsRun: Run;
          if (r % 2 === 0) {
            mineRun = await runOurs();
            theirsRun = await runPeer();
          } else {
            theirsRun = await runPeer();
            mineRun = await runOurs();
          }
          runs[mode].ours.push(mineRun);
          runs[mode].peer.push(theirsRun);
          runs[mode].ratios.push(mineRun.eventsPerSecond / Math.max(1, theirsRun.eventsPerSecond));
        }
      }

      const figures: Figure[] = MODES.flatMap((mode) => {
        const { ours: mine, peer: theirs, ratios } = runs[mode];
        const cpu = (run: Run): number | null => (run.postgresUs === null ? null : run.clientUs + run.postgresUs);
        return [
          medianFigure(
            { name: `${mode}_ours_events_per_second`, label: `append, ${LABELS[mode]}: ours`, unit: 'events/s' },
            mine.map((run) => run.eventsPerSecond),
          ),
          medianFigure(
            { name: `${mode}_peer_events_per_second`, label: `append, ${LABELS[mode]}: Emmett`, unit: 'events/s' },
            theirs.map((run) => run.eventsPerSecond),
          ),
          medianFigure(
            {
              name: `${mode}_ratio`,
              label: `append, ${LABELS[mode]}: ours ÷ Emmett (pair by pair)`,
              unit: '×',
              ...(mode === 'single' || mode === 'batch' ? { target: { op: '>=' as const, value: 2 } } : {}),
            },
            ratios,
            2,
          ),
          medianFigure(
            {
              name: `${mode}_ours_cpu_us_per_event`,
              label: `append, ${LABELS[mode]}: ours, CPU per event (client + Postgres)`,
              unit: 'µs',
            },
            known(mine.map(cpu)),
          ),
          medianFigure(
            {
              name: `${mode}_peer_cpu_us_per_event`,
              label: `append, ${LABELS[mode]}: Emmett, CPU per event (client + Postgres)`,
              unit: 'µs',
            },
            known(theirs.map(cpu)),
          ),
        ];
      });
      const describe = (run: Run): string =>
        `${run.eventsPerSecond}/s, p50/p99 ${run.p50}/${run.p99} ms, CPU/event client ${run.clientUs} + Postgres ${run.postgresUs ?? '?'} µs`;
      return {
        parameters,
        figures,
        notes: [
          `Each mode: ${parameters.repetitions} pairs of runs (ours then Emmett, then Emmett then ours, ...), ${parameters.writers} writers on their own streams; ` +
            'ratios are taken within each pair; figures are the medians (range of the runs in parentheses). ' +
            'CPU per event: the benchmark process (process.cpuUsage: building events, the client library, pg) and the Postgres cluster (/proc), over each run.',
          ...MODES.map(
            (mode) =>
              `${mode}: ${runs[mode].ours
                .map((run, r) => `pair ${r + 1}: ours ${describe(run)}; Emmett ${describe(runs[mode].peer[r]!)}`)
                .join(' — ')}.`,
          ),
          'Ours: one statement per append (claim the revision and insert, in a CTE), autocommit, then the commit notification (one NOTIFY statement, coalesced across concurrent appends). ' +
            'Emmett: BEGIN, its append function, COMMIT. many: ours one appendMany statement for the 10 streams (and one notification), Emmett 10 appends at once.',
        ],
      };
    } finally {
      await store.close();
      await unflushedStore.close();
      await peerStore.close();
      await unflushedPeerStore.close();
      await pool.end();
      await unflushedPool.end();
      await oursDb.drop();
      await peerDb.drop();
    }
  },
};
