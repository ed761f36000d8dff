/**
 * 7. Cold account: an account whose stream holds a million events, loaded by a process that has
 * not seen it (after a restart, or once evicted from the account cache): the time to fold its
 * state, in-process and as the first command over HTTP pays it, and the API's memory before and
 * after it holds that account.
 */
import { createKysely, createPool, migrate } from '@ledger/platform';
import { PostgresEventStore } from '@ledger/event-store';
import { loadAccount } from '../../../apps/api/src/commands/account-cache';
import { AccountSnapshots } from '../../../apps/api/src/commands/account-snapshots';
import type { LedgerDatabase } from '@ledger/database';
import { ledgerMigrations } from '@ledger/database';
import type { Scenario } from '../scenario';
import { AccountHistory, appendHistories } from '../support/history';
import { BenchClient } from '../support/http';
import { startService } from '../support/services';
import { now, summarize } from '../support/stats';
import { SERVICE_KEY } from '../support/workload';

const ACCOUNT = 'cold';

export const coldAccountScenario: Scenario = {
  name: 'cold-account',
  title: 'Cold account: loading a stream of a million events',
  async run({ quick, postgres, progress }) {
    const parameters = { events: quick ? 10_000 : 1_000_000, replays: 1, snapshotLoads: 3 };
    const database = await postgres.createDatabase('cold');
    const pool = createPool(database.url, { max: 4 });
    const db = createKysely<LedgerDatabase>(pool);
    const store = new PostgresEventStore(pool);
    try {
      await migrate(db, ledgerMigrations);
      progress.note('making the stream', { events: parameters.events });
      const history = new AccountHistory(ACCOUNT);
      await appendHistories(pool, [history], parameters.events, (n) => progress.tick('appending', { events: n }), {
        chunk: 2000,
        inFlight: 1,
      });
      await pool.query('VACUUM ANALYZE events');

      const replays: number[] = [];
      let runs = 0;
      for (let i = 0; i < parameters.replays; i++) {
        const started = now();
        const account = await loadAccount(store, ACCOUNT);
        const took = now() - started;
        replays.push(took);
        runs = account.state.runs.size;
        progress.note('replayed', { ms: Math.round(took) });
      }

      // With a snapshot: the state as of the stream's end, stored, then loaded back (no tail to fold).
      const snapshots = new AccountSnapshots(db);
      const latest = await loadAccount(store, ACCOUNT);
      if (latest.revision === 'no_stream') throw new Error('the cold stream is empty');
      await snapshots.save(history.streamId, {
        revision: latest.revision,
        state: latest.state,
        answered: latest.answered,
      });
      const snapshotLoads: number[] = [];
      for (let i = 0; i < parameters.snapshotLoads; i++) {
        const started = now();
        const account = await loadAccount(store, ACCOUNT, snapshots);
        snapshotLoads.push(now() - started);
        if (account.snapshotRevision !== latest.revision) throw new Error('the snapshot was not used');
      }
      const { rows: size } = await pool.query<{ n: number }>(
        `SELECT length(body) AS n FROM account_snapshots WHERE stream_id = $1`,
        [history.streamId],
      );

      const api = await startService('api', database.url);
      const client = new BenchClient(api.url!, SERVICE_KEY, 1);
      try {
        const rssBefore = (await api.stats()).rssBytes;
        const command = (runId: string) =>
          client.command(
            `/v1/accounts/${ACCOUNT}/runs`,
            {
              runId,
              projectId: 'proj-research',
              action: 'workflow.run',
              capabilityBand: 'standard',
              estimatedCost: '1',
            },
            runId,
          );
        const first = await command('cold-first');
        const second = await command('cold-second');
        if (first.status !== 200 || second.status !== 200) {
          throw new Error(`cold commands answered ${first.status}/${second.status}: ${JSON.stringify(first.body)}`);
        }
        const rssAfter = (await api.stats()).rssBytes;
        const replay = summarize(replays);
        const fromSnapshot = summarize(snapshotLoads);
        return {
          parameters,
          figures: [
            {
              name: 'replay_ms',
              label: `cold load by full replay (${parameters.events.toLocaleString('en-US')} events), median`,
              value: Math.round(replay.p50),
              unit: 'ms',
            },
            {
              name: 'snapshot_load_ms',
              label: 'cold load from a snapshot, median',
              value: Math.round(fromSnapshot.p50),
              unit: 'ms',
              target: { op: '<', value: 50 },
            },
            {
              name: 'first_command_ms',
              label: 'first command on the cold account over HTTP (from its snapshot)',
              value: Math.round(first.ms),
              unit: 'ms',
            },
            {
              name: 'warm_command_ms',
              label: 'next command on it (cached)',
              value: Number(second.ms.toFixed(2)),
              unit: 'ms',
            },
            {
              name: 'api_rss_before_mib',
              label: 'API RSS before loading it',
              value: Math.round(rssBefore / 2 ** 20),
              unit: 'MiB',
            },
            {
              name: 'api_rss_after_mib',
              label: 'API RSS holding it',
              value: Math.round(rssAfter / 2 ** 20),
              unit: 'MiB',
            },
          ],
          notes: [
            `The stream: one account, ${parameters.events.toLocaleString('en-US')} events, ${runs.toLocaleString('en-US')} runs in its state; replays: ${replays.map((ms) => Math.round(ms)).join(', ')} ms; snapshot loads: ${snapshotLoads.map((ms) => Math.round(ms)).join(', ')} ms; the snapshot is ${((size[0]?.n ?? 0) / 2 ** 20).toFixed(1)} MiB of text.`,
            'A snapshot costs what the state weighs, not what the stream is long: this state keeps every run the account ever accepted (the domain needs finished runs to refuse a second completion and to place settlement holds).',
          ],
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
  },
};
