/**
 * 1. Command throughput: many concurrent clients over keep-alive HTTP against the API in its own
 * process, spread over many accounts, with a realistic mix — accept a run, complete it, place a
 * settlement hold on a completed run, grant credits.
 */
import type { Scenario } from '../scenario';
import { BenchClient } from '../support/http';
import { startService } from '../support/services';
import { perSecond, summarize } from '../support/stats';
import { BENCH_PROJECTS, closedLoop, pick, prepareAccounts, SERVICE_KEY, type Sample } from '../support/workload';

interface OpenRun {
  readonly accountId: string;
  readonly runId: string;
}

export const commandsScenario: Scenario = {
  name: 'commands',
  title: 'Command throughput over HTTP, many accounts, realistic mix',
  async run({ quick, postgres, progress }) {
    const parameters = {
      accounts: quick ? 30 : 1000,
      clients: quick ? 16 : 64,
      durationMs: quick ? 1500 : 20_000,
      warmupMs: quick ? 300 : 3000,
      mix: { AcceptRun: 0.4, CompleteRun: 0.35, PlaceSettlementHold: 0.15, GrantCredits: 0.1 },
    };
    const database = await postgres.createDatabase('commands');
    const api = await startService('api', database.url);
    const client = new BenchClient(api.url!, SERVICE_KEY, parameters.clients);
    try {
      const accounts = Array.from({ length: parameters.accounts }, (_, i) => `acct-${i}`);
      progress.note('preparing accounts', { accounts: accounts.length });
      await prepareAccounts(client, accounts, '1000000', (done) => progress.tick('preparing', { done }));

      // Each client's own runs: the ones it may complete, and the completed ones it may hold.
      const lanes = Array.from({ length: parameters.clients }, () => ({
        open: [] as OpenRun[],
        completed: [] as OpenRun[],
      }));
      let serial = 0;
      const pickAccount = (): string => pick(accounts);
      const accept = async (c: number, lane: (typeof lanes)[number]): Promise<Sample> => {
        const accountId = pickAccount();
        const runId = `run-${c}-${serial++}`;
        const answer = await client.command(
          `/v1/accounts/${accountId}/runs`,
          {
            runId,
            projectId: pick(BENCH_PROJECTS),
            action: 'workflow.run',
            capabilityBand: 'standard',
            estimatedCost: '12.5',
          },
          `accept:${runId}`,
        );
        if (answer.status === 200) lane.open.push({ accountId, runId });
        return { kind: 'AcceptRun', status: answer.status, ms: answer.ms };
      };
      const step = async (c: number): Promise<Sample> => {
        const lane = lanes[c];
        if (!lane) throw new Error(`no client ${c}`);
        const roll = Math.random();
        if (roll < 0.4 || lane.open.length === 0) return accept(c, lane);
        const run = roll < 0.75 ? lane.open.shift() : roll < 0.9 ? lane.completed.shift() : undefined;
        if (roll < 0.75 && run) {
          const answer = await client.command(
            `/v1/accounts/${run.accountId}/runs/${run.runId}/complete`,
            { actualCost: '10.25' },
            `complete:${run.runId}`,
          );
          if (answer.status === 200) lane.completed.push(run);
          return { kind: 'CompleteRun', status: answer.status, ms: answer.ms };
        }
        if (roll < 0.9 && run) {
          const answer = await client.command(
            `/v1/accounts/${run.accountId}/settlement-holds`,
            { holdId: `hold-${run.runId}`, runId: run.runId, provider: 'model-provider-a', amount: '2.5' },
            `hold:${run.runId}`,
          );
          return { kind: 'PlaceSettlementHold', status: answer.status, ms: answer.ms };
        }
        const accountId = pickAccount();
        const grantId = `grant-${c}-${serial++}`;
        const answer = await client.command(
          `/v1/accounts/${accountId}/grants`,
          { grantId, source: 'top_up', amount: '50' },
          `grant:${grantId}`,
        );
        return { kind: 'GrantCredits', status: answer.status, ms: answer.ms };
      };

      progress.note('measuring', { clients: parameters.clients, seconds: parameters.durationMs / 1000 });
      const { samples, measuredMs } = await closedLoop(
        {
          clients: parameters.clients,
          durationMs: parameters.durationMs,
          warmupMs: parameters.warmupMs,
          onTick: (sent) => progress.tick('sending', { sent }),
        },
        step,
      );
      const ok = samples.filter((sample) => sample.status === 200);
      const latency = summarize(ok.map((sample) => sample.ms));
      const byKind = Object.fromEntries(
        Object.keys(parameters.mix).map((kind) => {
          const mine = ok.filter((sample) => sample.kind === kind);
          return [kind, summarize(mine.map((sample) => sample.ms))];
        }),
      );
      const failures = samples.length - ok.length;
      const stats = await api.stats();
      return {
        parameters,
        figures: [
          {
            name: 'commands_per_second',
            label: 'commands/s (all accounts)',
            value: perSecond(ok.length, measuredMs),
            unit: 'cmd/s',
            target: { op: '>=', value: 5000 },
          },
          { name: 'latency_p50_ms', label: 'command latency p50', value: latency.p50, unit: 'ms' },
          { name: 'latency_p99_ms', label: 'command latency p99', value: latency.p99, unit: 'ms' },
          { name: 'failed_commands', label: 'commands not answered 200', value: failures, unit: '' },
        ],
        notes: [
          `Per command type (count, p50/p99 ms): ${Object.entries(byKind)
            .map(([kind, s]) => `${kind} ${s.count} (${s.p50}/${s.p99})`)
            .join('; ')}.`,
          `The API ran in its own process; the clients in the benchmark's process, on the same machine as Postgres. ` +
            `Appends: ${stats.appends} for ${stats.commands} commands decided; API RSS ${Math.round(stats.rssBytes / 2 ** 20)} MiB.`,
        ],
      };
    } finally {
      client.close();
      await api.stop();
      await database.drop();
    }
  },
};
