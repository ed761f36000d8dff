/**
 * Large, valid ledger histories made in-process by the real domain (decide, then evolve), for the
 * scenarios that need a long log fast (rebuild, reads, the cold account): sending a million
 * commands over HTTP would measure the API, not what those scenarios are about. Each account is
 * opened, subscribed, attaches three projects and is granted credits; then runs are accepted and
 * mostly completed under their estimate (some fail), part of their cost is held for settlement,
 * and credits are granted again when they run low. Deterministic for a given account id.
 */
import { randomUUID } from 'node:crypto';
import { bucketsOf, decide, evolve, initialState, type AccountState, type LedgerCommand } from '@ledger/domain';
import { accountStreamId, appendToStream, toEventToAppend, type EventToAppend } from '@ledger/event-store';
import type pg from 'pg';
import { growthPlan } from '../../../projections/src/test-support';

const PRINCIPAL = { id: 'workflow-runner', role: 'service', accounts: '*' } as const;
const START = Date.parse('2026-01-01T00:00:00.000Z');
/** One long period from the history's start: a history of any length stays inside it, with no renewals. */
const PERIOD_MS = 10 * 365 * 24 * 3600_000;
const CREDIT = 10_000n;
const PROJECTS = ['proj-research', 'proj-support', 'proj-ops'];

export class AccountHistory {
  readonly streamId: string;
  /** The stream's last revision once the events handed out so far are appended. */
  revision: bigint | 'no_stream' = 'no_stream';
  private readonly state: AccountState = initialState();
  private clock: number;
  private runs = 0;
  private grants = 0;
  private holds = 0;
  private readonly open: string[] = [];
  private readonly completed: string[] = [];
  /** Holds placed and not yet released: settled (paid out) once enough are waiting. */
  private readonly heldNow: string[] = [];
  private started = false;
  private readonly stepMs: number;
  private readonly period: { start: string; end: string };

  /**
   * `minutesPerCommand`: how far the account's clock moves per command (a second by default);
   * `startsAt`: the clock reading of its first command (2026-01-01 by default).
   */
  constructor(
    readonly accountId: string,
    options: { minutesPerCommand?: number; startsAt?: number } = {},
  ) {
    this.streamId = accountStreamId(accountId);
    this.clock = options.startsAt ?? START;
    this.period = {
      start: new Date(this.clock).toISOString(),
      end: new Date(this.clock + PERIOD_MS).toISOString(),
    };
    this.stepMs = options.minutesPerCommand === undefined ? 1000 : options.minutesPerCommand * 60_000;
  }

  /** At least `count` more events (whole commands), in order. */
  next(count: number): EventToAppend[] {
    const out: EventToAppend[] = [];
    if (!this.started) {
      this.started = true;
      this.send({ type: 'OpenBillingAccount', accountId: this.accountId, name: `Workspace ${this.accountId}` }, out);
      this.send({ type: 'StartSubscription', accountId: this.accountId, plan: growthPlan(), period: this.period }, out);
      for (const projectId of PROJECTS) this.send({ type: 'AttachProject', accountId: this.accountId, projectId }, out);
    }
    while (out.length < count) this.step(out);
    return out;
  }

