/**
 * 2. Hot account: every client accepts runs on one account, one per request, and — through the
 * batch endpoint — in batches of AcceptRuns (64 clients, each sending a batch when its last is
 * answered). The two run in interleaved windows, each on a fresh hot account (so neither meets an
 * account the other made large), repeated, with the CPU time of each window per accepted run.
 *
 * Then the overdraft check, one request per command and again through batches: an account granted
 * exactly N credits is hit by more AcceptRuns of 1 credit than it can pay for, through two API
 * processes at once (so their appends really conflict and are retried); exactly N must be accepted
 * and the stream, replayed, must never show available credits below zero.
 *
 * An API without the batch endpoint (404): a `--quick` run says so and leaves the batch parts out;
 * a full run fails.
 */
import { bucketsOf, evolve, initialState, parseCredits } from '@ledger/domain';
import { accountStreamId, PostgresEventStore, toLedgerEvent } from '@ledger/event-store';
import { createPool } from '@ledger/platform';
import { medianFigure, type Figure, type Scenario } from '../scenario';
import { CpuMeter, findPostmasterPid } from '../support/cpu';
import { BATCH_PATH, BenchClient, type BatchCommand, type HttpAnswer } from '../support/http';
import { startService, type Service } from '../support/services';
import { perSecond, summarize } from '../support/stats';
import { costOf, interleave, known, type WindowCost } from '../support/windows';
import {
  answeredCommands,
  closedLoop,
  forEachConcurrently,
  okCommands,
  prepareAccounts,
  SERVICE_KEY,
  type Sample,
} from '../support/workload';

const acceptBody = (runId: string, estimatedCost: string) => ({
  runId,
  projectId: 'proj-a',
  action: 'workflow.run',
  capabilityBand: 'standard',
  estimatedCost,
});

const acceptCommand = (accountId: string, runId: string, estimatedCost: string): BatchCommand => ({
  type: 'AcceptRun',
  params: { accountId },
  body: acceptBody(runId, estimatedCost),
  idempotencyKey: runId,
});

const exhausted = (answer: { body?: { code?: unknown } | null }): boolean =>
  answer.body?.code === 'concurrency_exhausted';

interface Window {
  readonly kind: 'single' | 'batch';
  readonly round: number;
  readonly rate: number;
  readonly cost: WindowCost;
  readonly samples: Sample[];
}

interface OverdraftOutcome {
  readonly attempts: number;
  readonly granted: number;
  readonly accepted: number;
  readonly statuses: Map<number, number>;
  readonly resent: number;
  readonly conflicts: number;
  readonly lowestCredits: bigint;
}

