/**
 * Builders for the domain's tests: principals, contexts, a default plan, credit amounts, and a
 * runner that applies commands through decide + evolve the way the command side does.
 */
import type { CommandOf, CommandType, LedgerCommand } from './commands';
import { decide, type Decision, type DecisionContext, type Principal, type Role } from './decide';
import type { EventOf, EventType, LedgerEvent } from './events';
import { evolve, fold } from './evolve';
import type { Instant } from './fields';
import { parseCredits, type Credits } from './money';
import type { Period, PlanTerms } from './plan';
import type { Rejection } from './rejections';
import { initialState, type AccountState } from './state';

export const ACCOUNT = 'acct-1';
export const PROJECT = 'proj-a';
export const T0: Instant = '2026-11-01T00:00:00.000Z';
export const PERIOD: Period = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
export const NEXT_PERIOD: Period = { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' };

/** Credits from a decimal string, through the ledger's own parser ("24" → 240000n). */
export function credits(text: string): Credits {
  const parsed = parseCredits(text, { positive: false });
  if (!parsed.ok) throw new Error(`test amount "${text}": ${parsed.message}`);
  return parsed.value;
}

export function principal(overrides: Partial<Principal> = {}): Principal {
  return { id: 'svc-runner', role: 'service' as Role, accounts: '*', ...overrides };
}

export function context(now: Instant = T0, who: Principal = principal()): DecisionContext {
  return { principal: who, now };
}

/** Adds milliseconds to an instant. */
export function at(base: Instant, plusMs: number): Instant {
  return new Date(Date.parse(base) + plusMs).toISOString();
}

export const DAY = 24 * 60 * 60 * 1000;

export function defaultPlan(overrides: Partial<PlanTerms> = {}): PlanTerms {
  return {
    planId: 'growth',
    name: 'Growth launch plan',
    includedCredits: credits('500'),
    capabilityBands: ['standard', 'advanced'],
    rateCard: [
      { action: 'workflow.run', capabilityBand: 'standard', minimumCost: credits('1') },
      { action: 'agent.run', capabilityBand: 'advanced', minimumCost: 0n },
    ],
    creditPriceFen: 100n,
    settlementThresholdFen: 10000n,
    ...overrides,
  };
}

/** A command with the account id filled in. */
export function cmd<T extends CommandType>(
  type: T,
  fields: Omit<CommandOf<T>, 'type' | 'accountId'> & { accountId?: string },
): CommandOf<T> {
  return { accountId: ACCOUNT, ...fields, type } as CommandOf<T>;
}

export interface Step {
  readonly command: LedgerCommand;
  readonly now?: Instant;
  readonly principal?: Principal;
}

export interface Run {
  state: AccountState;
  events: LedgerEvent[];
  decisions: Decision[];
}

/**
 * Decides each command against the state so far and folds in its events. Throws on the first
 * rejection unless `allowRejections`, so a setup that silently fails cannot pass a test.
 */
export function runCommands(
  steps: ReadonlyArray<LedgerCommand | Step>,
  { state = initialState(), now = T0, allowRejections = false } = {},
): Run {
  const events: LedgerEvent[] = [];
  const decisions: Decision[] = [];
  for (const step of steps) {
    const s: Step = 'command' in step ? step : { command: step };
    const decision = decide(s.command, state, context(s.now ?? now, s.principal ?? principal()));
    decisions.push(decision);
    if (!decision.ok) {
      if (allowRejections) continue;
      throw new Error(
        `setup command ${s.command.type} was rejected: ${decision.rejection.code} ${decision.rejection.message}`,
      );
    }
    fold(decision.events, state);
    events.push(...decision.events);
  }
  return { state, events, decisions };
}

/** Decides one command; folds its events into `state` when accepted. */
export function apply(state: AccountState, command: LedgerCommand, now: Instant = T0, who = principal()): Decision {
  const decision = decide(command, state, context(now, who));
  if (decision.ok) for (const event of decision.events) evolve(state, event);
  return decision;
}

/** The commands that open the default account, subscribe it to the default plan and attach a project. */
export function openedAccountCommands(plan: PlanTerms = defaultPlan(), period: Period = PERIOD): LedgerCommand[] {
  return [
    cmd('OpenBillingAccount', { name: 'Acme' }),
    cmd('StartSubscription', { plan, period }),
    cmd('AttachProject', { projectId: PROJECT, name: 'Project A' }),
  ];
}

/** An opened, subscribed account with the default project attached. */
export function openedAccount(plan: PlanTerms = defaultPlan(), period: Period = PERIOD): AccountState {
  return runCommands(openedAccountCommands(plan, period)).state;
}

export function acceptRunCommand(
  runId: string,
  estimatedCost: Credits,
  fields: Partial<Omit<CommandOf<'AcceptRun'>, 'type'>> = {},
): CommandOf<'AcceptRun'> {
  return cmd('AcceptRun', {
    runId,
    projectId: PROJECT,
    action: 'workflow.run',
    capabilityBand: 'standard',
    estimatedCost,
    ...fields,
  });
}

export function expectAccepted(decision: Decision): LedgerEvent[] {
  if (!decision.ok)
    throw new Error(`expected acceptance, got ${decision.rejection.code}: ${decision.rejection.message}`);
  return decision.events;
}

export function expectRejected(decision: Decision): Rejection {
  if (decision.ok) throw new Error(`expected a rejection, got ${decision.events.map((e) => e.type).join(', ')}`);
  return decision.rejection;
}

/** The event types of a decision, in order. */
export const typesOf = (events: readonly LedgerEvent[]): string[] => events.map((event) => event.type);

/** The events of one type, with their data narrowed. */
export function eventsOfType<T extends EventType>(events: readonly LedgerEvent[], type: T): Array<EventOf<T>['data']> {
  return events.filter((event): event is EventOf<T> & LedgerEvent => event.type === type).map((event) => event.data);
}

/** A state drawn as text, Maps, Sets and bigints included: equal text, equal state (to prove nothing mutated it). */
export function picture(state: AccountState): string {
  return JSON.stringify(state, (_key, value: unknown) => {
    if (typeof value === 'bigint') return `${value}n`;
    if (value instanceof Map) return { map: [...value.entries()] };
    if (value instanceof Set) return { set: [...value.values()] };
    return value;
  });
}
