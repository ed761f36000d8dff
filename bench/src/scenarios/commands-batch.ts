/**
 * 1b. Command throughput through the batch endpoint: the `commands` scenario's mix over the same
 * number of accounts, 100 commands per `POST /v1/commands/batch`, against the same mix sent one
 * command per request through the single routes — in the same run, on the same API and accounts,
 * in short windows interleaved and repeated (single, batch; batch, single; ...). Every figure is the
 * median of its windows with their range; every window reads the CPU time it cost (API, Postgres,
 * load generator) per command answered.
 *
 * An API without the endpoint answers 404: a `--quick` run then says so and measures only the
 * single routes (so the smoke test passes on a branch that has not got it); a full run fails.
 */
import { medianFigure, type Scenario } from '../scenario';
import { batchStep, CommandMix, MIX, singleStep } from '../support/command-mix';
import { CpuMeter, findPostmasterPid } from '../support/cpu';
import { BATCH_PATH, BenchClient } from '../support/http';
import { startService } from '../support/services';
import { perSecond, summarize } from '../support/stats';
import { costOf, interleave, known, type WindowCost } from '../support/windows';
import {
  answeredCommands,
  closedLoop,
  okCommands,
  prepareAccounts,
  SERVICE_KEY,
  type Sample,
} from '../support/workload';

interface Window {
  readonly kind: 'single' | 'batch';
  readonly round: number;
  readonly rate: number;
  readonly cost: WindowCost;
  readonly samples: Sample[];
}

