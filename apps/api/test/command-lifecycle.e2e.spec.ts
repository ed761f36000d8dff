/**
 * What outlives a request: answers that survive a restart, keys claimed while in flight, and the
 * account postures and plan terms that refuse commands.
 */
import { LedgerClient } from '@ledger/client';
import { GROWTH_PLAN, monthAround } from '@ledger/client';
import { startTestLedger, type TestLedger } from '../../../test/support/ledger-api';
import { waitUntil } from '../../../test/support/wait';

let ledger: TestLedger;
let keySeq = 0;
const key = () => `life-${++keySeq}`;
const period = monthAround(new Date());

/** Through the port, so the test runs on either store. */
async function countEvents(streamId: string, type: string): Promise<number> {
  let n = 0;
  for await (const event of ledger.api.infrastructure.eventStore.readStream(streamId)) if (event.type === type) n++;
  return n;
}

beforeAll(async () => {
  ledger = await startTestLedger();
});
afterAll(async () => {
  await ledger?.close();
});

async function send(path: string, body: unknown, idempotencyKey = key()) {
  return ledger.client().command(path, body, idempotencyKey);
}

async function ok(path: string, body: unknown) {
  const response = await send(path, body);
  expect([response.status, response.body]).toEqual([200, expect.anything()]);
  return response;
}

const run = (runId: string, extra: Record<string, unknown> = {}) => ({
  runId,
  projectId: 'p1',
  action: 'workflow.run',
  capabilityBand: 'standard',
  estimatedCost: '2',
  ...extra,
});

it('gives the first answer after a restart of the API', async () => {
  await ok('/v1/accounts', { accountId: 'restart', name: 'Restart' });
  const first = await send('/v1/accounts/restart/grants', { grantId: 'g', source: 'manual', amount: '3' }, 'grant-g');
  const second = await ledger.startAnotherApi();
  try {
    const retried = await new LedgerClient(second.url, 'service-key-all').command(
      '/v1/accounts/restart/grants',
      { grantId: 'g', source: 'manual', amount: '3' },
      'grant-g',
    );
    expect([retried.status, retried.body]).toEqual([first.status, first.body]);
  } finally {
    await second.close();
  }
});

it('lets only one of two simultaneous requests with one key run', async () => {
  await ok('/v1/accounts', { accountId: 'twins', name: 'Twins' });
  const body = { grantId: 'twin', source: 'manual', amount: '1' };
  const answers = await Promise.all([
    send('/v1/accounts/twins/grants', body, 'twin-key'),
    send('/v1/accounts/twins/grants', body, 'twin-key'),
  ]);
  const statuses = answers.map((a) => a.status).sort();
  // Either the second waited for nothing and saw the stored answer, or it found the key in flight.
  expect([
    [200, 200],
    [200, 409],
  ]).toContainEqual(statuses);
  const inFlight = answers.find((a) => a.status === 409);
  if (inFlight) expect(inFlight.body.code).toBe('idempotency_key_in_flight');
  expect(await countEvents('billing-account-twins', 'CreditsGranted')).toBe(1);
});

