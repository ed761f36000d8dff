/**
 * 2. Hot account: every client accepts runs on one account. Then the overdraft check: an account
 * granted exactly N credits is hit by more AcceptRuns of 1 credit than it can pay for, through two
 * API processes at once (so their appends really conflict and are retried); exactly N must be
 * accepted and the stream, replayed, must never show available credits below zero.
 */
import { bucketsOf, evolve, initialState, parseCredits } from '@ledger/domain';
import { accountStreamId, PostgresEventStore, toLedgerEvent } from '@ledger/event-store';
import { createPool } from '@ledger/platform';
import type { Scenario } from '../scenario';
import { BenchClient } from '../support/http';
import { startService, type Service } from '../support/services';
import { perSecond, summarize } from '../support/stats';
import { closedLoop, forEachConcurrently, prepareAccounts, SERVICE_KEY } from '../support/workload';

const acceptBody = (runId: string, estimatedCost: string) => ({
  runId,
  projectId: 'proj-a',
  action: 'workflow.run',
  capabilityBand: 'standard',
  estimatedCost,
});

export const hotAccountScenario: Scenario = {
  name: 'hot-account',
  title: 'One hot account: AcceptRun throughput, conflicts, no overdraft',
  async run({ quick, postgres, progress }) {
    const parameters = {
      clients: quick ? 16 : 64,
      durationMs: quick ? 1500 : 15_000,
      warmupMs: quick ? 300 : 2000,
      estimatedCost: '1',
      overdraftCheck: { apiProcesses: 2, grantedCredits: quick ? 100 : 1500, attemptsPerCredit: 2 },
    };
    const database = await postgres.createDatabase('hot');
    const first = await startService('api', database.url);
    const apis: Service[] = [first];
    const client = new BenchClient(first.url!, SERVICE_KEY, parameters.clients);
    const opened: BenchClient[] = [client];
    const pool = createPool(database.url, { max: 2 });
    try {
      await prepareAccounts(client, ['hot'], '100000000');
      let serial = 0;
      progress.note('measuring', { clients: parameters.clients });
      const { samples, measuredMs } = await closedLoop(
        {
          clients: parameters.clients,
          durationMs: parameters.durationMs,
          warmupMs: parameters.warmupMs,
          onTick: (sent) => progress.tick('sending', { sent }),
        },
        async () => {
          const runId = `run-${serial++}`;
          const answer = await client.command(
            '/v1/accounts/hot/runs',
            acceptBody(runId, parameters.estimatedCost),
            runId,
          );
          return { kind: 'AcceptRun', status: answer.status, ms: answer.ms };
        },
      );
      const accepted = samples.filter((sample) => sample.status === 200);
      const latency = summarize(accepted.map((sample) => sample.ms));
      const singleStats = await first.stats();

      // The overdraft check, across two API processes.
      progress.note('overdraft check', parameters.overdraftCheck);
      const second = await startService('api', database.url);
      apis.push(second);
      const clients = [client, new BenchClient(second.url!, SERVICE_KEY, parameters.clients)] as const;
      opened.push(clients[1]);
      await prepareAccounts(client, ['scarce'], String(parameters.overdraftCheck.grantedCredits));
      // What it may spend: the grant plus the plan's included credits.
      const one = parseCredits('1');
      if (!one.ok) throw new Error('1 credit does not parse');
      const store = new PostgresEventStore(pool);
      const replay = async () => {
        const state = initialState();
        let lowest: bigint | null = null;
        for await (const recorded of store.readStream(accountStreamId('scarce'))) {
          evolve(state, toLedgerEvent(recorded));
          const { available } = bucketsOf(state);
          if (lowest === null || available < lowest) lowest = available;
        }
        return { buckets: bucketsOf(state), lowest };
      };
      const granted = Number((await replay()).buckets.available / one.value);
      const conflictsBefore = (await Promise.all(apis.map((api) => api.stats()))).reduce((n, s) => n + s.conflicts, 0);
      const attempts = Array.from({ length: granted * parameters.overdraftCheck.attemptsPerCredit }, (_, i) => i);
      const statuses = new Map<number, number>();
      let gaveUp = 0;
      await forEachConcurrently(attempts, parameters.clients, async (i) => {
        // A caller retries a command the ledger gave up on after too many conflicts, as it is told to.
        let answer = await clients[i % 2 === 0 ? 0 : 1].command(
          '/v1/accounts/scarce/runs',
          acceptBody(`scarce-${i}`, '1'),
          `scarce-${i}`,
        );
        for (let retry = 0; retry < 10 && answer.body?.code === 'concurrency_exhausted'; retry++) {
          gaveUp++;
          answer = await clients[i % 2 === 0 ? 0 : 1].command(
            '/v1/accounts/scarce/runs',
            acceptBody(`scarce-${i}`, '1'),
            `scarce-${i}`,
          );
        }
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      });
      const conflicts =
        (await Promise.all(apis.map((api) => api.stats()))).reduce((n, s) => n + s.conflicts, 0) - conflictsBefore;
      // Replay the scarce account's stream: available must never go below zero, at any event.
      const { buckets: final, lowest } = await replay();
      const acceptedScarce = statuses.get(200) ?? 0;
      // Credits spent beyond the grant (in whole credits): must be 0.
      const overspent = Math.max(0, acceptedScarce - granted);
      const neverNegative = lowest !== null && lowest >= 0n;
      const exact = final.reserved === BigInt(acceptedScarce) * one.value && acceptedScarce === granted;
      if (!neverNegative || !exact) {
        throw new Error(
          `overdraft check failed: accepted ${acceptedScarce} of ${granted}, lowest available ${String(lowest)}, reserved ${final.reserved}`,
        );
      }
      return {
        parameters,
        figures: [
          {
            name: 'accept_runs_per_second',
            label: 'AcceptRun/s on one account',
            value: perSecond(accepted.length, measuredMs),
            unit: 'cmd/s',
            target: { op: '>=', value: 1000 },
          },
          { name: 'latency_p50_ms', label: 'AcceptRun latency p50 (hot)', value: latency.p50, unit: 'ms' },
          { name: 'latency_p99_ms', label: 'AcceptRun latency p99 (hot)', value: latency.p99, unit: 'ms' },
          {
            name: 'appends_per_command',
            label: 'appends per accepted run (group commit)',
            value: Number((singleStats.appends / Math.max(1, singleStats.commands)).toFixed(3)),
            unit: '',
          },
          {
            name: 'conflicts_retried',
            label: 'conflicts retried (2 API processes, overdraft check)',
            value: conflicts,
            unit: '',
          },
          {
            name: 'overspent_credits',
            label: 'credits overspent',
            value: overspent,
            unit: 'credits',
            target: { op: '<=', value: 0 },
          },
        ],
        notes: [
          `Throughput: one API process (its mailbox serialises the account, so it never conflicts with itself); ${samples.length - accepted.length} requests not answered 200.`,
          `Overdraft check: ${attempts.length} AcceptRuns of 1 credit against ${granted} available credits (the grant and the plan's included credits) through two API processes: ` +
            `${acceptedScarce} accepted, ${statuses.get(402) ?? 0} refused with 402, other statuses ${JSON.stringify(Object.fromEntries([...statuses].filter(([s]) => s !== 200 && s !== 402)))}; ` +
            `${gaveUp} times the ledger answered concurrency_exhausted and the client sent the command again; replaying the stream, available never went below ${String(lowest === null ? 0n : lowest / one.value)} credits.`,
        ],
      };
    } finally {
      for (const each of opened) each.close();
      await Promise.all(apis.map((api) => api.stop()));
      await pool.end();
      await database.drop();
    }
  },
};