export const commandsBatchScenario: Scenario = {
  name: 'commands-batch',
  title: 'Command throughput through the batch endpoint (100 per request) against single requests',
  async run({ quick, postgres, progress }) {
    const parameters = {
      accounts: quick ? 30 : 1000,
      batchSize: 100,
      batchClients: quick ? 4 : 8,
      singleClients: quick ? 16 : 64,
      rounds: quick ? 2 : 3,
      windowMs: quick ? 800 : 6000,
      warmupMs: quick ? 200 : 1000,
      firstWarmupMs: quick ? 300 : 3000,
      mix: MIX,
    };
    const database = await postgres.createDatabase('commands_batch');
    const api = await startService('api', database.url);
    const connections = Math.max(parameters.batchClients, parameters.singleClients);
    const client = new BenchClient(api.url!, SERVICE_KEY, connections);
    try {
      const postmaster = await findPostmasterPid(database.url);
      const meter = new CpuMeter({ api: api.pid }, postmaster);
      const accounts = Array.from({ length: parameters.accounts }, (_, i) => `acct-${i}`);
      progress.note('preparing accounts', { accounts: accounts.length });
      await prepareAccounts(client, accounts, '1000000', (done) => progress.tick('preparing', { done }));

      const available = await client.hasBatchEndpoint();
      if (!available) {
        const message = `POST ${BATCH_PATH} answered 404: this API has no batch endpoint`;
        if (!quick) throw new Error(message);
        progress.note(`${message}; --quick: measuring the single routes only, the batch figures are left out`);
      }

      const singleMix = new CommandMix(accounts, parameters.singleClients, 's');
      const batchMix = new CommandMix(accounts, parameters.batchClients, 'b');
      let sent = 0;
      const kinds = available ? (['single', 'batch'] as const) : (['single'] as const);
      const windows = await interleave<'single' | 'batch', Window>(kinds, parameters.rounds, async (kind, round) => {
        const clients = kind === 'batch' ? parameters.batchClients : parameters.singleClients;
        progress.note(`measuring: ${kind}`, { round: round + 1, clients, ms: parameters.windowMs });
        const { samples, measuredMs, cpu } = await closedLoop(
          {
            clients,
            durationMs: parameters.windowMs,
            warmupMs: round === 0 ? parameters.firstWarmupMs : parameters.warmupMs,
            meter,
            onTick: () => progress.tick(`sending (${kind}, round ${round + 1})`, { requests: ++sent }),
          },
          kind === 'batch' ? batchStep(client, batchMix, parameters.batchSize) : singleStep(client, singleMix),
        );
        const cost = costOf(cpu, answeredCommands(samples), ['api'], true);
        return { kind, round, rate: perSecond(okCommands(samples), measuredMs), cost, samples };
      });

      const single = windows.single;
      const batch = windows.batch ?? [];
      const ratios = batch.map((window, i) => window.rate / Math.max(1, single[i]?.rate ?? 0));
      const batchSamples = batch.flatMap((window) => window.samples);
      const requestLatency = summarize(
        batchSamples.filter((sample) => sample.status === 200).map((sample) => sample.ms),
      );
      const singleSamples = single.flatMap((window) => window.samples);
      const singleLatency = summarize(
        singleSamples.filter((sample) => sample.status === 200).map((sample) => sample.ms),
      );
      const notAnswered200 = (samples: readonly Sample[]): number => answeredCommands(samples) - okCommands(samples);
      const stats = await api.stats();
      const describe = (window: Window): string =>
        `${window.kind} ${window.rate}/s, API ${window.cost.processesUs.api ?? '?'} + Postgres ${window.cost.postgresUs ?? '?'} µs, load generator ${window.cost.loadGeneratorUs} µs per command`;
      const batchFigures = available
        ? [
            medianFigure(
              {
                name: 'commands_per_second',
                label: `commands/s through the batch endpoint (${parameters.batchSize} per request)`,
                unit: 'cmd/s',
                target: { op: '>=', value: 5000 },
              },
              batch.map((window) => window.rate),
            ),
            medianFigure(
              {
                name: 'batched_vs_single',
                label: 'batched commands/s ÷ single-request commands/s (window by window)',
                unit: '×',
                target: { op: '>=', value: 2 },
              },
              ratios,
              2,
            ),
            medianFigure(
              {
                name: 'server_cpu_us_per_command',
                label: 'server CPU per batched command (API + Postgres)',
                unit: 'µs',
                target: { op: '<=', value: 250 },
              },
              known(batch.map((window) => window.cost.serverUs)),
            ),
            medianFigure(
              { name: 'api_cpu_us_per_command', label: 'API process CPU per batched command', unit: 'µs' },
              known(batch.map((window) => window.cost.processesUs.api ?? null)),
            ),
            medianFigure(
              { name: 'postgres_cpu_us_per_command', label: 'Postgres CPU per batched command', unit: 'µs' },
              known(batch.map((window) => window.cost.postgresUs)),
            ),
            medianFigure(
              {
                name: 'load_generator_cpu_us_per_command',
                label: 'load generator CPU per batched command',
                unit: 'µs',
              },
              batch.map((window) => window.cost.loadGeneratorUs),
            ),
            {
              name: 'batch_latency_p50_ms',
              label: `batch request latency p50 (${parameters.batchSize} commands)`,
              value: requestLatency.p50,
              unit: 'ms',
            },
            {
              name: 'batch_latency_p99_ms',
              label: `batch request latency p99 (${parameters.batchSize} commands)`,
              value: requestLatency.p99,
              unit: 'ms',
            },
            {
              name: 'failed_commands',
              label: 'batched commands not answered 200',
              value: notAnswered200(batchSamples),
              unit: '',
            },
          ]
        : [];
      return {
        parameters,
        figures: [
          ...batchFigures,
          medianFigure(
            { name: 'single_commands_per_second', label: 'commands/s, one per request (same run)', unit: 'cmd/s' },
            single.map((window) => window.rate),
          ),
          medianFigure(
            {
              name: 'single_server_cpu_us_per_command',
              label: 'server CPU per single-request command (API + Postgres)',
              unit: 'µs',
            },
            known(single.map((window) => window.cost.serverUs)),
          ),
          medianFigure(
            {
              name: 'single_load_generator_cpu_us_per_command',
              label: 'load generator CPU per single-request command',
              unit: 'µs',
            },
            single.map((window) => window.cost.loadGeneratorUs),
          ),
          {
            name: 'single_latency_p99_ms',
            label: 'single-request command latency p99',
            value: singleLatency.p99,
            unit: 'ms',
          },
          {
            name: 'single_failed_commands',
            label: 'single-request commands not answered 200',
            value: notAnswered200(singleSamples),
            unit: '',
          },
        ],
        notes: [
          available
            ? `${parameters.rounds} rounds of a ${parameters.windowMs / 1000} s window each of single requests (${parameters.singleClients} clients) and of batches ` +
              `(${parameters.batchClients} clients, ${parameters.batchSize} commands each), the order flipped every round, on one API process and the same accounts; ` +
              "the mix is the commands scenario's (a client completes or holds only runs answered in an earlier request). Figures are medians (range in parentheses); " +
              'CPU per command is over each window (API process, Postgres cluster, load generator) divided by the commands answered in it.'
            : `POST ${BATCH_PATH} answered 404 (no batch endpoint on this API): only the single routes were measured.`,
          `Windows: ${interleavedRounds(single, batch, describe)}.` +
            (postmaster === null ? ' The Postgres processes were not visible here: no Postgres or server figure.' : ''),
          `API counters: ${stats.commands} commands decided, ${stats.appends} statements storing them; API RSS ${Math.round(stats.rssBytes / 2 ** 20)} MiB.`,
        ],
      };
    } finally {
      client.close();
      await api.stop();
      await database.drop();
    }
  },
};

function interleavedRounds(
  single: readonly Window[],
  batch: readonly Window[],
  describe: (window: Window) => string,
): string {
  return single
    .map((window, i) => {
      const other = batch[i];
      return `round ${window.round + 1}: ${describe(window)}${other ? `; ${describe(other)}` : ''}`;
    })
    .join(' — ');
}
