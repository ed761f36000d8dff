/**
 * The demo account's past: five weeks of runs before the current subscription period, so the
 * overview's charts have a history worth drawing. A command sent over HTTP is decided at the
 * moment it arrives, so the past cannot be sent that way; instead each command is decided by the
 * real domain (decide, then evolve) at its own past instant and the events are appended to the
 * account's stream, with that instant as their `occurredAt` — exactly what the API would have
 * appended had the command arrived then.
 *
 * The story: the account opens on a pay-as-you-go plan (no included credits) five weeks before the
 * current period, attaches the seed's projects, buys top-ups valid until that period's end, and
 * runs workflows on weekdays (fewer at weekends), some failing, part of the cost held for a
 * provider and paid out days later. Two days before the period it moves to the seed's Growth plan,
 * and the period is renewed at its start: the Growth plan's 500 included credits take effect and
 * the top-ups' unspent credits lapse. From there the seed's own runs (sent over HTTP, now) leave
 * the seed page's figures: included 500, available 432, reserved 24, hold 8. What the history adds
 * shows in the lifetime buckets only: bonus (the top-ups), consumed (its runs) and expired (what
 * lapsed).
 */
import { randomUUID } from 'node:crypto';
import { GROWTH_PLAN, SEED_PROJECTS } from '@ledger/client';
import {
  bucketsOf,
  commandSchemas,
  decide,
  evolve,
  initialState,
  type AccountState,
  type LedgerCommand,
  type PlanTerms,
} from '@ledger/domain';
import { accountStreamId, toEventToAppend, type EventStore, type EventToAppend } from '@ledger/event-store';

const DAY_MS = 24 * 60 * 60 * 1000;
const HISTORY_DAYS = 35;
const PRINCIPAL = { id: 'demo-seeder', role: 'admin', accounts: '*' } as const;

/** The Growth plan's terms without included credits: what the account ran on before it. */
const PAY_AS_YOU_GO = { ...GROWTH_PLAN, planId: 'pay-as-you-go', name: 'Pay as you go', includedCredits: '0' };

const decodePlan = (plan: typeof GROWTH_PLAN): PlanTerms =>
  commandSchemas.ChangePlan.parse({ accountId: 'plan', plan }).plan;

