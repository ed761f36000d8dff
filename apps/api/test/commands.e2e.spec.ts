/**
 * The command API end to end: real HTTP into the real Nest app, on a real Postgres.
 */
import { fold, invariantViolations } from '@ledger/domain';
import { accountStreamId, toLedgerEvent } from '@ledger/event-store';
import { LedgerClient } from '@ledger/client';
import { runSeedScenario, GROWTH_PLAN, monthAround } from '@ledger/client';
import { startTestLedger, testEventStoreKind, type TestLedger } from '../../../test/support/ledger-api';
import { waitUntil } from '../../../test/support/wait';

const onPostgres = testEventStoreKind() === 'postgres' ? it : it.skip;

let ledger: TestLedger;
let keySeq = 0;
const key = () => `key-${++keySeq}`;

beforeAll(async () => {
  ledger = await startTestLedger();
});
afterAll(async () => {
  await ledger?.close();
});

/** Through the port, so the test runs on either store. */
function eventCount(): Promise<number> {
  return ledger.api.infrastructure.eventStore.countAfter();
}

async function foldedAccount(accountId: string) {
  const events = [];
  for await (const recorded of ledger.api.infrastructure.eventStore.readStream(accountStreamId(accountId))) {
    events.push(toLedgerEvent(recorded));
  }
  return fold(events);
}

/** An account with a subscription, the given projects and, optionally, a top-up. */
async function preparedAccount(accountId: string, topUp?: string) {
  const client = ledger.client();
  const period = monthAround(new Date());
  const steps: Array<[string, unknown]> = [
    ['/v1/accounts', { accountId, name: accountId }],
    [`/v1/accounts/${accountId}/subscription`, { plan: { ...GROWTH_PLAN, includedCredits: '0' }, period }],
    [`/v1/accounts/${accountId}/projects`, { projectId: 'p1' }],
  ];
  if (topUp) steps.push([`/v1/accounts/${accountId}/grants`, { grantId: 'g1', source: 'top_up', amount: topUp }]);
  for (const [path, body] of steps) {
    const response = await client.command(path, body, key());
    expect(response.status).toBe(200);
  }
}

describe('the seed scenario', () => {
  it('reproduces the seed page figures', async () => {
    const receipt = await runSeedScenario(ledger.client(), 'acct-seed');
    expect(receipt.body).toMatchObject({
      buckets: {
        included: '500',
        bonus: '0',
        reserved: '24',
        consumed: '44',
        hold: '8',
        expired: '0',
        available: '432',
      },
      settlement: { thresholdFen: '10000', heldValueFen: '800', reached: false },
    });
    expect(invariantViolations(await foldedAccount('acct-seed'))).toEqual([]);
  });

  it('appends nothing when run again with the same keys', async () => {
    const before = await eventCount();
    const again = await runSeedScenario(ledger.client(), 'acct-seed');
    expect(again.body).toMatchObject({ buckets: { available: '432' } });
    expect(await eventCount()).toBe(before);
  });
});

describe('idempotency', () => {
  it('answers a retried command with its first answer and appends nothing', async () => {
    await preparedAccount('idem', '100');
    const client = ledger.client();
    const body = {
      runId: 'r1',
      projectId: 'p1',
      action: 'workflow.run',
      capabilityBand: 'standard',
      estimatedCost: '10',
    };
    const first = await client.command('/v1/accounts/idem/runs', body, 'accept-r1');
    expect(first.status).toBe(200);
    const count = await eventCount();
    const retry = await client.command('/v1/accounts/idem/runs', { ...body }, 'accept-r1');
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(await eventCount()).toBe(count);
  });

  it('replays a rejection too', async () => {
    const client = ledger.client();
    const body = {
      runId: 'big',
      projectId: 'p1',
      action: 'workflow.run',
      capabilityBand: 'standard',
      estimatedCost: '1000',
    };
    const first = await client.command('/v1/accounts/idem/runs', body, 'too-big');
    expect(first.status).toBe(402);
    await client.command('/v1/accounts/idem/grants', { grantId: 'g-more', source: 'manual', amount: '5000' }, key());
    const retry = await client.command('/v1/accounts/idem/runs', body, 'too-big');
    expect([retry.status, retry.body]).toEqual([first.status, first.body]);
  });

  it('refuses a key reused for a different body', async () => {
    const client = ledger.client();
    await client.command('/v1/accounts/idem/projects', { projectId: 'p-a' }, 'attach');
    const count = await eventCount();
    const reused = await client.command('/v1/accounts/idem/projects', { projectId: 'p-b' }, 'attach');
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('idempotency_key_reused');
    expect(await eventCount()).toBe(count);
  });

  it('needs a key', async () => {
    const response = await ledger.client().command('/v1/accounts', { accountId: 'nokey', name: 'x' }, null);
    expect([response.status, response.body.code]).toEqual([400, 'idempotency_key_missing']);
  });
});

