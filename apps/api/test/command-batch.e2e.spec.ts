/**
 * POST /v1/commands/batch end to end: each command answered on its own and in order, exactly as
 * its own route would answer it, through the same idempotency path; one command's failure never
 * touches another's; the envelope's limits refused as a whole.
 */
import { fold, formatCredits, invariantViolations } from '@ledger/domain';
import { accountStreamId, toLedgerEvent } from '@ledger/event-store';
import { GROWTH_PLAN, monthAround, type BatchedCommand, type JsonBody } from '@ledger/client';
import { startTestLedger, type TestLedger } from '../../../test/support/ledger-api';

let ledger: TestLedger;

beforeAll(async () => {
  ledger = await startTestLedger();
});
afterAll(async () => {
  await ledger?.close();
});

let serial = 0;
const unique = (prefix: string) => `${prefix}-${++serial}`;

async function streamOf(accountId: string) {
  const events = [];
  for await (const recorded of ledger.api.infrastructure.eventStore.readStream(accountStreamId(accountId))) {
    events.push(recorded);
  }
  return events;
}

/** An open account on a plan with no included credits, a project p1 and `credits` granted. */
async function account(credits: string): Promise<string> {
  const accountId = unique('batch-acct');
  const answer = await ledger.client().commandBatch([
    { type: 'OpenBillingAccount', body: { accountId, name: accountId }, idempotencyKey: unique('open') },
    {
      type: 'StartSubscription',
      params: { accountId },
      body: { plan: { ...GROWTH_PLAN, includedCredits: '0' }, period: monthAround(new Date()) },
      idempotencyKey: unique('sub'),
    },
    { type: 'AttachProject', params: { accountId }, body: { projectId: 'p1' }, idempotencyKey: unique('proj') },
    {
      type: 'GrantCredits',
      params: { accountId },
      body: { grantId: 'g1', source: 'top_up', amount: credits },
      idempotencyKey: unique('grant'),
    },
  ]);
  expect(answer.status).toBe(200);
  expect(answer.body.results.map((result: JsonBody) => result.status)).toEqual([200, 200, 200, 200]);
  return accountId;
}

const acceptRun = (accountId: string, runId: string, estimatedCost = '1'): BatchedCommand => ({
  type: 'AcceptRun',
  params: { accountId },
  body: { runId, projectId: 'p1', action: 'workflow.run', capabilityBand: 'standard', estimatedCost },
  idempotencyKey: `accept:${accountId}:${runId}`,
});

