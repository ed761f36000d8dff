/**
 * A long-lived account loaded by a process that has not seen it: its snapshot leaves the archive
 * out (the ids are in Postgres), and every route that decides still refuses a finished id's reuse,
 * by looking it up first. Over HTTP, on a second API process that loads the account afresh.
 */
import { GROWTH_PLAN, monthAround, type BatchedCommand, type JsonBody } from '@ledger/client';
import { accountStreamId } from '@ledger/event-store';
import { startTestLedger, type LedgerApi, type TestLedger } from '../../../test/support/ledger-api';
import { ContractCheckedClient } from '../../../test/support/contract-check';
import { waitFor } from '../../../test/support/wait';

const ACCOUNT = 'archived-acct';
/** Enough failed runs for more than SNAPSHOT_AFTER_EVENTS events: the API then takes a snapshot. */
const FAILED_RUNS = 300;

let ledger: TestLedger;
let second: LedgerApi;

const accept = (runId: string): BatchedCommand => ({
  type: 'AcceptRun',
  params: { accountId: ACCOUNT },
  body: { runId, projectId: 'p1', action: 'workflow.run', capabilityBand: 'standard', estimatedCost: '1' },
  idempotencyKey: `accept:${runId}`,
});

beforeAll(async () => {
  ledger = await startTestLedger();
  const client = ledger.client();
  const setup: BatchedCommand[] = [
    { type: 'OpenBillingAccount', body: { accountId: ACCOUNT, name: ACCOUNT }, idempotencyKey: 'open' },
    {
      type: 'StartSubscription',
      params: { accountId: ACCOUNT },
      body: { plan: { ...GROWTH_PLAN, includedCredits: '0' }, period: monthAround(new Date()) },
      idempotencyKey: 'sub',
    },
    { type: 'AttachProject', params: { accountId: ACCOUNT }, body: { projectId: 'p1' }, idempotencyKey: 'proj' },
    {
      type: 'GrantCredits',
      params: { accountId: ACCOUNT },
      body: { grantId: 'g1', source: 'top_up', amount: '100000' },
      idempotencyKey: 'grant',
    },
  ];
  // A failed run has nothing left to happen to it: compaction archives it at once.
  for (let i = 0; i < FAILED_RUNS; i++) {
    setup.push(accept(`old-${i}`), {
      type: 'FailRun',
      params: { accountId: ACCOUNT, runId: `old-${i}` },
      body: { reason: 'test' },
      idempotencyKey: `fail:old-${i}`,
    });
  }
  const answer = await client.commandBatch(setup);
  expect(answer.status).toBe(200);
  expect(answer.body.results.filter((result: JsonBody) => result.status !== 200)).toEqual([]);
  // The first API snapshots the account once enough events went by, its archived ids beside it.
  const { db } = ledger.api.infrastructure;
  await waitFor(
    () =>
      db
        .selectFrom('archived_ids')
        .select((eb) => eb.fn.countAll<bigint>().as('n'))
        .where('stream_id', '=', accountStreamId(ACCOUNT))
        .executeTakeFirstOrThrow(),
    (row) => Number(row.n) >= FAILED_RUNS,
    'the archived ids written with the snapshot',
  );
  second = await ledger.startAnotherApi();
});

afterAll(async () => {
  await second?.close();
  await ledger?.close();
});

describe('an account loaded from a snapshot whose archive is in Postgres', () => {
  const client = () => new ContractCheckedClient(second.url, 'service-key-all');

  it('refuses a finished run id again on every route that decides, and accepts a new one', async () => {
    const reused = await client().command(`/v1/accounts/${ACCOUNT}/runs`, accept('old-7').body, 'again:old-7');
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('run_archived');

    const preview = await client().command(`/v1/accounts/${ACCOUNT}/runs/preview`, accept('old-8').body, null);
    expect(preview.body.code).toBe('run_archived');

    const completed = await client().command(
      `/v1/accounts/${ACCOUNT}/runs/old-9/complete`,
      { actualCost: '1' },
      'complete:old-9',
    );
    expect(completed.body.code).toBe('run_archived');

    const batch = await client().commandBatch([
      { ...accept('old-10'), idempotencyKey: 'batch:old-10' },
      accept('new-1'),
      { ...accept('new-1'), idempotencyKey: 'batch:new-1-again' },
    ]);
    expect(batch.body.results.map((result: JsonBody) => [result.status, result.body.code ?? null])).toEqual([
      [409, 'run_archived'],
      [200, null],
      [409, 'run_already_exists'],
    ]);
  });
});