describe('identity', () => {
  it('refuses a missing or unknown key with 401', async () => {
    for (const apiKey of ['', 'not-a-key']) {
      const response = await ledger.client(apiKey).command('/v1/accounts', { accountId: 'x', name: 'x' }, key());
      expect([response.status, response.body.code]).toEqual([401, 'unauthenticated']);
    }
  });

  it('refuses a key acting outside its accounts with 403', async () => {
    const response = await ledger
      .client('service-key-acme')
      .command('/v1/accounts', { accountId: 'other', name: 'x' }, key());
    expect([response.status, response.body.code]).toEqual([403, 'identity_denied']);
    const own = await ledger
      .client('service-key-acme')
      .command('/v1/accounts', { accountId: 'acme', name: 'Acme' }, key());
    expect(own.status).toBe(200);
  });

  it.each(['dashboard-key-all', 'auditor-key-all'])('refuses commands from %s', async (apiKey) => {
    const response = await ledger.client(apiKey).command('/v1/accounts', { accountId: 'y', name: 'y' }, key());
    expect([response.status, response.body.code]).toEqual([403, 'role_forbidden']);
  });
});

describe('bad input', () => {
  const grant = (amount: unknown) => ({ grantId: `g-${keySeq}`, source: 'manual', amount });

  beforeAll(() => preparedAccount('bad'));

  it.each([
    ['malformed JSON', '{"accountId": ', 400, 'malformed_json'],
    ['a body that is not an object', '[1,2]', 400, 'validation_failed'],
    ['a number for an amount', grant(24), 400, 'amount_invalid'],
    ['too many decimals', grant('0.00001'), 400, 'amount_too_precise'],
    ['a negative amount', grant('-5'), 400, 'amount_negative'],
    ['a zero amount', grant('0'), 400, 'amount_not_positive'],
    ['an overflowing amount', grant('99999999999999999999'), 400, 'amount_too_large'],
    ['a non-number amount', grant('lots'), 400, 'amount_invalid'],
    ['a missing field', { grantId: 'g', amount: '5' }, 400, 'validation_failed'],
    ['a wrong enum', { ...grant('5'), source: 'gift' }, 400, 'validation_failed'],
    ['a wrong type', { ...grant('5'), grantId: 7 }, 400, 'validation_failed'],
    ['a path/body mismatch', { ...grant('5'), accountId: 'someone-else' }, 400, 'validation_failed'],
  ])('%s → %d %s, nothing appended', async (_name, body, status, code) => {
    const count = await eventCount();
    const response = await ledger.client().command('/v1/accounts/bad/grants', body, key());
    expect([response.status, response.body.code]).toEqual([status, code]);
    expect(typeof response.body.message).toBe('string');
    expect(await eventCount()).toBe(count);
  });

  it('answers an unknown route with a typed 404', async () => {
    const response = await ledger.client().command('/v1/nowhere', {}, key());
    expect([response.status, response.body.code]).toEqual([404, 'route_not_found']);
  });
});