/** The same numbers on every start: a small linear congruential generator. */
function numbers(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Credits in quarters: "12.75" → 127500n (the domain's 10⁻⁴ units). */
const quarters = (n: number): bigint => BigInt(Math.round(n * 4)) * 2_500n;

/**
 * The history's events, decided at their own instants: from five weeks before `periodStart` (the
 * current subscription period's start, the calendar month around now) to its renewal at that
 * instant. Every event id and command id is new; the story is the same on every run.
 */
export function demoHistory(accountId: string, periodStart: Date): EventToAppend[] {
  const state: AccountState = initialState();
  const out: EventToAppend[] = [];
  let commands = 0;
  let last = 0;
  const send = (command: LedgerCommand, wanted: number) => {
    // The stream's instants never go back: a command meant for earlier waits for the one before it.
    const at = Math.max(wanted, last + 1000);
    last = at;
    const now = new Date(at).toISOString();
    const decision = decide(command, state, { principal: PRINCIPAL, now });
    if (!decision.ok) {
      throw new Error(`demo history: ${command.type} at ${now} refused: ${decision.rejection.code}`);
    }
    const commandId = randomUUID();
    for (const event of decision.events) {
      evolve(state, event);
      out.push(
        toEventToAppend(event, randomUUID(), {
          commandId,
          commandType: command.type,
          idempotencyKey: `demo-history:${accountId}:${commands}`,
          requestHash: 'demo-history',
          correlationId: commandId,
          causationId: commandId,
          principal: PRINCIPAL.id,
          occurredAt: now,
        }),
      );
    }
    commands++;
  };

  const end = periodStart.getTime();
  const start = end - HISTORY_DAYS * DAY_MS;
  const random = numbers(17);
  const period = { start: new Date(start).toISOString(), end: periodStart.toISOString() };
  send({ type: 'OpenBillingAccount', accountId, name: 'Demo workspace' }, start + 9 * 3600_000);
  send(
    { type: 'StartSubscription', accountId, plan: decodePlan(PAY_AS_YOU_GO), period },
    start + 9 * 3600_000 + 60_000,
  );
  for (const [i, project] of SEED_PROJECTS.entries()) {
    send({ type: 'AttachProject', accountId, ...project }, start + 9 * 3600_000 + (2 + i) * 60_000);
  }

  let topUps = 0;
  let holds = 0;
  const paying: Array<{ holdId: string; at: number }> = [];
  for (let day = 0; day < HISTORY_DAYS; day++) {
    const dayStart = start + day * DAY_MS;
    const weekend = [0, 6].includes(new Date(dayStart).getUTCDay());
    if (bucketsOf(state).available < quarters(60)) {
      send(
        {
          type: 'GrantCredits',
          accountId,
          grantId: `demo-top-up-${++topUps}`,
          source: 'top_up',
          amount: quarters(150),
          expiresAt: period.end,
          reason: 'top-up, valid until the period ends',
        },
        dayStart + 8 * 3600_000,
      );
    }
    for (const due of paying.filter((hold) => hold.at <= dayStart + 9 * 3600_000)) {
      send({ type: 'ReleaseSettlementHold', accountId, holdId: due.holdId, outcome: 'paid_out' }, due.at);
      paying.splice(paying.indexOf(due), 1);
    }
    const count = weekend ? Math.floor(random() * 2) : 2 + Math.floor(random() * 3);
    for (let n = 0; n < count; n++) {
      const project = SEED_PROJECTS[Math.floor(random() * SEED_PROJECTS.length)]!;
      const advanced = random() < 0.3;
      const estimate = quarters(4 + random() * 12);
      if (bucketsOf(state).available < estimate) break;
      const runId = `run-h${String(day).padStart(2, '0')}-${n + 1}`;
      const acceptedAt = dayStart + (10 + n * 2) * 3600_000 + Math.floor(random() * 3600_000);
      send(
        {
          type: 'AcceptRun',
          accountId,
          runId,
          projectId: project.projectId,
          action: advanced ? 'agent.run' : 'workflow.run',
          capabilityBand: advanced ? 'advanced' : 'standard',
          estimatedCost: estimate,
        },
        acceptedAt,
      );
      const finishedAt = acceptedAt + 20 * 60_000 + Math.floor(random() * 40 * 60_000);
      if (random() < 0.12) {
        send({ type: 'FailRun', accountId, runId, reason: 'workflow step timed out' }, finishedAt);
        continue;
      }
      const actualCost = ((estimate * BigInt(60 + Math.floor(random() * 40))) / 100n / 2_500n) * 2_500n;
      send({ type: 'CompleteRun', accountId, runId, actualCost }, finishedAt);
      if (advanced && actualCost >= quarters(4)) {
        const holdId = `hold-h${++holds}`;
        send(
          { type: 'PlaceSettlementHold', accountId, holdId, runId, provider: 'model-provider-a', amount: quarters(2) },
          finishedAt + 60_000,
        );
        paying.push({ holdId, at: Math.min(finishedAt + 3 * DAY_MS, end - 2 * 3600_000) });
      }
    }
  }
  for (const due of paying.sort((a, b) => a.at - b.at)) {
    send({ type: 'ReleaseSettlementHold', accountId, holdId: due.holdId, outcome: 'paid_out' }, due.at);
  }
  send({ type: 'ChangePlan', accountId, plan: decodePlan(GROWTH_PLAN) }, end - 2 * DAY_MS + 15 * 3600_000);
  // The renewal at the period's start: the Growth plan's included credits take effect with it, and
  // the top-ups' unspent credits, lapsing at that instant, expire in the same append.
  const next = new Date(Date.UTC(periodStart.getUTCFullYear(), periodStart.getUTCMonth() + 1, 1)).toISOString();
  send({ type: 'RenewSubscriptionPeriod', accountId, period: { start: period.end, end: next } }, end);
  return out;
}

/** Appends the history as the account's first events: it must not exist yet. */
export async function appendDemoHistory(store: EventStore, accountId: string, periodStart: Date): Promise<void> {
  await store.append(accountStreamId(accountId), demoHistory(accountId, periodStart), 'no_stream');
}