describe('postures and terms that refuse commands', () => {
  beforeAll(async () => {
    await ok('/v1/accounts', { accountId: 'bare', name: 'No subscription' });
    await ok('/v1/accounts/bare/projects', { projectId: 'p1' });
    await ok('/v1/accounts', { accountId: 'paused', name: 'Suspended' });
    await ok('/v1/accounts/paused/subscription', { plan: GROWTH_PLAN, period });
    await ok('/v1/accounts/paused/projects', { projectId: 'p1' });
    await ok('/v1/accounts/paused/suspend', { reason: 'unpaid invoice' });
    await ok('/v1/accounts', { accountId: 'gone', name: 'Closed' });
    await ok('/v1/accounts/gone/close', {});
    // A period that has ended cannot be started, so this one ends a moment from now, and lapses.
    // On a busy machine the command may take longer than that moment: then it is refused as
    // already ended, and sent again with a longer one.
    await ok('/v1/accounts', { accountId: 'lapsed', name: 'Lapsed' });
    let end = '';
    for (let moment = 500; ; moment *= 2) {
      end = new Date(Date.now() + moment).toISOString();
      const started = await send('/v1/accounts/lapsed/subscription', {
        plan: GROWTH_PLAN,
        period: { start: '2020-01-01T00:00:00Z', end },
      });
      if (started.status === 200) break;
      expect([started.body.code, moment < 60_000]).toEqual(['period_already_ended', true]);
    }
    await ok('/v1/accounts/lapsed/projects', { projectId: 'p1' });
    // Then it lapses: the clock passes the period's end.
    await waitUntil(() => Date.now() > Date.parse(end), 'the period to end', { intervalMs: 50 });
  });

  it.each([
    ['/v1/accounts/bare/runs', run('x'), 409, 'subscription_missing', 'plan'],
    ['/v1/accounts/paused/runs', run('x'), 409, 'account_not_active', 'account_state'],
    ['/v1/accounts/gone/runs', run('x'), 409, 'account_closed', 'account_state'],
    ['/v1/accounts/lapsed/runs', run('x'), 409, 'subscription_period_ended', 'plan'],
  ])('POST %s %j → %d %s at the %s check', async (path, body, status, code, check) => {
    const response = await send(path, body);
    expect([response.status, response.body.code, response.body.details.check]).toEqual([status, code, check]);
  });

  it.each([
    ['/v1/accounts/gone/grants', { grantId: 'g', source: 'manual', amount: '1' }, 409, 'account_closed'],
    ['/v1/accounts/bare/subscription/plan', { plan: GROWTH_PLAN }, 409, 'subscription_missing'],
    ['/v1/accounts/paused/suspend', {}, 409, 'account_not_active'],
    [
      '/v1/accounts/bare/subscription',
      { plan: { ...GROWTH_PLAN, capabilityBands: ['standard'] }, period },
      400,
      'plan_invalid',
    ],
    [
      '/v1/accounts/bare/subscription',
      { plan: GROWTH_PLAN, period: { start: period.end, end: period.start } },
      400,
      'period_invalid',
    ],
    [
      '/v1/accounts/paused/subscription/renewals',
      { period: { start: period.start, end: period.end } },
      409,
      'period_not_after_current',
    ],
    [
      '/v1/accounts/paused/grants',
      { grantId: 'old', source: 'manual', amount: '1', expiresAt: '2001-01-01T00:00:00Z' },
      422,
      'grant_expiry_not_in_future',
    ],
    ['/v1/accounts/paused/grants', { grantId: 'huge', source: 'manual', amount: '1000000000000' }, 200, undefined],
  ])('POST %s %j → %d %s', async (path, body, status, code) => {
    const response = await send(path, body);
    expect([response.status, response.body.code]).toEqual([status, code]);
  });

  it('refuses a grant that would pass the account credit limit', async () => {
    let response = await send('/v1/accounts/bare/grants', {
      grantId: 'big-0',
      source: 'manual',
      amount: '1000000000000',
    });
    for (let i = 1; response.status === 200 && i <= 101; i++) {
      response = await send('/v1/accounts/bare/grants', {
        grantId: `big-${i}`,
        source: 'manual',
        amount: '1000000000000',
      });
    }
    expect([response.status, response.body.code]).toEqual([422, 'account_credit_limit']);
  });

  it('plans decide bands, actions and minimums', async () => {
    await ok('/v1/accounts/paused/reactivate', {});
    await ok('/v1/accounts/paused/grants', { grantId: 'more', source: 'top_up', amount: '50' });
    const band = await send('/v1/accounts/paused/runs', run('b', { action: 'agent.run' }));
    expect([band.status, band.body.code, band.body.details.check]).toEqual([422, 'action_band_mismatch', 'action']);
    const minimum = await send('/v1/accounts/paused/runs', run('m', { estimatedCost: '0.5' }));
    expect([minimum.status, minimum.body.code]).toEqual([422, 'action_cost_below_minimum']);
    expect(minimum.body.details.minimumCost).toBe('1');
  });
});

it('finishes in-flight commands when it is closed', async () => {
  await ok('/v1/accounts', { accountId: 'closing', name: 'Closing' });
  await ok('/v1/accounts/closing/subscription', { plan: GROWTH_PLAN, period });
  await ok('/v1/accounts/closing/projects', { projectId: 'p1' });
  const api = await ledger.startAnotherApi();
  const client = new LedgerClient(api.url, 'service-key-all');
  const sent = Array.from({ length: 30 }, (_, i) =>
    client.command('/v1/accounts/closing/runs', run(`c${i}`), `closing-${i}`).then(
      (response) => response.status,
      () => 'not connected',
    ),
  );
  // Closed once the first answer is in, with the others on their way (a condition, not a delay:
  // on a busy machine 20 ms may pass before any request has even been sent).
  await Promise.race(sent);
  await api.close();
  const outcomes = await Promise.all(sent);
  // Every request that reached the server got its full answer; none was cut off half-way.
  expect(outcomes.every((o) => o === 200 || o === 'not connected')).toBe(true);
  expect(await countEvents('billing-account-closing', 'RunAccepted')).toBe(outcomes.filter((o) => o === 200).length);
});