  private step(out: EventToAppend[]): void {
    const accountId = this.accountId;
    const n = this.runs + this.grants + this.holds;
    if (bucketsOf(this.state).available < 1000n * CREDIT) {
      this.send(
        {
          type: 'GrantCredits',
          accountId,
          grantId: `grant-${this.grants++}`,
          source: 'top_up',
          amount: 100_000n * CREDIT,
        },
        out,
      );
    } else if (this.open.length < 4 || n % 2 === 0) {
      const runId = `run-${this.runs++}`;
      const advanced = this.runs % 5 === 0;
      this.send(
        {
          type: 'AcceptRun',
          accountId,
          runId,
          projectId: PROJECTS[this.runs % PROJECTS.length]!, // an index modulo the length
          action: advanced ? 'agent.run' : 'workflow.run',
          capabilityBand: advanced ? 'advanced' : 'standard',
          estimatedCost: BigInt(1 + (this.runs % 20)) * CREDIT,
        },
        out,
      );
      this.open.push(runId);
    } else if (this.heldNow.length > 20) {
      this.send({ type: 'ReleaseSettlementHold', accountId, holdId: this.heldNow.shift()!, outcome: 'paid_out' }, out);
    } else if (this.completed.length > 0 && this.runs % 7 === 0) {
      const runId = this.completed.shift()!;
      this.send(
        {
          type: 'PlaceSettlementHold',
          accountId,
          holdId: this.nextHold(),
          runId,
          provider: 'model-provider-a',
          amount: CREDIT / 2n,
        },
        out,
      );
    } else {
      const runId = this.open.shift()!;
      if (this.runs % 10 === 3) {
        this.send({ type: 'FailRun', accountId, runId, reason: 'workflow step timed out' }, out);
      } else {
        const run = this.state.runs.get(runId)!;
        this.send({ type: 'CompleteRun', accountId, runId, actualCost: (run.estimatedCost * 7n) / 10n }, out);
        this.completed.push(runId);
        if (this.completed.length > 100) this.completed.shift();
      }
    }
  }

  private nextHold(): string {
    const holdId = `hold-${this.holds++}`;
    this.heldNow.push(holdId);
    return holdId;
  }

  private send(command: LedgerCommand, out: EventToAppend[]): void {
    this.clock += this.stepMs;
    const occurredAt = new Date(this.clock).toISOString();
    const decision = decide(command, this.state, { principal: PRINCIPAL, now: occurredAt });
    if (!decision.ok)
      throw new Error(`history of ${this.accountId}: ${command.type} refused: ${decision.rejection.code}`);
    const commandId = randomUUID();
    for (const event of decision.events) {
      evolve(this.state, event);
      out.push(
        toEventToAppend(event, randomUUID(), {
          commandId,
          commandType: command.type,
          idempotencyKey: `bench:${this.accountId}:${commandId}`,
          requestHash: 'sha256:bench',
          correlationId: commandId,
          causationId: commandId,
          principal: PRINCIPAL.id,
          occurredAt,
        }),
      );
    }
  }
}

/**
 * Appends histories until `total` events are stored, the accounts taking turns (so their events
 * interleave in the global log as live traffic would), a few appends in flight at once.
 */
export async function appendHistories(
  pool: pg.Pool,
  accounts: readonly AccountHistory[],
  total: number,
  onProgress: (stored: number) => void = () => undefined,
  { chunk: givenChunk, inFlight = 4 }: { chunk?: number; inFlight?: number } = {},
): Promise<number> {
  // Small enough that every account gets its turn, large enough to keep appends few.
  const chunk = givenChunk ?? Math.max(20, Math.min(500, Math.floor(total / accounts.length)));
  let stored = 0;
  const workers = Math.min(inFlight, accounts.length);
  // Each account its own share of the total, so that which accounts get events never depends on
  // which append finished first (on a busy machine, one worker could take every turn left and
  // leave an account with no events at all).
  const shares = accounts.map((account, i) => ({
    account,
    left: Math.floor(total / accounts.length) + (i < total % accounts.length ? 1 : 0),
  }));
  // Worker w owns accounts w, w + workers, …: an account's appends never race each other.
  const worker = async (w: number): Promise<void> => {
    const mine = shares.filter((_, i) => i % workers === w);
    for (let turn = 0; mine.some((share) => share.left > 0); turn++) {
      const share = mine[turn % mine.length];
      if (!share || share.left <= 0) continue;
      const { account } = share;
      const events = account.next(Math.min(chunk, share.left));
      share.left -= events.length;
      stored += events.length;
      const result = await appendToStream(pool, account.streamId, events, account.revision);
      account.revision = result.revision;
      onProgress(stored);
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return stored;
}
