/**
 * 1. Command throughput: many concurrent clients over keep-alive HTTP against the API in its own
 * process, spread over many accounts, with a realistic mix — accept a run, complete it, place a
 * settlement hold on a completed run, grant credits.
 *
 * Measured against the machine's own ceiling, in the same run: a plain node:http server in a
 * process of its own (ceiling-server.ts), answering a JSON POST of the same size, driven by the same
 * load generator with as many connections. Short windows of each alternate (ceiling, commands;
 * commands, ceiling; ...), so both see the same machine; every figure is the median of its windows
 * with their range. Each window also reads the CPU time it cost from /proc: the API's, the Postgres
 * cluster's and the load generator's own, per command answered — on a shared machine the rate moves
 * with whatever else runs, the CPU time per command much less.
 */
import { medianFigure, type Scenario } from '../scenario';
import { CommandMix, MIX, singleStep } from '../support/command-mix';
import { CpuMeter, findPostmasterPid } from '../support/cpu';
import { BenchClient } from '../support/http';
import { startCeilingServer, startService } from '../support/services';
import { perSecond, summarize } from '../support/stats';
import { costOf, interleave, known, type WindowCost } from '../support/windows';
import { closedLoop, okCommands, prepareAccounts, SERVICE_KEY, type Sample } from '../support/workload';

interface Window {
  readonly kind: 'ceiling' | 'commands';
  readonly round: number;
  readonly rate: number;
  readonly cost: WindowCost;
  readonly samples: Sample[];
}

const pct = (share: number | null): string => (share === null ? '?' : `${Math.round(share * 100)}%`);

