/**
 * 5. End-to-end lag: how long after its receipt a command shows in the read models, at a rate
 * the machine sustains. The API and the projector run in processes of their own. First a closed
 * loop (as many commands as 64 clients get answered) measures the rate the machine sustains with
 * the projector running; then commands are sent at half that rate on a schedule (open loop: not
 * when the last is answered), and for each receipt the time until every projection's checkpoint
 * has passed its position — the rule `?atLeastPosition` uses. The watcher LISTENs for the
 * projector's commit notifications and reads the checkpoints once per notification.
 *
 * Also what the projector costs Postgres per command in that window: the statements it sent (log
 * reads included) and the CPU time of the backends serving it (/proc), and its own CPU time.
 */
import { CHECKPOINTS_CHANNEL } from '@ledger/database';
import { comparePositions, parsePosition, type GlobalPosition } from '@ledger/event-store';
import pg from 'pg';
import type { Scenario } from '../scenario';
import type { ProjectorStats } from '../support/child';
import { processCpuUs, readProcStat, clockTicksPerSecond } from '../support/cpu';
import { BenchClient, type HttpAnswer } from '../support/http';
import { PROJECTOR_APPLICATION_NAME, startService } from '../support/services';
import { now, perSecond, round, summarize } from '../support/stats';
import { BENCH_PROJECTS, closedLoop, okCommands, pick, prepareAccounts, SERVICE_KEY } from '../support/workload';

/** Beyond this many unanswered commands the API is not keeping up: further sends are skipped, and counted. */
const MAX_IN_FLIGHT = 1000;
/** The watcher reads the checkpoints at least this often, in case a notification was missed. */
const FALLBACK_READ_MS = 200;
/** The share of the sustained rate the lag is measured at. */
const LOAD_SHARE = 0.5;

interface Pending {
  readonly position: GlobalPosition;
  readonly acceptedAt: number;
}

/** Sends the lag mix: AcceptRun on a random account, or CompleteRun of a run accepted before. */
class LagMix {
  private readonly accepted: Array<{ accountId: string; runId: string }> = [];
  private serial = 0;

  constructor(
    private readonly client: BenchClient,
    private readonly accounts: readonly string[],
  ) {}

  async send(): Promise<HttpAnswer> {
    if (Math.random() < 0.4 && this.accepted.length > 0) {
      const run = this.accepted.shift()!; // non-empty: checked above
      return this.client.command(
        `/v1/accounts/${run.accountId}/runs/${run.runId}/complete`,
        { actualCost: '3' },
        `c:${run.runId}`,
      );
    }
    const accountId = pick(this.accounts);
    const runId = `run-${this.serial++}`;
    const answer = await this.client.command(
      `/v1/accounts/${accountId}/runs`,
      {
        runId,
        projectId: BENCH_PROJECTS[this.serial % 3],
        action: 'workflow.run',
        capabilityBand: 'standard',
        estimatedCost: '5',
      },
      `a:${runId}`,
    );
    if (answer.status === 200) this.accepted.push({ accountId, runId });
    return answer;
  }
}

/** Follows the projector's checkpoints by notification, and settles the receipts they pass. */
class CheckpointWatcher {
  readonly lags: number[] = [];
  private readonly pending: Pending[] = [];
  private reading: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly client: pg.Client) {}

  static async start(url: string): Promise<CheckpointWatcher> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const watcher = new CheckpointWatcher(client);
    client.on('notification', () => watcher.read());
    await client.query(`LISTEN ${CHECKPOINTS_CHANNEL}`);
    watcher.timer = setInterval(() => watcher.read(), FALLBACK_READ_MS);
    return watcher;
  }

  get waiting(): number {
    return this.pending.length;
  }

  add(position: GlobalPosition, acceptedAt: number): void {
    this.pending.push({ position, acceptedAt });
    this.read();
  }

  /** The position every projection has reached, or null before the first checkpoint. */
  async reached(): Promise<GlobalPosition | null> {
    const { rows } = await this.client.query<{ c: string; p: string }>(
      'SELECT position_commit::text AS c, position_prepare::text AS p FROM projection_checkpoints',
    );
    if (rows.length === 0) return null;
    return rows
      .map((row) => ({ commit: BigInt(row.c), prepare: BigInt(row.p) }))
      .reduce((a, b) => (comparePositions(a, b) <= 0 ? a : b));
  }

  /** Resolves once the read models have reached `position`. */
  async caughtUpWith(position: GlobalPosition): Promise<void> {
    for (;;) {
      const reached = await this.reached();
      if (reached && comparePositions(position, reached) <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, FALLBACK_READ_MS));
    }
  }

  /** Resolves once every receipt added so far has been seen in the read models. */
  async drained(): Promise<void> {
    while (this.pending.length > 0) await new Promise((resolve) => setTimeout(resolve, FALLBACK_READ_MS));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.reading;
    await this.client.end();
  }

  /** One read at a time; a wake-up during it reads once more after it. */
  private read(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readOnce().finally(() => {
      this.reading = null;
      if (this.again) {
        this.again = false;
        this.read();
      }
    });
  }

  private async readOnce(): Promise<void> {
    if (this.pending.length === 0) return;
    const low = await this.reached();
    const seenAt = now();
    if (!low) return;
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const entry = this.pending[i]!; // i counts down inside the array
      if (comparePositions(entry.position, low) <= 0) {
        this.lags.push(seenAt - entry.acceptedAt);
        this.pending.splice(i, 1);
      }
    }
  }
}