describe('rejections over HTTP', () => {
  beforeAll(async () => {
    await preparedAccount('rej', '50');
    const client = ledger.client();
    const accept = (runId: string, cost: string) =>
      client.command(
        '/v1/accounts/rej/runs',
        { runId, projectId: 'p1', action: 'workflow.run', capabilityBand: 'standard', estimatedCost: cost },
        key(),
      );
    await accept('done', '5');
    await client.command('/v1/accounts/rej/runs/done/complete', { actualCost: '4' }, key());
    await accept('open', '5');
    await client.command(
      '/v1/accounts/rej/settlement-holds',
      { holdId: 'h1', runId: 'done', provider: 'pv', amount: '1' },
      key(),
    );
    await client.command('/v1/accounts/rej/settlement-holds/h1/release', { outcome: 'paid_out' }, key());
  });

  const run = (runId: string, extra: Record<string, unknown> = {}) => ({
    runId,
    projectId: 'p1',
    action: 'workflow.run',
    capabilityBand: 'standard',
    estimatedCost: '1',
    ...extra,
  });

  it.each([
    ['/v1/accounts', { accountId: 'rej', name: 'again' }, 409, 'account_already_exists'],
    ['/v1/accounts/ghost/runs', run('x'), 404, 'account_not_found'],
    ['/v1/accounts/rej/runs', run('x', { estimatedCost: '500' }), 402, 'insufficient_credits'],
    ['/v1/accounts/rej/runs', run('x', { projectId: 'p-unknown' }), 403, 'project_not_attached'],
    ['/v1/accounts/rej/runs', run('x', { capabilityBand: 'premium' }), 403, 'capability_band_not_in_plan'],
    ['/v1/accounts/rej/runs', run('x', { action: 'mine.bitcoin' }), 422, 'action_unknown'],
    ['/v1/accounts/rej/runs', run('open'), 409, 'run_already_exists'],
    ['/v1/accounts/rej/runs/nope/complete', { actualCost: '1' }, 404, 'run_not_found'],
    ['/v1/accounts/rej/runs/done/complete', { actualCost: '1' }, 409, 'run_already_finished'],
    ['/v1/accounts/rej/runs/done/fail', {}, 409, 'run_already_finished'],
    [
      '/v1/accounts/rej/settlement-holds',
      { holdId: 'h2', runId: 'open', provider: 'pv', amount: '1' },
      409,
      'run_not_completed',
    ],
    [
      '/v1/accounts/rej/settlement-holds',
      { holdId: 'h2', runId: 'done', provider: 'pv', amount: '4' },
      422,
      'hold_exceeds_consumed',
    ],
    ['/v1/accounts/rej/settlement-holds/h9/release', { outcome: 'paid_out' }, 404, 'hold_not_found'],
    ['/v1/accounts/rej/settlement-holds/h1/release', { outcome: 'reversed' }, 409, 'hold_already_released'],
    ['/v1/accounts/rej/grants', { grantId: 'g1', source: 'manual', amount: '1' }, 409, 'grant_already_exists'],
    ['/v1/accounts/rej/projects', { projectId: 'p1' }, 409, 'project_already_attached'],
    [
      '/v1/accounts/rej/subscription',
      { plan: GROWTH_PLAN, period: monthAround(new Date()) },
      409,
      'subscription_already_started',
    ],
    ['/v1/accounts/rej/expirations', { asOf: '2999-01-01T00:00:00Z' }, 422, 'as_of_in_future'],
    ['/v1/accounts/rej/reactivate', {}, 409, 'account_not_suspended'],
    ['/v1/accounts/rej/close', {}, 409, 'account_has_open_commitments'],
  ])('POST %s %j → %d %s, nothing appended', async (path, body, status, code) => {
    const count = await eventCount();
    const response = await ledger.client().command(path, body, key());
    expect([response.status, response.body.code]).toEqual([status, code]);
    expect(await eventCount()).toBe(count);
  });

  it('previews a run for free, with the same checks', async () => {
    const count = await eventCount();
    const quote = await ledger
      .client()
      .command('/v1/accounts/rej/runs/preview', run('p', { estimatedCost: '3' }), null);
    expect(quote.status).toBe(200);
    expect(quote.body).toMatchObject({ estimatedCost: '3', creditPriceFen: '100', estimatedValueFen: '300' });
    const refused = await ledger
      .client()
      .command('/v1/accounts/rej/runs/preview', run('p', { estimatedCost: '900' }), null);
    expect([refused.status, refused.body.code]).toEqual([402, 'insufficient_credits']);
    expect(await eventCount()).toBe(count);
  });
});