export const hotAccountScenario: Scenario = {
  name: 'hot-account',
  title: 'One hot account: AcceptRun throughput, conflicts, no overdraft',
  async run({ quick, postgres, progress }) {
    const parameters = {
      clients: quick ? 16 : 64,
      batchSize: quick ? 20 : 100,
      rounds: quick ? 1 : 3,
      windowMs: quick ? 800 : 5000,
      warmupMs: quick ? 200 : 1000,
      firstWarmupMs: quick ? 300 : 2000,
      estimatedCost: '1',
      overdraftCheck: {
        apiProcesses: 2,
        grantedCredits: quick ? 100 : 1500,
        attemptsPerCredit: 2,
        commandsPerBatch: quick ? 10 : 50,
      },
    };
    const database = await postgres.createDatabase('hot');
    const first = await startService('api', database.url);
    const apis: Service[] = [first];
    const client = new BenchClient(first.url!, SERVICE_KEY, parameters.clients);
    const opened: BenchClient[] = [client];
    const pool = createPool(database.url, { max: 2 });
    try {
      const meter = new CpuMeter({ api: first.pid }, await findPostmasterPid(database.url));
      const batches = await client.hasBatchEndpoint();
      if (!batches) {
        const message = `POST ${BATCH_PATH} answered 404: this API has no batch endpoint`;
        if (!quick) throw new Error(message);
        progress.note(`${message}; --quick: the batch parts are left out`);
      }

      let serial = 0;
      let sent = 0;
      const statsBefore = await first.stats();
      const windows = await interleave<'single' | 'batch', Window>(
        batches ? ['single', 'batch'] : ['single'],
        parameters.rounds,
        async (kind, round) => {
          const accountId = `hot-${kind}-${round}`;
          await prepareAccounts(client, [accountId], '100000000');
          progress.note(`measuring: ${kind}`, { round: round + 1, clients: parameters.clients, accountId });
          const { samples, measuredMs, cpu } = await closedLoop(
            {
              clients: parameters.clients,
              durationMs: parameters.windowMs,
              warmupMs: round === 0 ? parameters.firstWarmupMs : parameters.warmupMs,
              meter,
              onTick: () => progress.tick(`sending (${kind}, round ${round + 1})`, { requests: ++sent }),
            },
            kind === 'single'
              ? async () => {
                  const runId = `run-${serial++}`;
                  const answer = await client.command(
                    `/v1/accounts/${accountId}/runs`,
                    acceptBody(runId, parameters.estimatedCost),
                    runId,
                  );
                  return { kind: 'AcceptRun', status: answer.status, ms: answer.ms };
                }
              : async () => {
                  const commands = Array.from({ length: parameters.batchSize }, () =>
                    acceptCommand(accountId, `run-${serial++}`, parameters.estimatedCost),
                  );
                  const answer = await client.batch(commands);
                  const ok = answer.results?.filter((result) => result.status === 200).length ?? 0;
                  return {
                    kind: 'batch',
                    status: answer.status,
                    ms: answer.ms,
                    ok,
                    commands: answer.results?.length ?? 0,
                  };
                },
          );
          const cost = costOf(cpu, answeredCommands(samples), ['api'], true);
          return { kind, round, rate: perSecond(okCommands(samples), measuredMs), cost, samples };
        },
      );
      const single = windows.single;
      const batch = windows.batch ?? [];
      const singleSamples = single.flatMap((window) => window.samples);
      const singleAccepted = singleSamples.filter((sample) => sample.status === 200);
      const latency = summarize(singleAccepted.map((sample) => sample.ms));
      const batchSamples = batch.flatMap((window) => window.samples);
      const batchLatency = summarize(batchSamples.filter((sample) => sample.status === 200).map((sample) => sample.ms));
      const statsAfter = await first.stats();
      const statements = statsAfter.appends - statsBefore.appends;
      const decided = statsAfter.commands - statsBefore.commands;

      // The overdraft checks, across two API processes.
      progress.note('overdraft check', parameters.overdraftCheck);
      const second = await startService('api', database.url);
      apis.push(second);
      const clients = [client, new BenchClient(second.url!, SERVICE_KEY, parameters.clients)] as const;
      opened.push(clients[1]);
      const one = parseCredits('1');
      if (!one.ok) throw new Error('1 credit does not parse');
      const store = new PostgresEventStore(pool);
      const replay = async (accountId: string) => {
        const state = initialState();
        let lowest: bigint | null = null;
        for await (const recorded of store.readStream(accountStreamId(accountId))) {
          evolve(state, toLedgerEvent(recorded));
          const { available } = bucketsOf(state);
          if (lowest === null || available < lowest) lowest = available;
        }
        return { buckets: bucketsOf(state), lowest };
      };
      const conflictCount = async (): Promise<number> =>
        (await Promise.all(apis.map((api) => api.stats()))).reduce((n, s) => n + s.conflicts, 0);

      /** Hits `accountId` with twice the AcceptRuns of 1 credit it can pay for; `send` sends them. */
      const overdraft = async (
        accountId: string,
        send: (ids: readonly number[], statuses: Map<number, number>) => Promise<number>,
      ): Promise<OverdraftOutcome> => {
        await prepareAccounts(client, [accountId], String(parameters.overdraftCheck.grantedCredits));
        // What it may spend: the grant plus the plan's included credits.
        const granted = Number((await replay(accountId)).buckets.available / one.value);
        const conflictsBefore = await conflictCount();
        const attempts = Array.from({ length: granted * parameters.overdraftCheck.attemptsPerCredit }, (_, i) => i);
        const statuses = new Map<number, number>();
        const resent = await send(attempts, statuses);
        const conflicts = (await conflictCount()) - conflictsBefore;
        // Replay the account's stream: available must never go below zero, at any event.
        const { buckets: final, lowest } = await replay(accountId);
        const accepted = statuses.get(200) ?? 0;
        const neverNegative = lowest !== null && lowest >= 0n;
        const exact = final.reserved === BigInt(accepted) * one.value && accepted === granted;
        if (!neverNegative || !exact) {
          throw new Error(
            `overdraft check on ${accountId} failed: accepted ${accepted} of ${granted}, lowest available ${String(lowest)}, reserved ${final.reserved}`,
          );
        }
        return {
          attempts: attempts.length,
          granted,
          accepted,
          statuses,
          resent,
          conflicts,
          lowestCredits: lowest / one.value,
        };
      };
      const count = (statuses: Map<number, number>, status: number): void => {
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      };

      // One request per command. A caller retries a command the ledger gave up on after too many
      // conflicts, as it is told to.
      const singleCheck = await overdraft('scarce', async (attempts, statuses) => {
        let resent = 0;
        await forEachConcurrently(attempts, parameters.clients, async (i) => {
          const target = clients[i % 2 === 0 ? 0 : 1];
          const sendOne = (): Promise<HttpAnswer> =>
            target.command('/v1/accounts/scarce/runs', acceptBody(`scarce-${i}`, '1'), `scarce-${i}`);
          let answer = await sendOne();
          for (let retry = 0; retry < 10 && exhausted(answer); retry++) {
            resent++;
            answer = await sendOne();
          }
          count(statuses, answer.status);
        });
        return resent;
      });

      // Through batches, alternating between the two processes; commands the ledger gave up on go
      // again in a later batch.
      const batchCheck = batches
        ? await overdraft('scarce-batch', async (attempts, statuses) => {
            let resent = 0;
            let pending = [...attempts];
            for (let pass = 0; pass <= 10 && pending.length > 0; pass++) {
              const size = parameters.overdraftCheck.commandsPerBatch;
              const chunks = Array.from({ length: Math.ceil(pending.length / size) }, (_, c) =>
                pending.slice(c * size, (c + 1) * size),
              );
              const again: number[] = [];
              await forEachConcurrently(chunks, parameters.clients, async (chunk, c) => {
                const answer = await clients[(c + pass) % 2 === 0 ? 0 : 1].batch(
                  chunk.map((i) => acceptCommand('scarce-batch', `scarce-batch-${i}`, '1')),
                );
                if (!answer.results)
                  throw new Error(`a batch answered ${answer.status}: ${JSON.stringify(answer.body)}`);
                answer.results.forEach((result, k) => {
                  const i = chunk[k]!;
                  if (exhausted(result) && pass < 10) again.push(i);
                  else count(statuses, result.status);
                });
              });
              resent += again.length;
              pending = again;
            }
            return resent;
          })
        : null;

      const overdraftNote = (what: string, check: OverdraftOutcome): string =>
        `Overdraft check (${what}): ${check.attempts} AcceptRuns of 1 credit against ${check.granted} available credits (the grant and the plan's included credits) through two API processes: ` +
        `${check.accepted} accepted, ${check.statuses.get(402) ?? 0} refused with 402, other statuses ${JSON.stringify(Object.fromEntries([...check.statuses].filter(([s]) => s !== 200 && s !== 402)))}; ` +
        `${check.conflicts} conflicts retried inside the ledger, ${check.resent} times it answered concurrency_exhausted and the client sent the command again; ` +
        `replaying the stream, available never went below ${String(check.lowestCredits)} credits.`;
      const batchFigures: Figure[] = batchCheck
        ? [
            medianFigure(
              {
                name: 'hot_account_batch_accept_runs_per_second',
                label: `AcceptRun/s on one account, through batches of ${parameters.batchSize}`,
                unit: 'cmd/s',
                target: { op: '>=', value: 5000 },
              },
              batch.map((window) => window.rate),
            ),
            medianFigure(
              {
                name: 'batch_server_cpu_us_per_command',
                label: 'server CPU per batched AcceptRun (API + Postgres)',
                unit: 'µs',
              },
              known(batch.map((window) => window.cost.serverUs)),
            ),
            {
              name: 'batch_latency_p99_ms',
              label: `batch request latency p99 (hot, ${parameters.batchSize} AcceptRuns)`,
              value: batchLatency.p99,
              unit: 'ms',
            },
            {
              name: 'batch_conflicts_retried',
              label: 'conflicts retried (2 API processes, overdraft check through batches)',
              value: batchCheck.conflicts,
              unit: '',
            },
            {
              name: 'batch_overspent_credits',
              label: 'credits overspent (through batches)',
              value: Math.max(0, batchCheck.accepted - batchCheck.granted),
              unit: 'credits',
              target: { op: '<=', value: 0 },
            },
          ]
        : [];
      return {
        parameters,
        figures: [
          medianFigure(
            {
              name: 'accept_runs_per_second',
              label: 'AcceptRun/s on one account',
              unit: 'cmd/s',
              target: { op: '>=', value: 1000 },
            },
            single.map((window) => window.rate),
          ),
          medianFigure(
            { name: 'server_cpu_us_per_command', label: 'server CPU per AcceptRun (API + Postgres)', unit: 'µs' },
            known(single.map((window) => window.cost.serverUs)),
          ),
          { name: 'latency_p50_ms', label: 'AcceptRun latency p50 (hot)', value: latency.p50, unit: 'ms' },
          { name: 'latency_p99_ms', label: 'AcceptRun latency p99 (hot)', value: latency.p99, unit: 'ms' },
          ...batchFigures,
          {
            name: 'appends_per_command',
            label: 'statements storing decisions per command decided (throughput windows)',
            value: Number((statements / Math.max(1, decided)).toFixed(3)),
            unit: '',
          },
          {
            name: 'conflicts_retried',
            label: 'conflicts retried (2 API processes, overdraft check)',
            value: singleCheck.conflicts,
            unit: '',
          },
          {
            name: 'overspent_credits',
            label: 'credits overspent',
            value: Math.max(0, singleCheck.accepted - singleCheck.granted),
            unit: 'credits',
            target: { op: '<=', value: 0 },
          },
        ],
        notes: [
          `Throughput: one API process (its mailbox serialises the account, so it never conflicts with itself), ${parameters.clients} clients; ` +
            `${parameters.rounds} rounds of a ${parameters.windowMs / 1000} s window ${batchCheck ? `each of one AcceptRun per request and of batches of ${parameters.batchSize}, the order flipped every round` : 'of one AcceptRun per request'}, ` +
            `each window on a fresh account; figures are medians (range in parentheses). ` +
            `Not answered 200: ${answeredCommands(singleSamples) - okCommands(singleSamples)} single, ${answeredCommands(batchSamples) - okCommands(batchSamples)} batched.`,
          `Windows: ${[...single, ...batch]
            .sort((a, b) => a.round - b.round)
            .map(
              (window) =>
                `round ${window.round + 1} ${window.kind} ${window.rate}/s, API ${window.cost.processesUs.api ?? '?'} + Postgres ${window.cost.postgresUs ?? '?'} µs, load generator ${window.cost.loadGeneratorUs} µs per AcceptRun`,
            )
            .join('; ')}.`,
          overdraftNote('one request per command', singleCheck),
          batchCheck
            ? overdraftNote(
                `batches of ${parameters.overdraftCheck.commandsPerBatch}, alternating between the processes`,
                batchCheck,
              )
            : `POST ${BATCH_PATH} answered 404 (no batch endpoint on this API): the batch parts were not run.`,
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