describe('POST /v1/commands/batch', () => {
  it('decides the commands of one account in request order and answers each in order', async () => {
    const accountId = await account('5');
    const commands = Array.from({ length: 8 }, (_, i) => acceptRun(accountId, `run-${i}`));
    const answer = await ledger.client().commandBatch(commands);

    expect(answer.status).toBe(200);
    const results = answer.body.results as JsonBody[];
    // Five credits, eight runs of one: the first five in request order are accepted, then none.
    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200, 200, 402, 402, 402]);
    expect(results.slice(5).map((result) => result.body.code)).toEqual(Array(3).fill('insufficient_credits'));
    expect(results.slice(0, 5).map((result) => result.body.buckets.available)).toEqual(['4', '3', '2', '1', '0']);
    const accepted = (await streamOf(accountId)).filter((event) => event.type === 'RunAccepted');
    expect(accepted.map((event) => event.data.runId)).toEqual(['run-0', 'run-1', 'run-2', 'run-3', 'run-4']);
  });

  it('answers as the single routes do, and a retry of the batch with the first answers', async () => {
    const accountId = await account('100');
    const commands = [acceptRun(accountId, 'a'), acceptRun(accountId, 'b')];
    const first = await ledger.client().commandBatch(commands);
    const again = await ledger.client().commandBatch(commands);
    const single = await ledger
      .client()
      .command(`/v1/accounts/${accountId}/runs`, commands[0]!.body, commands[0]!.idempotencyKey);

    expect(again.body).toEqual(first.body);
    expect(single.status).toBe(200);
    expect(single.body).toEqual(first.body.results[0].body);
    expect(first.body.results[0].body.position).toMatch(/^\d+\/\d+$/);
    expect((await streamOf(accountId)).filter((event) => event.type === 'RunAccepted')).toHaveLength(2);
  });

  it("refuses a bad command on its own, never its neighbours'", async () => {
    const accountId = await account('100');
    const other = await account('100');
    const commands: unknown[] = [
      acceptRun(accountId, 'ok-1'),
      { type: 'NoSuchCommand', idempotencyKey: unique('k') },
      { ...acceptRun(accountId, 'no-params'), params: {} },
      { ...acceptRun(accountId, 'bad-id'), params: { accountId: 'has space' } },
      { ...acceptRun(accountId, 'extra'), params: { accountId, runId: 'x' } },
      { ...acceptRun(accountId, 'no-key'), idempotencyKey: '' },
      { ...acceptRun(accountId, 'bad-body'), body: { runId: 'bad-body', estimatedCost: '-1' } },
      'not an object',
      acceptRun(other, 'ok-2'),
      { type: 'CompleteRun', params: { accountId, runId: 'never-accepted' }, body: {}, idempotencyKey: unique('c') },
      acceptRun(accountId, 'ok-3'),
    ];
    const answer = await ledger.client().request<JsonBody>('POST', '/v1/commands/batch', {
      body: JSON.stringify({ commands }),
    });

    expect(answer.status).toBe(200);
    const results = answer.body.results as JsonBody[];
    expect(results.map((result) => result.status)).toEqual([200, 400, 400, 400, 400, 400, 400, 400, 200, 400, 200]);
    for (const result of results.filter((r) => r.status !== 200)) {
      expect(result.body).toEqual({
        code: expect.any(String),
        message: expect.any(String),
        details: expect.any(Object),
      });
    }
    expect(results[9]!.body.code).not.toBe('validation_failed');
    const runs = (await streamOf(accountId)).filter((event) => event.type === 'RunAccepted');
    expect(runs.map((event) => event.data.runId)).toEqual(['ok-1', 'ok-3']);
  });

  it('checks each command against the key: an account the key may not act for is refused alone', async () => {
    const mine = await account('10');
    const answer = await ledger
      .client('service-key-acme')
      .commandBatch([
        acceptRun(mine, 'denied'),
        { type: 'OpenBillingAccount', body: { accountId: 'acme', name: 'Acme' }, idempotencyKey: unique('open') },
      ]);
    const results = answer.body.results as JsonBody[];
    expect(results.map((result) => result.status)).toEqual([403, 200]);
    expect(results[0]!.body.code).toBe('identity_denied');
    expect(await streamOf(mine)).not.toContainEqual(expect.objectContaining({ type: 'RunAccepted' }));
  });

  it('refuses the request as a whole when it is not a list of 1 to 1,000 commands, or the key may not send', async () => {
    const client = ledger.client();
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ type: 'FailRun', idempotencyKey: `k${i}` }));
    for (const body of [{ commands: [] }, { commands: tooMany }, { commands: 'x' }, {}, { commands: [], extra: 1 }]) {
      const answer = await client.request<JsonBody>('POST', '/v1/commands/batch', { body: JSON.stringify(body) });
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe('validation_failed');
    }
    const reader = await ledger.client('dashboard-key-all').commandBatch([acceptRun('acme', 'r')]);
    expect(reader.status).toBe(403);
    expect(reader.body.code).toBe('role_forbidden');
  });

  it('runs 1,000 commands over many accounts in one request, conserving every account', async () => {
    const accounts = await Promise.all(Array.from({ length: 10 }, () => account('60')));
    const commands = Array.from({ length: 1000 }, (_, i) => acceptRun(accounts[i % 10]!, `bulk-${i}`, '1'));
    const answer = await ledger.client().commandBatch(commands);

    const results = answer.body.results as JsonBody[];
    expect(results).toHaveLength(1000);
    // Each account can pay for 60 of its 100 runs.
    expect(results.filter((result) => result.status === 200)).toHaveLength(600);
    expect(results.filter((result) => result.status === 402)).toHaveLength(400);
    for (const accountId of accounts) {
      const state = fold((await streamOf(accountId)).map(toLedgerEvent));
      expect(invariantViolations(state)).toEqual([]);
      expect(formatCredits(state.totals.reserved)).toBe('60');
    }
  });
});
