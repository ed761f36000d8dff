/**
 * 5. End-to-end lag: commands sent at a steady rate (open loop: on a schedule, not when the last is
 * answered) to the API, the projector running in its own process; for each accepted command, the
 * time from its receipt to the moment every projection's checkpoint has passed its position —
 * when the overview (and every other read model) shows it, the same rule `?atLeastPosition` uses.
 * Also the resident memory of the API and the projector under that load.
 */
import { comparePositions, parsePosition, type GlobalPosition } from '@ledger/event-store';
import pg from 'pg';
import type { Scenario } from '../scenario';
import { BenchClient } from '../support/http';
import { startService } from '../support/services';
import { now, perSecond, summarize } from '../support/stats';
import { BENCH_PROJECTS, pick, prepareAccounts, SERVICE_KEY } from '../support/workload';

const POLL_MS = 2;
/** Beyond this many unanswered commands the API is not keeping up: further sends are skipped, and counted. */
const MAX_IN_FLIGHT = 1000;

interface Pending {
  readonly position: GlobalPosition;
  readonly acceptedAt: number;
}

export const lagScenario: Scenario = {
  name: 'lag',
  title: 'End-to-end lag: command accepted → visible in the read models, at a steady rate',
  async run({ quick, postgres, progress }) {
    const parameters = {
      commandsPerSecond: quick ? 200 : 1000,
      durationMs: quick ? 1500 : 15_000,
      warmupMs: quick ? 300 : 2000,
      accounts: quick ? 20 : 200,
      mix: { AcceptRun: 0.6, CompleteRun: 0.4 },
      checkpointPollMs: POLL_MS,
      maxInFlight: MAX_IN_FLIGHT,
    };
    const database = await postgres.createDatabase('lag');
    const api = await startService('api', database.url);
    const projector = await startService('projector', database.url);
    const client = new BenchClient(api.url!, SERVICE_KEY, 256);
    const watcher = new pg.Client({ connectionString: database.url });
    await watcher.connect();
    try {
      const accounts = Array.from({ length: parameters.accounts }, (_, i) => `acct-${i}`);
      await prepareAccounts(client, accounts, '1000000');

      const pending: Pending[] = [];
      const lags: number[] = [];
      const latencies: number[] = [];
      let failures = 0;
      let watching = true;
      const watch = (async () => {
        while (watching || pending.length > 0) {
          const { rows } = await watcher.query<{ c: string; p: string }>(
            'SELECT position_commit::text AS c, position_prepare::text AS p FROM projection_checkpoints',
          );
          const seenAt = now();
          if (rows.length > 0) {
            const low = rows
              .map((row) => ({ commit: BigInt(row.c), prepare: BigInt(row.p) }))
              .reduce((a, b) => (comparePositions(a, b) <= 0 ? a : b));
            for (let i = pending.length - 1; i >= 0; i--) {
              const entry = pending[i]!; // i counts down inside the array
              if (comparePositions(entry.position, low) <= 0) {
                lags.push(seenAt - entry.acceptedAt);
                pending.splice(i, 1);
              }
            }
          }
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      })();

      const accepted: Array<{ accountId: string; runId: string }> = [];
      let serial = 0;
      const send = async (measured: boolean): Promise<void> => {
        let answer;
        if (Math.random() < 0.4 && accepted.length > 0) {
          const run = accepted.shift()!;
          answer = await client.command(
            `/v1/accounts/${run.accountId}/runs/${run.runId}/complete`,
            { actualCost: '3' },
            `c:${run.runId}`,
          );
        } else {
          const accountId = pick(accounts);
          const runId = `run-${serial++}`;
          answer = await client.command(
            `/v1/accounts/${accountId}/runs`,
            {
              runId,
              projectId: BENCH_PROJECTS[serial % 3],
              action: 'workflow.run',
              capabilityBand: 'standard',
              estimatedCost: '5',
            },
            `a:${runId}`,
          );
          if (answer.status === 200) accepted.push({ accountId, runId });
        }
        if (!measured) return;
        if (answer.status !== 200) {
          failures++;
          return;
        }
        latencies.push(answer.ms);
        pending.push({ position: parsePosition(answer.body.position)!, acceptedAt: now() });
      };

      progress.note('steady load', {
        commandsPerSecond: parameters.commandsPerSecond,
        seconds: parameters.durationMs / 1000,
      });
      const started = now();
      const total = ((parameters.warmupMs + parameters.durationMs) * parameters.commandsPerSecond) / 1000;
      const inFlight = new Set<Promise<void>>();
      let sent = 0;
      let measuredSent = 0;
      let skipped = 0;
      while (sent < total) {
        const due = Math.min(total, Math.floor(((now() - started) * parameters.commandsPerSecond) / 1000));
        while (sent < due) {
          const measured = now() - started >= parameters.warmupMs;
          if (inFlight.size >= MAX_IN_FLIGHT) {
            sent++;
            if (measured) skipped++;
            continue;
          }
          if (measured) measuredSent++;
          const request = send(measured).catch(() => void failures++);
          inFlight.add(request);
          void request.finally(() => inFlight.delete(request));
          sent++;
        }
        progress.tick('sending', { sent, pending: pending.length });
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const sendingMs = now() - started - parameters.warmupMs;
      await Promise.all(inFlight);
      watching = false;
      await watch;
      const [apiStats, projectorStats] = await Promise.all([api.stats(), projector.stats()]);
      const lag = summarize(lags);
      const latency = summarize(latencies);
      return {
        parameters,
        figures: [
          { name: 'lag_p50_ms', label: 'lag to read models p50', value: lag.p50, unit: 'ms' },
          {
            name: 'lag_p99_ms',
            label: 'lag to read models p99',
            value: lag.p99,
            unit: 'ms',
            target: { op: '<', value: 100 },
          },
          {
            name: 'achieved_commands_per_second',
            label: 'commands/s sent during the lag run',
            value: perSecond(measuredSent, sendingMs),
            unit: 'cmd/s',
          },
          {
            name: 'skipped_commands',
            label: `commands not sent: ${MAX_IN_FLIGHT} already unanswered`,
            value: skipped,
            unit: '',
          },
          {
            name: 'command_latency_p99_ms',
            label: 'command latency p99 during the lag run',
            value: latency.p99,
            unit: 'ms',
          },
          {
            name: 'api_rss_mib',
            label: 'API RSS under load',
            value: Math.round(apiStats.rssBytes / 2 ** 20),
            unit: 'MiB',
          },
          {
            name: 'projector_rss_mib',
            label: 'projector RSS under load',
            value: Math.round(projectorStats.rssBytes / 2 ** 20),
            unit: 'MiB',
          },
        ],
        notes: [
          `Lag is measured from the receipt reaching the client to the first poll (every ${POLL_MS} ms) that finds every projection's checkpoint at or past the receipt's position; ${lags.length} commands measured, ${failures} not answered 200.`,
          'The projector runs with its defaults: a batch commits as soon as the projection is free, with the events queued by then (at most 500).',
        ],
      };
    } finally {
      await watcher.end();
      client.close();
      await projector.stop();
      await api.stop();
      await database.drop();
    }
  },
};
