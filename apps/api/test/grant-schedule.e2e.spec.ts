/**
 * Money rules over HTTP, end to end: validity windows, expiry on time by the grant scheduler,
 * renewals that leave the current period alone, reversed holds, closing, and whole-fen values —
 * each figure read back from the read models the real projector writes.
 */
import { randomUUID } from 'node:crypto';
import { sendAccepted, TEST_PLAN } from '../../../test/support/accounts';
import { startTestLedger, type TestLedger } from '../../../test/support/ledger-api';
import { startProjector, type RunningProjector } from '../../../test/support/projector';
import { waitFor } from '../../../test/support/wait';

let ledger: TestLedger;
let projector: RunningProjector;

beforeAll(async () => {
  // The scheduler is driven by the tests (tick), not by its timer.
  ledger = await startTestLedger({ grantSchedulerIntervalMs: 0 });
  projector = startProjector(ledger);
});
afterAll(async () => {
  await projector?.stop();
  await ledger?.close();
});

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

const send = (path: string, body: unknown) => sendAccepted(ledger.client(), path, body);
const plan = (overrides: Record<string, unknown> = {}) => ({ ...TEST_PLAN, ...overrides });

async function openAccount(accountId: string, period: { start: string; end: string }, terms = plan()) {
  await send('/v1/accounts', { accountId, name: accountId });
  await send(`/v1/accounts/${accountId}/subscription`, { plan: terms, period });
  return send(`/v1/accounts/${accountId}/projects`, { projectId: 'p1' });
}

const overview = async (accountId: string, position: string | null) => {
  const at = position ? `?atLeastPosition=${position}` : '';
  const response = await ledger.client('dashboard-key-all').get(`/v1/accounts/${accountId}/overview${at}`);
  expect(response.status).toBe(200);
  return response.body;
};

/** Resolves once the wall clock has passed `instant`: the only way to let real time happen. */
async function clockPasses(instant: string): Promise<void> {
  for (;;) {
    const left = Date.parse(instant) - Date.now();
    if (left < 0) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(left + 1, 200)));
  }
}

/** Ticks until the scheduler has appended for `accountId`, then returns the last position it wrote. */
async function schedulerRecords(accountId: string): Promise<string> {
  // (the grants read model may not have caught up with the grant at the first ticks)
  const receipt = await waitFor(
    async () => (await ledger.api.grantScheduler.tick()).receipts.find((r) => r.accountId === accountId),
    (found) => found?.position != null,
    `the scheduler to record something for ${accountId}`,
    { intervalMs: 50 },
  );
  return receipt!.position!;
}

/**
 * Opens an account, then does `act` with an instant a moment from now, which `act` must finish
 * before: what it saw is only the state before the instant if it did. On a busy machine the
 * moment may pass first (a command that took longer, or was refused because its instant had
 * passed): then it starts again with a new account and a moment twice as long.
 */
async function beforeAnInstant<T>(
  name: string,
  act: (accountId: string, instant: string) => Promise<T>,
): Promise<{ accountId: string; instant: string; seen: T }> {
  for (let moment = 1500; ; moment *= 2) {
    const accountId = `${name}-${moment}`;
    const now = Date.now();
    await openAccount(accountId, { start: iso(now - DAY), end: iso(now + 30 * DAY) });
    const instant = iso(Date.now() + moment);
    const tooLate = () => Date.now() >= Date.parse(instant) && moment < 60_000;
    let seen: T;
    try {
      seen = await act(accountId, instant);
    } catch (error) {
      if (tooLate()) continue;
      throw error;
    }
    if (!tooLate()) return { accountId, instant, seen };
  }
}

describe('lapsed credits expire on time, without another command', () => {
  it('the scheduler records the lapse, and the overview stops showing them as available', async () => {
    const {
      accountId,
      instant: expiresAt,
      seen: before,
    } = await beforeAnInstant('acct-lapse', async (accountId, expiresAt) => {
      const granted = await send(`/v1/accounts/${accountId}/grants`, {
        grantId: 'short',
        source: 'top_up',
        amount: '7',
        expiresAt,
      });
      return (await overview(accountId, granted.position)).buckets;
    });
    expect(before).toMatchObject({ available: '107', expired: '0' });

    await clockPasses(expiresAt);
    const position = await schedulerRecords(accountId);
    expect((await overview(accountId, position)).buckets).toMatchObject({
      bonus: '7',
      available: '100',
      expired: '7',
    });
    // once recorded (and projected, as the overview above shows), nothing more is due for it
    const again = await ledger.api.grantScheduler.tick();
    expect(again.receipts.filter((r) => r.accountId === accountId)).toEqual([]);
  });

  it('a grant effective later joins available when its window begins', async () => {
    const {
      accountId,
      instant: effectiveAt,
      seen: granted,
    } = await beforeAnInstant('acct-later', (accountId, effectiveAt) =>
      send(`/v1/accounts/${accountId}/grants`, { grantId: 'later', source: 'manual', amount: '5', effectiveAt }),
    );
    expect(granted.events[0].data).toMatchObject({ effectiveAt });
    expect(granted.buckets).toMatchObject({ bonus: '0', available: '100' });
    await clockPasses(effectiveAt);
    const position = await schedulerRecords(accountId);
    expect((await overview(accountId, position)).buckets).toMatchObject({ bonus: '5', available: '105' });
  });
});

