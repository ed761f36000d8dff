/**
 * The seed page's account, made through the real command path: a Growth plan with 500 included
 * credits, three projects, runs that completed, failed, were cancelled or are still running, and a
 * settlement hold — leaving included 500, reserved 24, consumed 44 (8 held), available 432, and a
 * settlement threshold of 100 CNY. Keys are derived from the account, so running it twice appends
 * nothing the second time.
 */
import type { LedgerClient, LedgerResponse } from './ledger-client';

export const SEED_PROJECTS = [
  { projectId: 'proj-research', name: 'Research assistant' },
  { projectId: 'proj-support', name: 'Support triage' },
  { projectId: 'proj-ops', name: 'Ops automation' },
] as const;

export const GROWTH_PLAN = {
  planId: 'growth-launch',
  name: 'Growth launch plan',
  includedCredits: '500',
  capabilityBands: ['standard', 'advanced'],
  rateCard: [
    { action: 'workflow.run', capabilityBand: 'standard', minimumCost: '1' },
    { action: 'agent.run', capabilityBand: 'advanced', minimumCost: '1' },
  ],
  creditPriceFen: '100',
  settlementThresholdFen: '10000',
};

/**
 * The demo's alert rules: available credits below 450 fires when the seed's runs take available
 * from 500 down to 432; held credits reaching the 100 CNY settlement threshold does not (8 CNY).
 */
export const SEED_ALERT_RULES = [
  { ruleId: 'low-balance', kind: 'available_below', threshold: '450' },
  { ruleId: 'settlement-ready', kind: 'settlement_threshold_reached' },
] as const;

/** The calendar month around `now`: the seed's subscription period. */
export function monthAround(now: Date): { start: string; end: string } {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { start: start.toISOString(), end: end.toISOString() };
}

/**
 * `posture`: the steps that make the account (open it, subscribe, attach its projects), which a
 * history recorded before the seed has already made (the demo workspace's, see demo-history.ts).
 */
type Step = { name: string; path: string; body: Record<string, unknown>; posture?: true };

export function seedSteps(accountId: string, period: { start: string; end: string }): Step[] {
  const account = `/v1/accounts/${accountId}`;
  const run = (runId: string, projectId: string, action: string, band: string, estimatedCost: string): Step => ({
    name: `accept ${runId}`,
    path: `${account}/runs`,
    body: { runId, projectId, action, capabilityBand: band, estimatedCost },
  });
  return [
    { name: 'open account', path: '/v1/accounts', body: { accountId, name: 'Demo workspace' }, posture: true },
    { name: 'start subscription', path: `${account}/subscription`, body: { plan: GROWTH_PLAN, period }, posture: true },
    ...SEED_PROJECTS.map((p) => ({
      name: `attach ${p.projectId}`,
      path: `${account}/projects`,
      body: { ...p },
      posture: true as const,
    })),
    // alerts (issue #17): a low-balance rule that the runs below cross (it fires), and one that waits
    ...SEED_ALERT_RULES.map((rule) => ({
      name: `rule ${rule.ruleId}`,
      path: `${account}/alert-rules`,
      body: { ...rule },
    })),
    run('run-001', 'proj-research', 'workflow.run', 'standard', '20'),
    { name: 'complete run-001', path: `${account}/runs/run-001/complete`, body: { actualCost: '18' } },
    run('run-002', 'proj-support', 'agent.run', 'advanced', '30'),
    { name: 'complete run-002', path: `${account}/runs/run-002/complete`, body: { actualCost: '26' } },
    {
      name: 'hold for settlement',
      path: `${account}/settlement-holds`,
      body: { holdId: 'hold-001', runId: 'run-002', provider: 'model-provider-a', amount: '8' },
    },
    run('run-003', 'proj-research', 'workflow.run', 'standard', '10'),
    { name: 'fail run-003', path: `${account}/runs/run-003/fail`, body: { reason: 'workflow step timed out' } },
    run('run-004', 'proj-ops', 'workflow.run', 'standard', '5'),
    { name: 'cancel run-004', path: `${account}/runs/run-004/cancel`, body: { reason: 'cancelled by operator' } },
    run('run-005', 'proj-research', 'workflow.run', 'standard', '12'),
    run('run-006', 'proj-ops', 'agent.run', 'advanced', '12'),
  ];
}

/**
 * Sends every step (`afterHistory`: all but the posture steps, which the history made); returns the
 * last receipt. Throws on the first answer that is not a 200.
 */
export async function runSeedScenario(
  client: LedgerClient,
  accountId: string,
  now = new Date(),
  onStep: (name: string) => void = () => undefined,
  { afterHistory = false }: { afterHistory?: boolean } = {},
): Promise<LedgerResponse> {
  let last: LedgerResponse | undefined;
  for (const [index, step] of seedSteps(accountId, monthAround(now)).entries()) {
    if (afterHistory && step.posture) continue;
    last = await client.command(step.path, step.body, `seed:${accountId}:${index}`);
    if (last.status !== 200) {
      throw new Error(`seed step "${step.name}" answered ${last.status}: ${JSON.stringify(last.body)}`);
    }
    onStep(step.name);
  }
  return last!;
}

/**
 * Seeds the account unless its stream already exists: the event store (one event by revision), not
 * a read model, says so, so there is no race with the projector. Returns the last receipt, or
 * 'present'. Seeding twice would replay the keys, and in another month clash with their bodies.
 */
export async function seedUnlessPresent(
  client: LedgerClient,
  accountId: string,
  now = new Date(),
  onStep: (name: string) => void = () => undefined,
  /** Records the account's past before the seed (it then makes the account: the posture steps are skipped). */
  recordHistory?: (periodStart: Date) => Promise<void>,
): Promise<LedgerResponse | 'present'> {
  const first = await client.get(`/v1/accounts/${accountId}/events/0`);
  if (first.status === 200) return 'present';
  if (first.body.code !== 'event_not_found') {
    throw new Error(`could not look for account ${accountId}: ${first.status} ${JSON.stringify(first.body)}`);
  }
  if (!recordHistory) return runSeedScenario(client, accountId, now, onStep);
  await recordHistory(new Date(monthAround(now).start));
  onStep('history');
  return runSeedScenario(client, accountId, now, onStep, { afterHistory: true });
}