/** CPU time (µs) of the backends serving the projector's connections, by pid. */
async function projectorBackendsCpu(admin: pg.Client): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
    PROJECTOR_APPLICATION_NAME,
  ]);
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    const stat = readProcStat(pid);
    if (stat) cpu.set(pid, ((stat.utime + stat.stime) * 1_000_000) / clockTicksPerSecond());
  }
  return cpu;
}

/** What the backends spent between two readings; one that appeared meanwhile counts from zero. */
function spentBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, us] of after) total += us - (before.get(pid) ?? 0);
  return total;
}

export const lagScenario: Scenario = {
  name: 'lag',
  title: 'End-to-end lag: command accepted → visible in the read models, at half the sustained rate',
  async run({ quick, postgres, progress }) {
    const parameters = {
      accounts: quick ? 20 : 200,
      sustainedClients: quick ? 16 : 64,
      sustainedWindowMs: quick ? 800 : 5000,
      loadShare: LOAD_SHARE,
      durationMs: quick ? 1500 : 15_000,
      warmupMs: quick ? 300 : 2000,
      mix: { AcceptRun: 0.6, CompleteRun: 0.4 },
      maxInFlight: MAX_IN_FLIGHT,
    };
    const database = await postgres.createDatabase('lag');
    const api = await startService('api', database.url);
    const projector = await startService('projector', database.url);
    const client = new BenchClient(api.url!, SERVICE_KEY, 256);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    const watcher = await CheckpointWatcher.start(database.url);
    try {
      const accounts = Array.from({ length: parameters.accounts }, (_, i) => `acct-${i}`);
      await prepareAccounts(client, accounts, '1000000');
      const mix = new LagMix(client, accounts);

      // The rate the whole pipeline sustains: as many commands as the clients get answered, but no
      // more than the projector projects in the same window (a closed loop outruns it otherwise).
      const settle = async (): Promise<void> => {
        const answer = await mix.send();
        if (answer.status === 200) await watcher.caughtUpWith(parsePosition(answer.body.position)!); // a receipt's
      };
      await settle();
      progress.note('sustained rate', { clients: parameters.sustainedClients, ms: parameters.sustainedWindowMs });
      const receipts: GlobalPosition[] = [];
      const sustained = await closedLoop(
        { clients: parameters.sustainedClients, durationMs: parameters.sustainedWindowMs, warmupMs: 500 },
        async () => {
          const answer = await mix.send();
          if (answer.status === 200) receipts.push(parsePosition(answer.body.position)!); // receipts carry one
          return { kind: 'lag-mix', status: answer.status, ms: answer.ms };
        },
      );
      const reached = await watcher.reached();
      const projected = reached ? receipts.filter((p) => comparePositions(p, reached) <= 0).length : 0;
      const answeredRate = perSecond(okCommands(sustained.samples), sustained.measuredMs);
      const projectedRate = perSecond(projected, sustained.measuredMs + 500);
      const sustainedRate = Math.min(answeredRate, projectedRate);
      const rate = Math.max(10, Math.round(sustainedRate * parameters.loadShare));
      progress.note('letting the projector catch up');
      await settle();

      const latencies: number[] = [];
      let failures = 0;
      let measuring = false;
      const send = async (): Promise<void> => {
        const measured = measuring;
        const answer = await mix.send();
        if (!measured) return;
        if (answer.status !== 200) {
          failures++;
          return;
        }
        latencies.push(answer.ms);
        watcher.add(parsePosition(answer.body.position)!, now()); // a receipt's position is well formed
      };

      progress.note('steady load', { commandsPerSecond: rate, seconds: parameters.durationMs / 1000 });
      const started = now();
      const total = ((parameters.warmupMs + parameters.durationMs) * rate) / 1000;
      const inFlight = new Set<Promise<void>>();
      let sent = 0;
      let measuredSent = 0;
      let skipped = 0;
      let before: { stats: ProjectorStats; backends: Map<number, number>; cpu: number | null; at: number } | null =
        null;
      while (sent < total) {
        const due = Math.min(total, Math.floor(((now() - started) * rate) / 1000));
        if (!measuring && now() - started >= parameters.warmupMs) {
          const [stats, backends] = await Promise.all([projector.stats(), projectorBackendsCpu(admin)]);
          before = { stats: stats.projector!, backends, cpu: processCpuUs(projector.pid), at: now() };
          measuring = true;
        }
        while (sent < due) {
          if (inFlight.size >= MAX_IN_FLIGHT) {
            sent++;
            if (measuring) skipped++;
            continue;
          }
          if (measuring) measuredSent++;
          const request = send().catch(() => void failures++);
          inFlight.add(request);
          void request.finally(() => inFlight.delete(request));
          sent++;
        }
        progress.tick('sending', { sent, waiting: watcher.waiting });
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const sendingMs = now() - started - parameters.warmupMs;
      await Promise.all(inFlight);
      await watcher.drained();
      const [stats, backends] = await Promise.all([projector.stats(), projectorBackendsCpu(admin)]);
      const after = { stats: stats.projector!, backends, cpu: processCpuUs(projector.pid) };
      const apiStats = await api.stats();
      const lag = summarize(watcher.lags);
      const latency = summarize(latencies);
      const measured = Math.max(1, watcher.lags.length);
      const base = before!; // set once the warm-up ended, before the window's first command
      const statements = after.stats.statements - base.stats.statements;
      const transactions = after.stats.transactions - base.stats.transactions;
      const postgresUs = spentBetween(base.backends, after.backends);
      const projectorUs = after.cpu !== null && base.cpu !== null ? after.cpu - base.cpu : null;
      return {
        parameters: {
          ...parameters,
          answeredCommandsPerSecond: answeredRate,
          projectedCommandsPerSecond: projectedRate,
          sustainedCommandsPerSecond: sustainedRate,
          commandsPerSecond: rate,
        },
        figures: [
          {
            name: 'lag_p50_ms',
            label: 'lag to read models p50',
            value: lag.p50,
            unit: 'ms',
            target: { op: '<', value: 10 },
          },
          {
            name: 'lag_p99_ms',
            label: 'lag to read models p99',
            value: lag.p99,
            unit: 'ms',
            target: { op: '<', value: 30 },
          },
          {
            name: 'projector_statements_per_command',
            label: 'projector statements per command (all it sent, log reads included)',
            value: round(statements / measured, 2),
            unit: '',
            target: { op: '<=', value: 2 },
          },
          {
            name: 'projector_postgres_cpu_us_per_command',
            label: "Postgres CPU per command, the projector's backends",
            value: Math.round(postgresUs / measured),
            unit: 'µs',
          },
          {
            name: 'projector_cpu_us_per_command',
            label: 'projector process CPU per command (-1: not readable)',
            value: projectorUs === null ? -1 : Math.round(projectorUs / measured),
            unit: 'µs',
          },
          {
            name: 'projector_commands_per_transaction',
            label: 'commands per projector transaction',
            value: round(measured / Math.max(1, transactions), 2),
            unit: '',
          },
          {
            name: 'sustained_commands_per_second',
            label: 'sustained rate (closed loop, same run)',
            value: sustainedRate,
            unit: 'cmd/s',
          },
          {
            name: 'offered_commands_per_second',
            label: 'rate offered during the lag run',
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
            value: Math.round(stats.rssBytes / 2 ** 20),
            unit: 'MiB',
          },
        ],
        notes: [
          `The sustained rate is the lower of what ${parameters.sustainedClients} clients in a closed loop got answered (${answeredRate}/s) and what the projector projected of those commands in the same window (${projectedRate}/s); the lag run offers ${Math.round(parameters.loadShare * 100)}% of it on a schedule.`,
          `Lag runs from the receipt reaching the client to the watcher's first read of the checkpoints that finds every projection at or past the receipt's position; the watcher reads once per projector notification (and every ${FALLBACK_READ_MS} ms in case one was missed). ${watcher.lags.length} commands measured, ${failures} not answered 200.`,
          `Projector cost over the measured window: ${statements} statements in ${transactions} transactions; statements are counted in the projector process (every query of its pool), Postgres CPU from /proc for the backends of its connections.`,
          'The projector runs with its defaults: a batch commits as soon as the previous one has, with the events queued by then (at most 500).',
        ],
      };
    } finally {
      await watcher.stop();
      await admin.end();
      client.close();
      await projector.stop();
      await api.stop();
      await database.drop();
    }
  },
};
