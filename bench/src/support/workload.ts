/**
 * Load shapes shared by the HTTP scenarios: accounts made ready through the real API, and a
 * closed loop of concurrent clients (each sends its next request when the last is answered).
 */
import { GROWTH_PLAN } from '@ledger/client';
import type { CpuMeter, CpuWindow } from './cpu';
import type { BenchClient, HttpAnswer } from './http';
import { now } from './stats';

/** The API runs with NODE_ENV=production here, so its keys are production-length (≥ 32 characters). */
export const SERVICE_KEY = 'bench-service-key-0123456789abcdefghij';
export const DASHBOARD_KEY = 'bench-dashboard-key-0123456789abcdefghij';
/** The benchmarks measure the ledger, not its rate limits: the keys' limits are out of reach. */
export const BENCH_KEYS = [
  { key: SERVICE_KEY, principal: 'bench-service', role: 'service', accounts: '*' },
  { key: DASHBOARD_KEY, principal: 'bench-dashboard', role: 'dashboard', accounts: '*' },
].map((entry) => ({ ...entry, rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } }));
export const BENCH_PROJECTS = ['proj-a', 'proj-b', 'proj-c'] as const;
/** Spans any benchmark run: runs are accepted inside the subscription's period. */
const PERIOD = { start: '2026-01-01T00:00:00.000Z', end: '2036-01-01T00:00:00.000Z' };

/** Runs `task` for each item with at most `concurrency` at once. */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index); // index < items.length, checked above
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

async function expectOk(answer: Promise<HttpAnswer>, what: string): Promise<HttpAnswer> {
  const done = await answer;
  if (done.status !== 200) throw new Error(`${what} answered ${done.status}: ${JSON.stringify(done.body)}`);
  return done;
}

/** Opens, subscribes, attaches the projects and grants `credits` (a decimal string) to each account. */
export async function prepareAccounts(
  client: BenchClient,
  accountIds: readonly string[],
  credits: string,
  onAccount: (done: number) => void = () => undefined,
): Promise<void> {
  let done = 0;
  await forEachConcurrently(accountIds, 32, async (accountId) => {
    const base = `/v1/accounts/${accountId}`;
    await expectOk(
      client.command('/v1/accounts', { accountId, name: `Bench ${accountId}` }, `open:${accountId}`),
      'open',
    );
    await expectOk(
      client.command(`${base}/subscription`, { plan: GROWTH_PLAN, period: PERIOD }, `sub:${accountId}`),
      'subscribe',
    );
    for (const projectId of BENCH_PROJECTS) {
      await expectOk(client.command(`${base}/projects`, { projectId }, `attach:${accountId}:${projectId}`), 'attach');
    }
    await expectOk(
      client.command(
        `${base}/grants`,
        { grantId: 'bench-grant', source: 'top_up', amount: credits },
        `grant:${accountId}`,
      ),
      'grant',
    );
    onAccount(++done);
  });
}

export interface ClosedLoopOptions {
  readonly clients: number;
  readonly durationMs: number;
  /** Requests in the first moments are sent but not counted: connections and caches warm up. */
  readonly warmupMs: number;
  readonly onTick?: (sent: number) => void;
  /** When given, the CPU time of the measured window (read at its very start and end). */
  readonly meter?: CpuMeter;
}

export interface Sample {
  readonly kind: string;
  readonly status: number;
  readonly ms: number;
  /** Commands this request carried that were answered 200 (a batch carries many); 1 or 0 by default. */
  readonly ok?: number;
  /** Commands this request had answered, each on its own (a batch answered 200); 1 by default. */
  readonly commands?: number;
}

export interface ClosedLoopResult {
  /** The requests answered inside the measured window. */
  readonly samples: Sample[];
  /** The window's length as measured (from the first reading of the meter to the last). */
  readonly measuredMs: number;
  readonly cpu: CpuWindow | null;
}

/** Commands answered, whatever their status (a batch refused as a whole answers none). */
export const answeredCommands = (samples: readonly Sample[]): number =>
  samples.reduce((sum, sample) => sum + (sample.commands ?? 1), 0);

/** Commands answered 200 in these samples. */
export const okCommands = (samples: readonly Sample[]): number =>
  samples.reduce((sum, sample) => sum + (sample.ok ?? (sample.status === 200 ? 1 : 0)), 0);

/**
 * Each client calls `step` in a loop until the window closes. The window opens `warmupMs` after the
 * start and lasts `durationMs`; what is counted is what was answered inside it, the CPU time read at
 * its two ends, so that the work counted and the CPU time spent cover the same span.
 */
export async function closedLoop(
  options: ClosedLoopOptions,
  step: (clientIndex: number) => Promise<Sample>,
): Promise<ClosedLoopResult> {
  const samples: Sample[] = [];
  let sent = 0;
  let window: ReturnType<CpuMeter['start']> | null = null;
  let openedAt = Infinity;
  let closedAt = Infinity;
  let cpu: CpuWindow | null = null;
  const open = (): void => {
    window = options.meter?.start() ?? null;
    openedAt = window?.startedAt ?? now();
  };
  const close = (): void => {
    const ended = window?.stop();
    cpu = ended ?? null;
    closedAt = ended?.endedAt ?? now();
  };
  const opening = setTimeout(open, options.warmupMs);
  const closing = setTimeout(close, options.warmupMs + options.durationMs);
  const client = async (index: number): Promise<void> => {
    while (closedAt === Infinity) {
      const sample = await step(index);
      sent++;
      const answeredAt = now();
      if (answeredAt >= openedAt && answeredAt <= closedAt) samples.push(sample);
      options.onTick?.(sent);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, (_, index) => client(index)));
  } finally {
    clearTimeout(opening);
    clearTimeout(closing);
    // A client that failed stops the others too.
    if (closedAt === Infinity) closedAt = now();
  }
  return { samples, measuredMs: closedAt - openedAt, cpu };
}

/** One of `items` at random; they must not be empty. */
export function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('nothing to pick from');
  return item;
}