export const commandsScenario: Scenario = {
  name: 'commands',
  title: 'Command throughput over HTTP, many accounts, realistic mix',
  async run({ quick, postgres, progress }) {
    const parameters = {
      accounts: quick ? 30 : 1000,
      clients: quick ? 16 : 64,
      rounds: quick ? 2 : 3,
      commandsWindowMs: quick ? 800 : 6000,
      ceilingWindowMs: quick ? 500 : 4000,
      warmupMs: quick ? 200 : 1000,
      /** The first window of each kind warms its server up for longer (JIT, caches, connections). */
      firstWarmupMs: quick ? 300 : 3000,
      mix: MIX,
    };
    const database = await postgres.createDatabase('commands');
    const api = await startService('api', database.url);
    const ceiling = await startCeilingServer();
    const client = new BenchClient(api.url!, SERVICE_KEY, parameters.clients);
    const ceilingClient = new BenchClient(ceiling.url, SERVICE_KEY, parameters.clients);
    try {
      const postmaster = await findPostmasterPid(database.url);
      const meter = new CpuMeter({ api: api.pid, ceiling: ceiling.pid }, postmaster);
      const accounts = Array.from({ length: parameters.accounts }, (_, i) => `acct-${i}`);
      progress.note('preparing accounts', { accounts: accounts.length });
      await prepareAccounts(client, accounts, '1000000', (done) => progress.tick('preparing', { done }));

      const mix = new CommandMix(accounts, parameters.clients, '');
      // The ceiling's requests are made as the commands' are (same bodies and keys, same client):
      // only the server differs. Its mix never hears back, so it always sends AcceptRun bodies.
      const ceilingMix = new CommandMix(accounts, parameters.clients, 'c');
      let sent = 0;
      const windows = await interleave(['ceiling', 'commands'] as const, parameters.rounds, async (kind, round) => {
        const durationMs = kind === 'ceiling' ? parameters.ceilingWindowMs : parameters.commandsWindowMs;
        const warmupMs = round === 0 ? parameters.firstWarmupMs : parameters.warmupMs;
        progress.note(`measuring: ${kind}`, { round: round + 1, clients: parameters.clients, ms: durationMs });
        const { samples, measuredMs, cpu } = await closedLoop(
          {
            clients: parameters.clients,
            durationMs,
            warmupMs,
            meter,
            onTick: () => progress.tick(`sending (${kind}, round ${round + 1})`, { sent: ++sent }),
          },
          kind === 'ceiling'
            ? async (c) => {
                const command = ceilingMix.next(c);
                const answer = await ceilingClient.command(command.path, command.body, command.idempotencyKey);
                return { kind: 'ceiling', status: answer.status, ms: answer.ms };
              }
            : singleStep(client, mix),
        );
        const cost = costOf(cpu, samples.length, kind === 'ceiling' ? ['ceiling'] : ['api'], kind === 'commands');
        return { kind, round, rate: perSecond(okCommands(samples), measuredMs), cost, samples } satisfies Window;
      });

      const commands = windows.commands;
      const ceilings = windows.ceiling;
      const ratios = commands.map((window, i) => window.rate / Math.max(1, ceilings[i]?.rate ?? 0));
      const all = commands.flatMap((window) => window.samples);
      const ok = all.filter((sample) => sample.status === 200);
      const latency = summarize(ok.map((sample) => sample.ms));
      const byKind = Object.keys(MIX).map((kind) => {
        const mine = ok.filter((sample) => sample.kind === kind);
        return [kind, summarize(mine.map((sample) => sample.ms))] as const;
      });
      const stats = await api.stats();
      const cpuNote = (window: Window): string => {
        const { cost } = window;
        return window.kind === 'ceiling'
          ? `${window.rate}/s, server ${cost.serverUs ?? '?'} µs, load generator ${cost.loadGeneratorUs} µs per request, others ${pct(cost.othersShare)}`
          : `${window.rate}/s, API ${cost.processesUs.api ?? '?'} + Postgres ${cost.postgresUs ?? '?'} µs, load generator ${cost.loadGeneratorUs} µs per command, others ${pct(cost.othersShare)}`;
      };
      return {
        parameters,
        figures: [
          medianFigure(
            {
              name: 'commands_per_second',
              label: 'commands/s (all accounts)',
              unit: 'cmd/s',
              target: { op: '>=', value: 5000 },
            },
            commands.map((window) => window.rate),
          ),
          medianFigure(
            {
              name: 'ceiling_http_requests_per_second',
              label: 'ceiling: plain node:http JSON POST/s, same client and connections',
              unit: 'req/s',
            },
            ceilings.map((window) => window.rate),
          ),
          medianFigure(
            {
              name: 'commands_vs_ceiling',
              label: 'commands/s ÷ ceiling req/s (window by window)',
              unit: '×',
              target: { op: '>=', value: 0.18 },
            },
            ratios,
            3,
          ),
          medianFigure(
            {
              name: 'server_cpu_us_per_command',
              label: 'server CPU per command (API + Postgres)',
              unit: 'µs',
              target: { op: '<=', value: 700 },
            },
            known(commands.map((window) => window.cost.serverUs)),
          ),
          medianFigure(
            { name: 'api_cpu_us_per_command', label: 'API process CPU per command', unit: 'µs' },
            known(commands.map((window) => window.cost.processesUs.api ?? null)),
          ),
          medianFigure(
            { name: 'postgres_cpu_us_per_command', label: 'Postgres CPU per command (all its processes)', unit: 'µs' },
            known(commands.map((window) => window.cost.postgresUs)),
          ),
          medianFigure(
            {
              name: 'load_generator_cpu_us_per_command',
              label: 'load generator CPU per command',
              unit: 'µs',
            },
            commands.map((window) => window.cost.loadGeneratorUs),
          ),
          medianFigure(
            {
              name: 'ceiling_load_generator_cpu_us_per_request',
              label: 'load generator CPU per ceiling request',
              unit: 'µs',
            },
            ceilings.map((window) => window.cost.loadGeneratorUs),
          ),
          medianFigure(
            {
              name: 'ceiling_server_cpu_us_per_request',
              label: 'ceiling server CPU per request',
              unit: 'µs',
            },
            known(ceilings.map((window) => window.cost.serverUs)),
          ),
          { name: 'latency_p50_ms', label: 'command latency p50', value: latency.p50, unit: 'ms' },
          { name: 'latency_p99_ms', label: 'command latency p99', value: latency.p99, unit: 'ms' },
          { name: 'failed_commands', label: 'commands not answered 200', value: all.length - ok.length, unit: '' },
        ],
        notes: [
          `${parameters.rounds} rounds of a ${parameters.ceilingWindowMs / 1000} s ceiling window and a ${parameters.commandsWindowMs / 1000} s commands window, ` +
            `the order flipped every round, ${parameters.clients} connections for both; each figure is the median of its windows (range in parentheses). ` +
            `CPU time from /proc over each window: the API process, the Postgres cluster (postmaster, its live children and those it reaped), ` +
            `the load generator (this process); "others" is the machine's CPU time spent outside all of them in the window, of all cores.` +
            (postmaster === null ? ' The Postgres processes were not visible here: no Postgres or server figure.' : ''),
          `Windows: ${interleavedNotes(ceilings, commands, cpuNote)}.`,
          `Per command type (count, p50/p99 ms): ${byKind.map(([kind, s]) => `${kind} ${s.count} (${s.p50}/${s.p99})`).join('; ')}.`,
          `The API ran in its own process; the clients in the benchmark's process, on the same machine as Postgres. ` +
            `Appends: ${stats.appends} for ${stats.commands} commands decided; API RSS ${Math.round(stats.rssBytes / 2 ** 20)} MiB.`,
        ],
      };
    } finally {
      client.close();
      ceilingClient.close();
      await Promise.all([api.stop(), ceiling.stop()]);
      await database.drop();
    }
  },
};

function interleavedNotes(
  ceilings: readonly Window[],
  commands: readonly Window[],
  describe: (window: Window) => string,
): string {
  return commands
    .map((window, i) => {
      const ceiling = ceilings[i];
      return `round ${window.round + 1}: ceiling ${ceiling ? describe(ceiling) : '?'}; commands ${describe(window)}`;
    })
    .join(' — ');
}
