/**
 * Alert rules over HTTP, end to end: defined and removed by commands, fired by the command whose
 * movement crossed (in its receipt), listed from the `alerts` read models the real projector
 * writes, the usage ledger filtered to the rows that fired one, and a credits_expiring rule fired
 * on time by the grant scheduler.
 */
import { randomUUID } from 'node:crypto';
import { openTestAccount, sendAccepted } from '../../../test/support/accounts';
import { startTestLedger, type TestLedger } from '../../../test/support/ledger-api';
import { startProjector, type RunningProjector } from '../../../test/support/projector';
import { waitFor } from '../../../test/support/wait';

let ledger: TestLedger;
let projector: RunningProjector;

beforeAll(async () => {
  // The scheduler is driven by the test (tick), not by its timer.
  ledger = await startTestLedger({ grantSchedulerIntervalMs: 0 });
  projector = startProjector(ledger);
});
afterAll(async () => {
  await projector?.stop();
  await ledger?.close();
});

const DAY = 24 * 60 * 60 * 1000;

const send = (path: string, body: unknown) => sendAccepted(ledger.client(), path, body);
const openAccount = (accountId: string) => openTestAccount(ledger.client(), accountId);

const accept = (accountId: string, runId: string, estimatedCost: string) =>
  send(`/v1/accounts/${accountId}/runs`, {
    runId,
    projectId: 'p1',
    action: 'workflow.run',
    capabilityBand: 'standard',
    estimatedCost,
  });

const read = async (path: string, position: string) => {
  const response = await ledger.client('dashboard-key-all').get(`${path}?atLeastPosition=${position}`);
  expect(response.status).toBe(200);
  return response.body;
};

const typesOf = (receipt: Record<string, unknown>) => (receipt.events as Array<{ type: string }>).map((e) => e.type);