describe('concurrency', () => {
  it('accepts exactly the affordable runs of 50 concurrent AcceptRuns on one account', async () => {
    await preparedAccount('hot', '100');
    const client = ledger.client();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.command(
          '/v1/accounts/hot/runs',
          { runId: `r${i}`, projectId: 'p1', action: 'workflow.run', capabilityBand: 'standard', estimatedCost: '7' },
          `hot-${i}`,
        ),
      ),
    );
    const accepted = responses.filter((r) => r.status === 200).length;
    const refused = responses.filter((r) => r.status === 402 && r.body.code === 'insufficient_credits').length;
    expect([accepted, refused]).toEqual([Math.floor(100 / 7), 50 - Math.floor(100 / 7)]);
    const state = await foldedAccount('hot');
    expect(invariantViolations(state)).toEqual([]);
    expect(state.totals.reserved).toBe(BigInt(Math.floor(100 / 7) * 7) * 10_000n);
  });

  // A part is decided on the cached state itself: a preview must not read it before it is stored,
  // nor ever see a decision that was then thrown away. Here the part is held up on its stream's
  // row and then refused (another process appended first), and decided again on fresh state.
  onPostgres('a preview sees only stored decisions, never one thrown away', async () => {
    await preparedAccount('peek', '1000');
    const client = ledger.client();
    const runs = (runId: string, estimatedCost: string) => ({
      runId,
      projectId: 'p1',
      action: 'workflow.run',
      capabilityBand: 'standard',
      estimatedCost,
    });
    const { pool } = ledger.api.infrastructure;
    const second = await ledger.startAnotherApi();
    const blocker = await pool.connect();
    try {
      const waitingOnLocks = async (count: number) =>
        waitUntil(async () => {
          const { rows } = await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND datname = current_database()`,
          );
          return (rows[0]?.n ?? 0) >= count;
        }, `${count} statements waiting on the stream's row`);
      const before = await client.command('/v1/accounts/peek/runs/preview', runs('q0', '100'), null);
      expect(before.status).toBe(200);
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM event_streams WHERE stream_id = $1 FOR UPDATE', [accountStreamId('peek')]);
      // The other process's grant queues first on the row, so this process's part will be refused.
      const grant = new LedgerClient(second.url, 'service-key-all').command(
        '/v1/accounts/peek/grants',
        { grantId: 'g2', source: 'top_up', amount: '500' },
        key(),
      );
      await waitingOnLocks(1);
      const accepted = client.command('/v1/accounts/peek/runs', runs('r1', '600'), key());
      await waitingOnLocks(2);
      let previewed = false;
      const preview = client
        .command('/v1/accounts/peek/runs/preview', runs('q1', '100'), null)
        .then((answer) => ((previewed = true), answer));
      // A request sent after the preview, answered while the part is still held up.
      expect((await client.get('/v1/accounts/peek/runs/preview-check-unknown')).status).toBe(404);
      expect(previewed).toBe(false);
      await blocker.query('COMMIT');
      const [granted, receipt, quote] = await Promise.all([grant, accepted, preview]);
      expect([granted.status, receipt.status, quote.status]).toEqual([200, 200, 200]);
      // What the stream held once the grant was stored (the refused part is then decided again), or
      // once both were: never the thrown-away decision's 1000 - 600, without the grant.
      expect([granted.body.buckets.available, receipt.body.buckets.available]).toContain(quote.body.available);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
      await second.close();
    }
  });

  it('never overspends across two API processes on one database', async () => {
    await preparedAccount('shared', '100');
    const second = await ledger.startAnotherApi();
    try {
      const clients = [ledger.client(), new LedgerClient(second.url, 'service-key-all')] as const;
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          clients[i % 2 === 0 ? 0 : 1].command(
            '/v1/accounts/shared/runs',
            { runId: `s${i}`, projectId: 'p1', action: 'workflow.run', capabilityBand: 'standard', estimatedCost: '9' },
            `shared-${i}`,
          ),
        ),
      );
      const accepted = responses.filter((r) => r.status === 200).length;
      expect(responses.map((r) => r.status).filter((status) => ![200, 402, 409].includes(status))).toEqual([]);
      expect(accepted).toBeLessThanOrEqual(Math.floor(100 / 9));
      const state = await foldedAccount('shared');
      expect(invariantViolations(state)).toEqual([]);
      expect(state.totals.reserved).toBe(BigInt(accepted * 9) * 10_000n);
    } finally {
      await second.close();
    }
  });
});
