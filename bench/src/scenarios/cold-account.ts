/**
 * 7. Cold account: an account with a long history, loaded by a process that has not seen it (after
 * a restart, or once evicted from the account cache), side by side with one of a short history:
 * 10,000 and 1,000,000 events (a busy account over years: one command every five minutes). For
 * each: the snapshot's size, loading it in-process, the first command over HTTP on a freshly
 * started API (which pays the load), warm commands after it, and the API's memory before and after
 * it holds the account. The decision state is compacted (libs/ledger/src/compact.ts), so all of
 * these should follow what is still open — not how long the history is.
 */
import { createKysely, createPool, migrate } from '@ledger/platform';
import { PostgresEventStore } from '@ledger/event-store';
import { loadAccount } from '../../../apps/api/src/commands/account-cache';
import { AccountSnapshots } from '../../../apps/api/src/commands/account-snapshots';
import type { LedgerDatabase } from '@ledger/database';
import { ledgerMigrations } from '@ledger/database';
import { medianFigure, type Figure, type Scenario } from '../scenario';
import { AccountHistory, appendHistories } from '../support/history';
import { BenchClient } from '../support/http';
import type { BenchPostgres } from '../support/postgres';
import type { Progress } from '../support/progress';
import { startService } from '../support/services';
import { now, spreadOf } from '../support/stats';
import { prepareAccounts, SERVICE_KEY } from '../support/workload';

interface SizeResult {
  readonly events: number;
  readonly snapshotBytes: number;
  readonly snapshotLoadsMs: number[];
  readonly firstCommandMs: number;
  readonly warmCommandsMs: number[];
  readonly rssDeltaBytes: number;
  readonly openRuns: number;
  readonly keptRuns: number;
  readonly archived: number;
}

const WARM_COMMANDS = 9;
const MINUTES_PER_COMMAND = 5;
/** The histories average ~2.4 events per command: counting fewer places the start early enough. */
const EVENTS_PER_COMMAND_AT_MOST = 2.2;
const DAY_MS = 24 * 3600_000;