describe('alert rules over HTTP', () => {
  it('a crossing fires once, in the receipt of the command that crossed, and the read models show it', async () => {
    const accountId = 'alerts-acme';
    await openAccount(accountId);
    const defined = await send(`/v1/accounts/${accountId}/alert-rules`, {
      ruleId: 'low',
      kind: 'available_below',
      threshold: '25.50',
    });
    expect(typesOf(defined)).toEqual(['AlertRuleDefined']);
    expect(defined.events[0].data).toEqual({ accountId, ruleId: 'low', kind: 'available_below', threshold: '25.5' });

    const before = await read(`/v1/accounts/${accountId}/alert-rules`, defined.position);
    expect(before.rules).toEqual([
      expect.objectContaining({
        ruleId: 'low',
        kind: 'available_below',
        threshold: '25.5',
        firing: false,
        firedCount: '0',
      }),
    ]);

    await accept(accountId, 'r1', '50');
    const crossed = await accept(accountId, 'r2', '30');
    expect(typesOf(crossed)).toEqual(['RunAccepted', 'CreditsReserved', 'AlertFired']);
    expect(crossed.events[2].data).toEqual({
      accountId,
      ruleId: 'low',
      kind: 'available_below',
      threshold: '25.5',
      observed: '20',
      subject: null,
    });
    // still below: no second firing
    const below = await accept(accountId, 'r3', '1');
    expect(typesOf(below)).toEqual(['RunAccepted', 'CreditsReserved']);

    const firing = await read(`/v1/accounts/${accountId}/alert-rules`, below.position);
    expect(firing.rules).toEqual([
      expect.objectContaining({ ruleId: 'low', firing: true, firedCount: '1', lastObserved: '20' }),
    ]);
    expect(firing.recent).toEqual([
      expect.objectContaining({
        eventId: crossed.events[2].eventId,
        status: 'fired',
        threshold: '25.5',
        observed: '20',
        commandId: crossed.commandId,
        streamRevision: crossed.events[2].revision,
      }),
    ]);

    // The usage ledger, filtered to the rows that fired an alert: the reservation that crossed.
    const usage = await read(`/v1/accounts/${accountId}/usage`, below.position);
    const fired = await ledger
      .client('dashboard-key-all')
      .get(`/v1/accounts/${accountId}/usage?alerts=fired&atLeastPosition=${below.position}`);
    expect(fired.status).toBe(200);
    expect(fired.body.rows.map((row: { eventId: string }) => row.eventId)).toEqual([crossed.events[1].eventId]);
    expect(usage.rows.length).toBeGreaterThan(1);
    const csv = await ledger.client('dashboard-key-all').get(`/v1/accounts/${accountId}/usage.csv?alerts=fired`);
    expect(csv.status).toBe(200);
    expect((csv.body as unknown as string).trim().split('\n')).toHaveLength(2);

    // Credits back above the threshold clear it; removing the rule takes it off the list.
    const released = await send(`/v1/accounts/${accountId}/runs/r2/fail`, {});
    expect(typesOf(released)).toEqual(['ReservationReleased', 'RunFailed', 'AlertCleared']);
    const removed = await send(`/v1/accounts/${accountId}/alert-rules/low/remove`, {});
    expect(typesOf(removed)).toEqual(['AlertRuleRemoved']);
    const after = await read(`/v1/accounts/${accountId}/alert-rules`, removed.position);
    expect(after.rules).toEqual([]);
    expect(after.recent.map((f: { status: string }) => f.status)).toEqual(['cleared', 'fired']);
  });

  it('answers typed 4xx for bad rules, conflicts, unknown rules and read-only keys', async () => {
    const accountId = 'alerts-typed';
    await openAccount(accountId);
    const path = `/v1/accounts/${accountId}/alert-rules`;
    const cases: Array<[unknown, number, string]> = [
      [{ ruleId: 'a', kind: 'available_below', threshold: '0' }, 400, 'amount_not_positive'],
      [{ ruleId: 'a', kind: 'available_below' }, 400, 'alert_threshold_invalid'],
      [{ ruleId: 'a', kind: 'available_below_share', threshold: '1.5' }, 400, 'alert_threshold_invalid'],
      [{ ruleId: 'a', kind: 'credits_expiring', threshold: '400' }, 400, 'alert_threshold_invalid'],
      [{ ruleId: 'a', kind: 'account_suspended', threshold: '3' }, 400, 'alert_threshold_invalid'],
      [{ ruleId: 'a', kind: 'balance_exploded' }, 400, 'validation_failed'],
      [{ ruleId: 'bad id!', kind: 'account_suspended' }, 400, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const answer = await ledger.client().command(path, body, randomUUID());
      expect([body, answer.status, answer.body.code]).toEqual([body, status, code]);
      expect(answer.body.message).toEqual(expect.any(String));
    }
    await send(path, { ruleId: 'share', kind: 'available_below_share', threshold: '0.2' });
    const same = await send(path, { ruleId: 'share', kind: 'available_below_share', threshold: '0.20' });
    expect(same.events).toEqual([]);
    const other = await ledger
      .client()
      .command(path, { ruleId: 'share', kind: 'available_below_share', threshold: '0.3' }, randomUUID());
    expect([other.status, other.body.code]).toEqual([409, 'alert_rule_conflict']);
    const unknown = await ledger.client().command(`${path}/nope/remove`, {}, randomUUID());
    expect([unknown.status, unknown.body.code]).toEqual([404, 'alert_rule_not_found']);
    const dashboard = await ledger
      .client('dashboard-key-all')
      .command(path, { ruleId: 'x', kind: 'account_suspended' }, randomUUID());
    expect([dashboard.status, dashboard.body.code]).toEqual([403, 'role_forbidden']);
    const missing = await ledger.client('dashboard-key-all').get('/v1/accounts/alerts-nobody/alert-rules');
    expect([missing.status, missing.body.code]).toEqual([404, 'account_not_found']);
  });

  it('takes rules through the batch endpoint like any command', async () => {
    const accountId = 'alerts-batch';
    await openAccount(accountId);
    const answer = await ledger.client().commandBatch([
      {
        type: 'DefineAlertRule',
        params: { accountId },
        idempotencyKey: randomUUID(),
        body: { ruleId: 'off', kind: 'account_suspended' },
      },
      { type: 'SuspendAccount', params: { accountId }, idempotencyKey: randomUUID(), body: {} },
      { type: 'RemoveAlertRule', params: { accountId, ruleId: 'off' }, idempotencyKey: randomUUID(), body: {} },
    ]);
    expect(answer.status).toBe(200);
    const results = answer.body.results as Array<{ status: number; body: { events: Array<{ type: string }> } }>;
    expect(results.map((r) => [r.status, typesOf(r.body)])).toEqual([
      [200, ['AlertRuleDefined']],
      [200, ['AccountSuspended', 'AlertFired']],
      [200, ['AlertRuleRemoved']],
    ]);
  });

  it('the grant scheduler fires a credits_expiring rule at expiresAt − N days', async () => {
    const accountId = 'alerts-expiring';
    await openAccount(accountId);
    const expiresAt = Date.now() + 10 * DAY;
    await send(`/v1/accounts/${accountId}/grants`, {
      grantId: 'top-up-1',
      source: 'top_up',
      amount: '40',
      expiresAt: new Date(expiresAt).toISOString(),
    });
    const defined = await send(`/v1/accounts/${accountId}/alert-rules`, {
      ruleId: 'soon',
      kind: 'credits_expiring',
      threshold: '7',
    });
    expect(typesOf(defined)).toEqual(['AlertRuleDefined']);
    // Wait until the read models the scheduler asks hold the grant and the rule.
    await read(`/v1/accounts/${accountId}/alert-rules`, defined.position);

    const early = await ledger.api.grantScheduler.tick(new Date(expiresAt - 7 * DAY - 60_000));
    expect(early.receipts.find((r) => r.accountId === accountId)).toBeUndefined();

    const dueAt = new Date(expiresAt - 7 * DAY);
    const receipt = await waitFor(
      async () => (await ledger.api.grantScheduler.tick(dueAt)).receipts.find((r) => r.accountId === accountId),
      (found) => found !== undefined,
      `the scheduler to send for ${accountId}`,
      { intervalMs: 50 },
    );
    expect(receipt!.events.map((e) => [e.type, e.data])).toEqual([
      [
        'AlertFired',
        { accountId, ruleId: 'soon', kind: 'credits_expiring', threshold: '7', observed: '40', subject: 'top-up-1' },
      ],
    ]);
    const listed = await read(`/v1/accounts/${accountId}/alert-rules`, receipt!.position!);
    expect(listed.rules).toEqual([expect.objectContaining({ ruleId: 'soon', firing: true, lastSubject: 'top-up-1' })]);
    // Firing now, the rule is no longer due: the scheduler leaves the account alone.
    const later = await ledger.api.grantScheduler.tick(new Date(expiresAt - 6 * DAY));
    expect(later.receipts.find((r) => r.accountId === accountId)).toBeUndefined();
  });
});
