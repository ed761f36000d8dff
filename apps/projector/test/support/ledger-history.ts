/**
 * Realistic ledger histories for the projector's tests, made by the real domain: each account is
 * opened and subscribed, attaches projects, is granted credits, accepts runs that complete (some
 * over their reservation), fail or are cancelled, places and releases settlement holds, has grants
 * lapse, renews its period, is suspended and reactivated. Every command goes through decide; a
 * rejected one (not enough credits, say) is simply skipped, as a caller would see it refused.
 * Alert rules are defined early, so that they fire and clear as the history moves (and the webhook
 * outbox gets rows).
 */
import { defined } from '../../../../test/support/defined';
import { randomUUID } from 'node:crypto';
import {
  decide,
  evolve,
  initialState,
  type AccountState,
  type Credits,
  type LedgerCommand,
  type Principal,
} from '@ledger/domain';
import { accountStreamId, toEventToAppend, type EventStore, type EventToAppend } from '@ledger/event-store';
import { growthPlan } from '../../../../projections/src/test-support';

const PRINCIPAL: Principal = { id: 'svc-runner', role: 'service', accounts: '*' };
const PERIOD_MS = 24 * 60 * 60 * 1000;
const START = Date.parse('2026-11-02T00:00:00.000Z');

/** A small seeded generator (mulberry32): the same seed makes the same history. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The events of one account's history, at least `minEvents` of them, ready to append in order. */
export function accountHistory(accountId: string, seed: number, minEvents: number): EventToAppend[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => defined(items[Math.floor(next() * items.length)]);
  const amount = (min: number, max: number): Credits => BigInt(Math.round((min + next() * (max - min)) * 100)) * 100n; // two decimals
  const state: AccountState = initialState();
  const out: EventToAppend[] = [];
  let now = START + seed * 1000;
  let periodStart = START;
  let runNo = 0;
  let grantNo = 0;
  let holdNo = 0;
  const iso = (ms: number): string => new Date(ms).toISOString();

  const send = (command: LedgerCommand): boolean => {
    now += 1000 + Math.floor(next() * 20 * 60 * 1000);
    const decision = decide(command, state, { principal: PRINCIPAL, now: iso(now) });
    if (!decision.ok) return false;
    const commandId = randomUUID();
    for (const event of decision.events) {
      evolve(state, event);
      out.push(
        toEventToAppend(event, randomUUID(), {
          commandId,
          commandType: command.type,
          idempotencyKey: `${accountId}:${out.length}`,
          requestHash: 'sha256:test',
          correlationId: commandId,
          causationId: commandId,
          principal: PRINCIPAL.id,
          occurredAt: iso(now),
        }),
      );
    }
    return true;
  };

  const projects = ['proj-research', 'proj-support', 'proj-ops'];
  send({ type: 'OpenBillingAccount', accountId, name: `Workspace ${accountId}` });
  send({
    type: 'StartSubscription',
    accountId,
    plan: growthPlan(),
    period: { start: iso(periodStart), end: iso(periodStart + PERIOD_MS) },
  });
  for (const projectId of projects) send({ type: 'AttachProject', accountId, projectId, name: `Project ${projectId}` });
  send({ type: 'GrantCredits', accountId, grantId: `grant-${grantNo++}`, source: 'top_up', amount: amount(200, 400) });
  // alerts (issue #17): rules that fire and clear as the history moves
  send({ type: 'DefineAlertRule', accountId, ruleId: 'low', kind: 'available_below', threshold: '150' });
  send({ type: 'DefineAlertRule', accountId, ruleId: 'owed', kind: 'commercial_exception' });
  send({ type: 'DefineAlertRule', accountId, ruleId: 'off', kind: 'account_suspended' });

  while (out.length < minEvents) {
    if (now >= periodStart + PERIOD_MS) {
      periodStart += PERIOD_MS;
      send({
        type: 'RenewSubscriptionPeriod',
        accountId,
        period: { start: iso(periodStart), end: iso(periodStart + PERIOD_MS) },
      });
      continue;
    }
    const open = [...state.runs.values()].filter((run) => run.status === 'accepted');
    const completed = [...state.runs.values()].filter((run) => run.status === 'completed' && run.consumed > run.held);
    const held = [...state.holds.values()].filter((hold) => hold.status === 'held');
    const roll = next();
    if (state.status === 'suspended') {
      send({ type: 'ReactivateAccount', accountId });
    } else if (roll < 0.36 || open.length === 0) {
      const advanced = next() < 0.4;
      send({
        type: 'AcceptRun',
        accountId,
        runId: `run-${runNo++}`,
        projectId: pick(projects),
        action: advanced ? 'agent.run' : 'workflow.run',
        capabilityBand: advanced ? 'advanced' : 'standard',
        estimatedCost: amount(1, 60),
      });
    } else if (roll < 0.62) {
      const run = pick(open);
      // Mostly under the reservation, sometimes over it (an overrun), now and then free.
      const factor = next() < 0.15 ? 1 + next() * 3 : next() < 0.05 ? 0 : 0.3 + next() * 0.7;
      const actualCost = ((run.estimatedCost * BigInt(Math.round(factor * 1000))) / 1000n / 100n) * 100n;
      send({ type: 'CompleteRun', accountId, runId: run.runId, actualCost });
    } else if (roll < 0.69) {
      send({ type: 'FailRun', accountId, runId: pick(open).runId, reason: 'workflow step timed out' });
    } else if (roll < 0.73) {
      send({ type: 'CancelRun', accountId, runId: pick(open).runId, reason: 'cancelled by operator' });
    } else if (roll < 0.82 && completed.length > 0) {
      const run = pick(completed);
      const room = run.consumed - run.held;
      const part = ((room * BigInt(1 + Math.floor(next() * 100))) / 100n / 100n) * 100n;
      if (part > 0n) {
        send({
          type: 'PlaceSettlementHold',
          accountId,
          holdId: `hold-${holdNo++}`,
          runId: run.runId,
          provider: pick(['model-provider-a', 'model-provider-b']),
          amount: part,
        });
      }
    } else if (roll < 0.88 && held.length > 0) {
      send({
        type: 'ReleaseSettlementHold',
        accountId,
        holdId: pick(held).holdId,
        outcome: next() < 0.8 ? 'paid_out' : 'reversed',
      });
    } else if (roll < 0.94) {
      const expiring = next() < 0.5;
      send({
        type: 'GrantCredits',
        accountId,
        grantId: `grant-${grantNo++}`,
        source: pick(['manual', 'top_up'] as const),
        amount: amount(10, 120),
        ...(expiring ? { expiresAt: iso(now + 30 * 60 * 1000 + Math.floor(next() * 6 * 3600 * 1000)) } : {}),
        ...(next() < 0.3 ? { projectId: pick(projects) } : {}),
      });
    } else if (roll < 0.985) {
      send({ type: 'ExpireCredits', accountId, asOf: iso(now) });
    } else {
      send({ type: 'SuspendAccount', accountId, reason: 'payment overdue' });
    }
  }
  return out;
}

/**
 * Appends `accounts` histories of at least `eventsPerAccount` events each, several accounts at a
 * time and in chunks, so that accounts interleave in the global log. Returns the number appended.
 */
export async function appendHistories(
  store: EventStore,
  {
    accounts,
    eventsPerAccount,
    prefix = 'acct',
    seed = 1,
    chunk = 50,
  }: {
    accounts: number;
    eventsPerAccount: number;
    prefix?: string;
    seed?: number;
    chunk?: number;
  },
): Promise<number> {
  let total = 0;
  const histories = Array.from({ length: accounts }, (_, i) => ({
    streamId: accountStreamId(`${prefix}-${i}`),
    events: accountHistory(`${prefix}-${i}`, seed * 1000 + i, eventsPerAccount),
  }));
  await Promise.all(
    histories.map(async ({ streamId, events }) => {
      for (let from = 0; from < events.length; from += chunk) {
        const slice = events.slice(from, from + chunk);
        await store.append(streamId, slice, from === 0 ? 'no_stream' : BigInt(from - 1));
        total += slice.length;
      }
    }),
  );
  return total;
}