async function measure(postgres: BenchPostgres, events: number, progress: Progress): Promise<SizeResult> {
  const database = await postgres.createDatabase(`cold_${events}`);
  const pool = createPool(database.url, { max: 4 });
  const db = createKysely<LedgerDatabase>(pool);
  const store = new PostgresEventStore(pool);
  const account = `cold-${events}`;
  try {
    await migrate(db, ledgerMigrations);
    progress.note('making the stream', { events });
    // The history ends before today, as a real one does: the API decides at its own clock, and runs
    // completed "in the future" would all still be inside their settlement window.
    const startsAt = Date.now() - (events / EVENTS_PER_COMMAND_AT_MOST) * MINUTES_PER_COMMAND * 60_000 - DAY_MS;
    const history = new AccountHistory(account, { minutesPerCommand: MINUTES_PER_COMMAND, startsAt });
    await appendHistories(pool, [history], events, (n) => progress.tick('appending', { events: n }), {
      chunk: 2000,
      inFlight: 1,
    });
    await pool.query('VACUUM ANALYZE events');

    // The snapshot as the API would take it: the compacted state at the stream's end.
    const snapshots = new AccountSnapshots(db);
    const latest = await loadAccount(store, account);
    if (latest.revision === 'no_stream') throw new Error('the cold stream is empty');
    await snapshots.save(history.streamId, {
      revision: latest.revision,
      state: latest.state,
      answered: latest.answered,
    });
    const snapshotLoadsMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = now();
      const loaded = await loadAccount(store, account, snapshots);
      snapshotLoadsMs.push(now() - started);
      if (loaded.snapshotRevision !== latest.revision) throw new Error('the snapshot was not used');
    }
    const { rows: size } = await pool.query<{ n: number }>(
      `SELECT octet_length(body) AS n FROM account_snapshots WHERE stream_id = $1`,
      [history.streamId],
    );

    const api = await startService('api', database.url);
    const client = new BenchClient(api.url!, SERVICE_KEY, 1);
    try {
      const command = async (runId: string, on = account) => {
        const answer = await client.command(
          `/v1/accounts/${on}/runs`,
          {
            runId,
            projectId: on === account ? 'proj-research' : 'proj-a',
            action: 'workflow.run',
            capabilityBand: 'standard',
            estimatedCost: '1',
          },
          runId,
        );
        if (answer.status !== 200)
          throw new Error(`${runId} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        return answer.ms;
      };
      // A warm process, a cold account: the command path has run before the account is first named.
      await prepareAccounts(client, ['warm-up'], '1000');
      for (let i = 0; i < 30; i++) await command(`warm-up-${i}`, 'warm-up');
      const rssBefore = (await api.stats()).rssBytes;
      const firstCommandMs = await command('cold-first');
      const warmCommandsMs: number[] = [];
      for (let i = 0; i < WARM_COMMANDS; i++) warmCommandsMs.push(await command(`warm-${i}`));
      const rssAfter = (await api.stats()).rssBytes;
      const runs = [...latest.state.runs.values()];
      return {
        events,
        snapshotBytes: Number(size[0]?.n ?? 0),
        snapshotLoadsMs,
        firstCommandMs,
        warmCommandsMs,
        rssDeltaBytes: rssAfter - rssBefore,
        openRuns: runs.filter((run) => run.status === 'accepted').length,
        keptRuns: runs.length,
        archived: latest.state.archived.sorted.length + latest.state.archived.recent.length,
      };
    } finally {
      client.close();
      await api.stop();
    }
  } finally {
    await store.close();
    await db.destroy();
    await database.drop();
  }
}

export const coldAccountScenario: Scenario = {
  name: 'cold-account',
  title: 'Cold account: a long history against a short one',
  async run({ quick, postgres, progress }) {
    const parameters = { short: quick ? 2_000 : 10_000, long: quick ? 20_000 : 1_000_000, minutesPerCommand: 5 };
    const short = await measure(postgres, parameters.short, progress);
    const long = await measure(postgres, parameters.long, progress);
    const median = (values: readonly number[]) => spreadOf(values).median;
    const label = (result: SizeResult) => `${result.events.toLocaleString('en-US')} events`;
    const figures: Figure[] = [];
    for (const [tag, result] of [
      ['short', short],
      ['long', long],
    ] as const) {
      figures.push(
        medianFigure(
          { name: `snapshot_load_ms_${tag}`, label: `cold load from its snapshot (${label(result)})`, unit: 'ms' },
          result.snapshotLoadsMs,
          1,
        ),
        {
          name: `first_command_ms_${tag}`,
          label: `first command on the cold account over HTTP (${label(result)})`,
          value: Number(result.firstCommandMs.toFixed(1)),
          unit: 'ms',
        },
        medianFigure(
          { name: `warm_command_ms_${tag}`, label: `warm command on it (${label(result)})`, unit: 'ms' },
          result.warmCommandsMs,
          2,
        ),
        {
          name: `snapshot_kib_${tag}`,
          label: `snapshot size (${label(result)})`,
          value: Math.round(result.snapshotBytes / 1024),
          unit: 'KiB',
        },
        {
          name: `api_memory_mib_${tag}`,
          label: `API memory holding it (${label(result)}; RSS after − before)`,
          value: Number((result.rssDeltaBytes / 2 ** 20).toFixed(1)),
          unit: 'MiB',
          ...(tag === 'long' ? { target: { op: '<=' as const, value: 50 } } : {}),
        },
      );
    }
    figures.push(
      {
        name: 'first_vs_warm_long',
        label: `first command ÷ warm command (${label(long)})`,
        value: Number((long.firstCommandMs / median(long.warmCommandsMs)).toFixed(1)),
        unit: '×',
        target: { op: '<=', value: 5 },
      },
      {
        name: 'cold_load_long_vs_short',
        label: `cold load, ${label(long)} ÷ ${label(short)}`,
        value: Number((median(long.snapshotLoadsMs) / median(short.snapshotLoadsMs)).toFixed(2)),
        unit: '×',
        target: { op: '<=', value: 2 },
      },
    );
    return {
      parameters,
      figures,
      notes: [
        `What the compacted state holds (short / long): ${short.keptRuns} / ${long.keptRuns} runs (${short.openRuns} / ${long.openRuns} open, the rest completed inside their settlement window), ${short.archived.toLocaleString('en-US')} / ${long.archived.toLocaleString('en-US')} archived ids (in Postgres, beside the snapshot: not in it).`,
        `Snapshot loads (ms): short ${short.snapshotLoadsMs.map((ms) => ms.toFixed(1)).join(', ')}; long ${long.snapshotLoadsMs.map((ms) => ms.toFixed(1)).join(', ')}. Warm commands (ms), long: ${long.warmCommandsMs.map((ms) => ms.toFixed(1)).join(', ')}.`,
        'Each size runs on its own database with a freshly started API, whose memory is read before and after the first command.',
      ],
    };
  },
};