describe('a renewal leaves the current period’s credits alone until it ends', () => {
  it('the issue’s sequence: a run failed after the renewal gives back credits that are still in force', async () => {
    const now = Date.now();
    const E = now + 30 * DAY;
    await openAccount('acct-renew', { start: iso(now - DAY), end: iso(E) });
    await send('/v1/accounts/acct-renew/runs', {
      runId: 'r1',
      projectId: 'p1',
      action: 'workflow.run',
      capabilityBand: 'standard',
      estimatedCost: '60',
    });
    const renewed = await send('/v1/accounts/acct-renew/subscription/renewals', {
      period: { start: iso(E), end: iso(E + 30 * DAY) },
    });
    // nothing expired, the next period's 100 scheduled for its start
    expect(renewed.buckets).toMatchObject({ included: '100', reserved: '60', available: '40', expired: '0' });
    const wallet = (await overview('acct-renew', renewed.position)).relationship.creditWallet;
    expect(wallet).toMatchObject({ available: '40', included: '100', scheduled: '100' });
    const failed = await send('/v1/accounts/acct-renew/runs/r1/fail', {});
    expect(failed.buckets).toMatchObject({ included: '100', available: '100', expired: '0' });
    const read = await overview('acct-renew', failed.position);
    expect(read.buckets).toMatchObject({ included: '100', available: '100', expired: '0' });
  });
});

describe('settlement holds and closing', () => {
  it('values holds in whole fen, makes reversed credits holdable again, and closes with nothing available', async () => {
    const now = Date.now();
    await openAccount(
      'acct-close',
      { start: iso(now - DAY), end: iso(now + 30 * DAY) },
      plan({ creditPriceFen: '33', settlementThresholdFen: '99' }),
    );
    const run = { projectId: 'p1', action: 'workflow.run', capabilityBand: 'standard', estimatedCost: '5' };
    await send('/v1/accounts/acct-close/runs', { runId: 'r1', ...run });
    await send('/v1/accounts/acct-close/runs/r1/complete', { actualCost: '5' });
    const held = await send('/v1/accounts/acct-close/settlement-holds', {
      holdId: 'h1',
      runId: 'r1',
      provider: 'openai',
      amount: '3.0001',
    });
    // 3.0001 × 33 = 99.0033 fen: 99 whole fen, which reaches a 99-fen threshold
    expect(held.settlement).toEqual({ thresholdFen: '99', heldValueFen: '99', reached: true });
    expect((await overview('acct-close', held.position)).settlement).toMatchObject({
      heldValueFen: '99',
      heldValueCny: '0.99',
      reached: true,
    });

    await send('/v1/accounts/acct-close/settlement-holds/h1/release', { outcome: 'reversed' });
    // all 5 consumed credits may be held again
    await send('/v1/accounts/acct-close/settlement-holds', {
      holdId: 'h2',
      runId: 'r1',
      provider: 'openai',
      amount: '5',
    });
    await send('/v1/accounts/acct-close/settlement-holds/h2/release', { outcome: 'paid_out' });

    const closed = await send('/v1/accounts/acct-close/close', {});
    expect(closed.events.map((e: { type: string }) => e.type)).toEqual(['CreditsExpired', 'BillingAccountClosed']);
    expect(closed.events[0].data).toMatchObject({ amount: '95', reason: 'account_closed' });
    const read = await overview('acct-close', closed.position);
    expect(read.buckets).toMatchObject({ included: '100', available: '0', consumed: '5', expired: '95' });
    const usage = await ledger.client('dashboard-key-all').get(`/v1/accounts/acct-close/usage?kind=expiry`);
    expect(usage.body.rows.map((row: { reason: string; amount: string }) => [row.reason, row.amount])).toEqual([
      ['account_closed', '95'],
    ]);
  });

  it('refuses a subscription whose period has already ended', async () => {
    await send('/v1/accounts', { accountId: 'acct-past', name: 'Past' });
    const response = await ledger
      .client()
      .command(
        '/v1/accounts/acct-past/subscription',
        { plan: plan(), period: { start: iso(Date.now() - 30 * DAY), end: iso(Date.now() - DAY) } },
        randomUUID(),
      );
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ code: 'period_already_ended' });
  });
});
